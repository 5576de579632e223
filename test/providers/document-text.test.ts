// The document-text adapter on real files the test builds (PDF with pdf-lib, DOCX with docx, XLSX with
// exceljs), and on hostile ones: zip bombs (honest and lying sizes), a parse past its time cap, oversize
// input and output. Expected texts are Dify's renderings of the same files.
import zlib from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { PDFDocument, StandardFonts } from "pdf-lib";
import ExcelJS from "exceljs";
import { DocumentTextError } from "../../src/core/ports/document-text.js";
import { DocumentTextReader } from "../../src/providers/documents/index.js";

const reader = new DocumentTextReader();
afterAll(() => reader.close());

const extract = (bytes: Uint8Array | string, fileName: string, mimeType: string | null = null, r = reader) =>
  r.extract({ bytes: typeof bytes === "string" ? Buffer.from(bytes) : bytes, fileName, mimeType });

async function refusal(p: Promise<unknown>): Promise<DocumentTextError> {
  const err = await p.then(
    () => null,
    (e) => e,
  );
  expect(err).toBeInstanceOf(DocumentTextError);
  return err;
}

/** A one-entry zip of `size` zero bytes, deflated by zlib, that declares `declared` bytes unpacked. */
function zeroZip(name: string, size: number, declared = size): Buffer {
  const data = zlib.deflateRawSync(Buffer.alloc(size), { level: 9 });
  const file = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8); // deflate
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(declared, 22);
  local.writeUInt16LE(file.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(declared, 24);
  central.writeUInt16LE(file.length, 28);
  const centralAt = local.length + file.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + file.length, 12);
  end.writeUInt32LE(centralAt, 16);
  return Buffer.concat([local, file, data, central, file, end]);
}

async function pdf(pages: string[][]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = doc.addPage();
    lines.forEach((line, i) => page.drawText(line, { x: 50, y: 700 - 20 * i, font, size: 12 }));
  }
  return doc.save();
}

async function docx(): Promise<Uint8Array> {
  // docx's own .d.ts re-exports extensionless paths, which NodeNext resolution cannot follow: untyped.
  const lib = "docx";
  const { Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow, TextRun } = await import(lib);
  const cell = (...lines: string[]) => new TableCell({ children: lines.map((l) => new Paragraph(l)) });
  const doc = new Document({
    sections: [
      {
        children: [
          new Paragraph({ text: "Quarterly report", heading: HeadingLevel.HEADING_1 }),
          new Paragraph({ children: [new TextRun("Sales grew "), new TextRun({ text: "12%", bold: true }), new TextRun(" this quarter.")] }),
          new Paragraph(""),
          new Table({
            rows: [
              new TableRow({ children: [cell("Region"), cell("Revenue")] }),
              new TableRow({ children: [cell("North", "(incl. islands)"), cell("1200")] }),
            ],
          }),
          new Paragraph("Thanks for reading."),
        ],
      },
    ],
  });
  return new Uint8Array(await Packer.toBuffer(doc));
}

async function xlsx(): Promise<Uint8Array> {
  const book = new ExcelJS.Workbook();
  const people = book.addWorksheet("People");
  people.addRow(["Name\nfull", "Age", "Score", "Joined"]);
  people.addRow(["John\nDoe", 25, 1.5, new Date(Date.UTC(2024, 0, 15))]);
  people.addRow(["Jane Smith", 30, null, new Date(Date.UTC(2023, 5, 1))]);
  people.addRow([]);
  people.addRow(["Ana", 41, 2, new Date(Date.UTC(2022, 11, 31))]);
  const cities = book.addWorksheet("Cities");
  cities.addRow(["City", "Population"]);
  cities.addRow(["New York", 8000000]);
  return new Uint8Array(await book.xlsx.writeBuffer());
}

