// What the parsers give, rendered as Dify's document extractor renders it: CSV and sheets as markdown
// tables (pandas' cell texts for sheets), DOCX as its paragraphs' lines with tables as markdown, JSON
// re-indented by two. Facts from Dify's node; the code is ours.
import { parseDocument } from "htmlparser2";
import { textContent } from "domutils";
import type { ChildNode, Element, Text } from "domhandler";
import { pyJson, pyNumber } from "../../core/workflows/python-format.js";

/** Text of unknown encoding: a BOM decides, else UTF-8 if it is valid UTF-8, else Windows-1252. */
export function decodeText(bytes: Uint8Array): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return new TextDecoder("utf-8").decode(bytes.subarray(3));
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder("utf-16le").decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder("utf-16be").decode(bytes.subarray(2));
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder("windows-1252").decode(bytes);
  }
}

/** json.dumps(json.loads(text), indent=2, ensure_ascii=False). */
export function jsonText(text: string): string {
  return pyJson(JSON.parse(text), 2);
}

/** Rendering stopped early: the text would be longer than the cap (checked as it grows, not after). */
export class TextTooLong extends Error {}

function check(length: number, maxChars: number) {
  if (length > maxChars) throw new TextTooLong(`the text is longer than ${maxChars} characters`);
}

const oneLine = (s: string) => s.replace(/\n/g, " ").replace(/\r/g, "");
const dashes = (s: string) => "-".repeat([...s].length); // Python's len counts code points

/** CSV rows as a markdown table: the first row the header, newlines in cells as spaces; "" for none. */
export function csvMarkdown(rows: string[][], maxChars = Infinity): string {
  if (!rows.length) return "";
  let out = `| ${rows[0].map(oneLine).join(" | ")} |\n`;
  out += `| ${rows[0].map(dashes).join(" | ")} |\n`;
  for (const row of rows.slice(1)) {
    out += `| ${row.map(oneLine).join(" | ")} |\n`;
    check(out.length, maxChars);
  }
  return out;
}

type Cell = string | number | boolean | Date | null | undefined;

const isEmpty = (v: Cell) => v === null || v === undefined || v === "";

/** A timestamp as pandas prints one: "2024-01-15 00:00:00". */
function timestamp(d: Date): string {
  return d.toISOString().replace("T", " ").replace(/\.000Z$/, "").replace(/Z$/, "");
}

/**
 * Each sheet as pandas reads it (first non-empty row the header; blank headers "Unnamed: i", repeated
 * ones "name.1"; empty rows dropped) and as Dify prints it: str() of each cell, so missing cells are
 * "nan" ("NaT" in date columns) and a numeric column with a gap or a fraction prints floats ("25.0").
 */
export function sheetsMarkdown(sheets: { name: string; rows: Cell[][] }[], maxChars = Infinity): string {
  let out = "";
  for (const sheet of sheets) {
    const rows = sheet.rows.filter((r) => r.some((v) => !isEmpty(v)));
    const width = Math.max(0, ...rows.map((r) => r.length));
    const [head = [], ...body] = rows;
    const seen = new Map<string, number>();
    const columns = Array.from({ length: width }, (_, i) => {
      const v = head[i];
      let name = isEmpty(v) ? `Unnamed: ${i}` : cellText(v, false);
      const n = seen.get(name) ?? 0;
      seen.set(name, n + 1);
      if (n) name = `${name}.${n}`;
      return name.split(/\r\n|\r|\n/).join(" ");
    });
    const kinds = columns.map((_, i) => columnKind(body.map((r) => r[i])));
    const lines = [`| ${columns.join(" | ")} |`, `| ${columns.map(dashes).join(" | ")} |`];
    let length = out.length;
    for (const row of body) {
      const line = `| ${columns.map((_, i) => cellOf(row[i], kinds[i])).join(" | ")} |`;
      lines.push(line);
      check((length += line.length + 1), maxChars);
    }
    out += lines.join("\n") + "\n\n";
  }
  return out;
}

type Kind = "float" | "date" | "other";

