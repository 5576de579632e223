// Dify's signed file URLs (api/core/app/workflow/file_runtime.py, behaviour.md 1.5):
// `/files/<id>/<kind>?timestamp&nonce&sign`, sign = urlsafe base64 of HMAC-SHA256 over
// `<kind>|<id>|<timestamp>|<nonce>` with SECRET_KEY. The id is inside the signature, so a URL opens
// its one file and no other, for whoever holds it, until it expires.
import crypto from "node:crypto";

export type PreviewKind = "file-preview" | "image-preview";

function signature(secret: string, kind: PreviewKind, id: string, timestamp: string, nonce: string): string {
  return crypto.createHmac("sha256", secret).update(`${kind}|${id}|${timestamp}|${nonce}`).digest("base64url");
}

/** Dify pads its urlsafe base64; accept both forms. */
const unpadded = (sign: string) => sign.replace(/=+$/, "");

export function signedPath(secret: string, kind: PreviewKind, id: string, nowSeconds = Math.floor(Date.now() / 1000)): string {
  const timestamp = String(nowSeconds);
  const nonce = crypto.randomBytes(16).toString("hex");
  const sign = signature(secret, kind, id, timestamp, nonce);
  return `/files/${id}/${kind}?timestamp=${timestamp}&nonce=${nonce}&sign=${sign}`;
}

/** Whether the query signs `kind` of file `id` and was made within `timeoutSeconds`. */
export function verifySignature(
  secret: string,
  kind: PreviewKind,
  id: string,
  query: { timestamp: string | null; nonce: string | null; sign: string | null },
  timeoutSeconds: number,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  const { timestamp, nonce, sign } = query;
  if (!timestamp || !nonce || !sign || !/^\d{1,12}$/.test(timestamp)) return false;
  const expected = Buffer.from(signature(secret, kind, id, timestamp, nonce));
  const given = Buffer.from(unpadded(sign));
  if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) return false;
  return nowSeconds - Number(timestamp) <= timeoutSeconds;
}

/** Signed URLs of stored files, as both surfaces hand them out (FILES_URL, or a path on this server). */
export type FileLinks = { urlOf(id: string, kind?: PreviewKind): string };

export function fileLinks(secret: string, filesUrl: string): FileLinks {
  return { urlOf: (id, kind = "file-preview") => `${filesUrl}${signedPath(secret, kind, id)}` };
}