describe("document text", () => {
  it("reads a PDF's pages", async () => {
    expect(await extract(await pdf([["Hello from page one", "Second line"], ["Page two text"]]), "report.pdf")).toBe("Hello from page one\nSecond line\nPage two text");
  });

  it("reads a DOCX's paragraphs in order, tables as markdown", async () => {
    expect(await extract(await docx(), "report.docx")).toBe(
      [
        "Quarterly report",
        "Sales grew 12% this quarter.",
        "",
        "| Region | Revenue |\n| --- | --- |\n| North<br>(incl. islands) | 1200 |\n",
        "Thanks for reading.",
      ].join("\n"),
    );
  });

  it("reads every sheet of an XLSX as a markdown table, as pandas prints the cells", async () => {
    expect(await extract(await xlsx(), "book.xlsx")).toBe(
      "| Name full | Age | Score | Joined |\n| --------- | --- | ----- | ------ |\n" +
        "| John Doe | 25 | 1.5 | 2024-01-15 00:00:00 |\n| Jane Smith | 30 | nan | 2023-06-01 00:00:00 |\n| Ana | 41 | 2.0 | 2022-12-31 00:00:00 |\n\n" +
        "| City | Population |\n| ---- | ---------- |\n| New York | 8000000 |\n\n",
    );
  });

  it("reads CSV as a markdown table (multi-line cells on one line, quotes honoured)", async () => {
    const csv = 'name,"note\nmore",qty\r\nAna,"says ""hi""\nthere",3\r\nBo,plain,4\r\n';
    expect(await extract(csv, "t.csv")).toBe("| name | note more | qty |\n| ---- | --------- | --- |\n| Ana | says \"hi\" there | 3 |\n| Bo | plain | 4 |\n");
    expect(await extract("", "empty.csv")).toBe("");
  });

  it("reads HTML as text, Markdown and plain text as they are, JSON re-indented", async () => {
    expect(await extract("<html><head><title>T</title><style>p{}</style></head><body><h1>Title</h1><p>Hello <b>world</b></p><ul><li>one</li></ul></body></html>", "page.html")).toBe(
      "TITLE\n\nHello world\n\n * one",
    );
    expect(await extract("# Notes\n\n- a *b*\n", "notes.md")).toBe("# Notes\n\n- a *b*\n");
    expect(await extract('{"b":[1,2.5,{"ü":null}],"a":true}', "data.json")).toBe('{\n  "b": [\n    1,\n    2.5,\n    {\n      "ü": null\n    }\n  ],\n  "a": true\n}');
    const err = await refusal(extract("{nope", "bad.json"));
    expect(err.message).toMatch(/^Failed to decode or parse JSON file: /);
  });

  it("detects the encoding of plain text: BOMs, UTF-8, else Windows-1252", async () => {
    expect(await extract(Buffer.from([0x48, 0x69, 0x20, 0xa9, 0x2e]), "latin.txt")).toBe("Hi ©.");
    expect(await extract(Buffer.from("Grüße", "utf8"), "utf8.txt")).toBe("Grüße");
    expect(await extract(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("bom")]), "bom.txt")).toBe("bom");
    expect(await extract(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("wide", "utf16le")]), "w.txt")).toBe("wide");
  });

  it("picks the reader by extension, else by MIME type, and names what it does not read", async () => {
    expect(await extract("plain", "no-extension", "text/plain")).toBe("plain");
    expect(await extract("a,b\n1,2\n", "export", "text/csv; charset=utf-8")).toBe("| a | b |\n| - | - |\n| 1 | 2 |\n");
    expect((await refusal(extract("x", "movie.mp4"))).message).toBe("Unsupported Extension Type: .mp4");
    expect((await refusal(extract("x", "blob", "video/mp4"))).message).toBe("Unsupported MIME type: video/mp4");
    expect((await refusal(extract("x", "blob", null))).message).toBe("Unable to determine file type: MIME type or file extension is missing");
    const old = await refusal(extract("x", "old.xls"));
    expect(old.reason).toBe("unsupported");
    expect(old.message).toMatch(/\.xls.*save the file as \.xlsx/);
  });

  it("says which format it failed to read", async () => {
    expect((await refusal(extract("not a pdf", "a.pdf"))).message).toMatch(/^Failed to extract text from PDF: /);
    expect((await refusal(extract("not a zip", "a.docx"))).message).toMatch(/^Failed to extract text from DOCX: /);
    expect((await refusal(extract("not a zip", "a.xlsx"))).message).toMatch(/^Failed to extract text from Excel file: /);
  });

  it("refuses a zip bomb by its declared size, before inflating it", async () => {
    const bomb = zeroZip("word/document.xml", 200 * 1024 * 1024); // 200 MB of zeros in ~200 KB
    expect(bomb.byteLength).toBeLessThan(1024 * 1024);
    const err = await refusal(extract(bomb, "bomb.docx"));
    expect(err.reason).toBe("too_large");
    expect(err.message).toBe(`Failed to extract text from DOCX: the archive unpacks to more than ${100 * 1024 * 1024} bytes`);
  });

  it("refuses a zip bomb that lies about its size, while inflating it", async () => {
    const err = await refusal(extract(zeroZip("xl/workbook.xml", 200 * 1024 * 1024, 100), "bomb.xlsx"));
    expect(err.message).toMatch(/^Failed to extract text from Excel file: .*too many bytes/);
  });

  it("caps the input, the output and the time a parse may take", async () => {
    const small = new DocumentTextReader({ maxInputBytes: 10, maxOutputChars: 5, timeoutMs: 1 });
    try {
      expect((await refusal(extract("12345678901", "a.txt", null, small))).message).toBe("Failed to decode plain text file: the file is larger than 10 bytes");
      const long = await refusal(extract("123456", "a.txt", null, small));
      expect([long.reason, long.message]).toEqual(["too_large", "Failed to decode plain text file: the text is longer than 5 characters"]);
      // Tables stop growing at the cap, rather than rendering everything first.
      const wide = new DocumentTextReader({ maxOutputChars: 30 });
      try {
        const rows = await refusal(extract("a,b\n" + "1,2\n".repeat(100_000), "t.csv", null, wide));
        expect([rows.reason, rows.message]).toEqual(["too_large", "Failed to extract text from CSV: the text is longer than 30 characters"]);
      } finally {
        await wide.close();
      }
      // No parse finishes within a millisecond: the worker is stopped, and the reader still works after.
      const slow = await refusal(extract("<p>x</p>", "a.html", null, small));
      expect(slow.message).toBe("Failed to extract text from HTML: the document took longer than 0.001 s to read");
      expect(await extract("ok", "a.txt", null, small)).toBe("ok");
    } finally {
      await small.close();
    }
  });
});