function columnKind(values: Cell[]): Kind {
  const present = values.filter((v) => !isEmpty(v));
  if (present.length && present.every((v) => v instanceof Date)) return "date";
  const numeric = present.length > 0 && present.every((v) => typeof v === "number");
  if (numeric && (present.length < values.length || present.some((v) => !Number.isInteger(v)))) return "float";
  return "other";
}

function cellOf(v: Cell, kind: Kind): string {
  if (isEmpty(v)) return kind === "date" ? "NaT" : "nan";
  if (kind === "float" && typeof v === "number" && Number.isInteger(v) && Math.abs(v) < 1e16) return `${v}.0`;
  return cellText(v, true);
}

function cellText(v: Cell, joinLines: boolean): string {
  if (v instanceof Date) return timestamp(v);
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") return pyNumber(v);
  const s = String(v ?? "");
  return joinLines ? s.split(/\r\n|\r|\n/).join(" ") : s;
}

/**
 * mammoth's HTML of a DOCX as python-docx reads the body: one line per paragraph (headings and list
 * items are paragraphs too), tables as markdown with "<br>" for line breaks in cells, tables with no
 * text left out. Footnotes and endnotes, which mammoth appends, are not body text.
 */
export function docxText(html: string): string {
  const lines: string[] = [];
  const walk = (nodes: ChildNode[]) => {
    for (const node of nodes) {
      if (node.type !== "tag") {
        const text = textContent(node).trim();
        if (text) lines.push(text);
        continue;
      }
      const el = node as Element;
      if (/^(footnote|endnote|comment)-/.test(el.children.find((c): c is Element => c.type === "tag")?.attribs?.id ?? "")) continue;
      if (el.name === "table") {
        const table = tableMarkdown(el);
        if (table !== null) lines.push(table);
      } else if (el.name === "ul" || el.name === "ol") {
        for (const li of el.children.filter((c): c is Element => c.type === "tag" && c.name === "li")) {
          const own = li.children.filter((c) => !(c.type === "tag" && ["ul", "ol", "table"].includes((c as Element).name)));
          lines.push(paragraphText(own));
          walk(li.children.filter((c) => c.type === "tag" && ["ul", "ol", "table"].includes((c as Element).name)));
        }
      } else {
        lines.push(paragraphText(el.children));
      }
    }
  };
  walk(parseDocument(html).children);
  return lines.join("\n");
}

/** A paragraph's text: <br> is a newline, footnote references ([1]) are not text. */
function paragraphText(nodes: ChildNode[]): string {
  let out = "";
  for (const node of nodes) {
    if (node.type === "text") out += (node as Text).data;
    else if (node.type === "tag") {
      const el = node as Element;
      if (el.name === "br") out += "\n";
      else if (el.name === "sup" && el.children.some((c) => c.type === "tag" && /^#(footnote|endnote)-/.test((c as Element).attribs.href ?? ""))) continue;
      else out += paragraphText(el.children);
    }
  }
  return out;
}

function tableMarkdown(table: Element): string | null {
  const rows: string[][] = [];
  const collect = (el: Element) => {
    for (const child of el.children) {
      if (child.type !== "tag") continue;
      const c = child as Element;
      if (c.name === "tr") {
        const cells: string[] = [];
        for (const cell of c.children.filter((x): x is Element => x.type === "tag" && (x.name === "td" || x.name === "th"))) {
          const paragraphs = cell.children.filter((x): x is Element => x.type === "tag");
          const text = paragraphs.length ? paragraphs.map((p) => paragraphText(p.children)).join("\n") : paragraphText(cell.children);
          // python-docx repeats a merged cell's text in each grid column it spans.
          for (let i = 0; i < Math.max(1, Number(cell.attribs.colspan) || 1); i++) cells.push(text.replace(/\n/g, "<br>"));
        }
        rows.push(cells);
      } else if (c.name === "thead" || c.name === "tbody" || c.name === "tfoot") collect(c);
    }
  };
  collect(table);
  if (!rows.length || !rows.some((r) => r.some((t) => t.trim()))) return null;
  let out = `| ${rows[0].join(" | ")} |\n| ${rows[0].map(() => "---").join(" | ")} |\n`;
  for (const row of rows.slice(1)) out += `| ${row.join(" | ")} |\n`;
  return out;
}
