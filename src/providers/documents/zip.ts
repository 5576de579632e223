// DOCX and XLSX files are zip archives, so a small file can inflate to gigabytes (a zip bomb). Before a
// parser sees one, every entry is inflated here under a cap on the total (yauzl checks each entry's real
// size against the size it declares), and the parser gets a fresh archive of exactly those bytes, stored
// uncompressed: whatever tricks the original's headers play (overlapping or unlisted entries), the parser
// cannot inflate more than was counted. Backslash entry names (Evernote's DOCX) become slashes, as in Dify.
import yauzl from "yauzl";
import { zipSync, type Zippable } from "fflate";

export type ZipLimits = { maxUnzippedBytes: number; maxEntries: number };

export class ZipTooLarge extends Error {}

function open(bytes: Uint8Array): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { lazyEntries: true, validateEntrySizes: true, strictFileNames: false }, (err, zip) =>
      err ? reject(err) : resolve(zip),
    ),
  );
}

/** The archive's entries, counted and bounded, re-packed uncompressed. Rejects with ZipTooLarge past the caps. */
export async function rezipBounded(bytes: Uint8Array, limits: ZipLimits): Promise<Uint8Array> {
  const zip = await open(bytes);
  const files: Zippable = Object.create(null); // entry names such as "__proto__" stay plain keys
  let total = 0;
  let entries = 0;
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      zip.close();
      reject(err);
    };
    zip.on("error", fail);
    zip.on("end", () => resolve());
    zip.on("entry", (entry: yauzl.Entry) => {
      if (++entries > limits.maxEntries) return fail(new ZipTooLarge(`the archive has more than ${limits.maxEntries} entries`));
      if (entry.fileName.endsWith("/")) return zip.readEntry();
      // Declared sizes first (cheap); the stream below then holds each entry to its declared size.
      total += entry.uncompressedSize;
      if (total > limits.maxUnzippedBytes) return fail(new ZipTooLarge(`the archive unpacks to more than ${limits.maxUnzippedBytes} bytes`));
      zip.openReadStream(entry, (err, stream) => {
        if (err) return fail(err);
        const chunks: Buffer[] = [];
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("error", fail);
        stream.on("end", () => {
          files[entry.fileName.replace(/\\/g, "/")] = [new Uint8Array(Buffer.concat(chunks)), { level: 0 }];
          zip.readEntry();
        });
      });
    });
    zip.readEntry();
  });
  return zipSync(files);
}
