// The document-extractor node in a real run: documents the test builds, served on loopback (the one
// address OUTBOUND_ALLOW lets the gateway reach), named by remote_url in a file input and in sys.files,
// over REST and GraphQL. Failures (unsupported type, refused host, missing file) fail the run with
// Dify's messages.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PDFDocument, StandardFonts } from "pdf-lib";
import ExcelJS from "exceljs";
import { gqlSse } from "../support/graphql.js";
import { readSse } from "../support/sse.js";
import { startFileServer, type FileServer } from "../support/file-server.js";
import { startTestServer, type TestServer } from "../support/server.js";

const RUN = `subscription($i: WorkflowRunInput!) { workflowRun(input: $i) { __typename
  ... on NodeFinished { nodeId status error }
  ... on WorkflowFinished { status outputs error }
  ... on AppError { code message } } }`;

async function pdf(text: string): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  doc.addPage().drawText(text, { x: 50, y: 700, font, size: 12 });
  return doc.save();
}

async function xlsx(): Promise<Uint8Array> {
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet("Stock");
  sheet.addRow(["Item", "Qty"]);
  sheet.addRow(["Pens", 12]);
  return new Uint8Array(await book.xlsx.writeBuffer());
}

const STOCK = "| Item | Qty |\n| ---- | --- |\n| Pens | 12 |\n\n";
const CSV = "| a | b |\n| - | - |\n| 1 | 2 |\n";

describe("document-extractor node", () => {
  let files: FileServer;
  let s: TestServer;
  let passport: string;
  beforeAll(async () => {
    files = await startFileServer("127.0.0.2", {
      "/minutes.pdf": { type: "application/pdf", body: await pdf("Minutes of the meeting") },
      "/stock.xlsx": { type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body: await xlsx() },
      "/table.csv": { type: "text/csv", body: "a,b\n1,2\n" },
      // No extension: the server's Content-Type decides.
      "/export": { type: "text/csv; charset=utf-8", body: "a,b\n1,2\n" },
      "/clip.mp4": { type: "video/mp4", body: "not text" },
    });
    s = await startTestServer("pglite", { OUTBOUND_ALLOW: "127.0.0.2" });
    passport = await s.passport((await s.importApp("workflows/workflow-extract-document.yml")).code);
  });
  afterAll(async () => {
    await s?.close();
    await files?.close();
  });

  const doc = (url: string) => ({ type: "document", transfer_method: "remote_url", url });
  const rest = async (inputs: object, list: object[] = []) => {
    const res = await s.api("/workflows/run", {
      method: "POST",
      passport,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs, files: list, response_mode: "streaming" }),
    });
    expect(res.status).toBe(200);
    return (await readSse(res)).events;
  };
  const graphql = (inputs: object, list: { url: string }[] = []) =>
    gqlSse(s, RUN, { i: { inputs, files: list.map(({ url }) => ({ type: "DOCUMENT", transferMethod: "REMOTE_URL", url })) } }, { token: passport });

  it("gives a file's text, and a list's texts, over REST", async () => {
    const events = await rest({ doc: doc(files.url("/minutes.pdf")) }, [doc(files.url("/stock.xlsx")), doc(files.url("/table.csv"))]);
    const finished = events.find((e) => e.event === "workflow_finished")!;
    expect(finished.data).toMatchObject({ status: "succeeded", outputs: { text: "Minutes of the meeting", texts: [STOCK, CSV] } });
    const nodes = events.filter((e) => e.event === "node_finished").map((e) => [e.data.node_id, e.data.node_type, e.data.status]);
    expect(nodes).toEqual([["start", "start", "succeeded"], ["one", "document-extractor", "succeeded"], ["all", "document-extractor", "succeeded"], ["end", "end", "succeeded"]]);
  });

  it("gives the same over GraphQL, and an empty list for no files", async () => {
    const events = await graphql({ doc: doc(files.url("/export")) }, []);
    expect(events.at(-1)).toEqual({ __typename: "WorkflowFinished", status: "succeeded", outputs: { text: CSV, texts: [] }, error: null });
    const both = await graphql({ doc: doc(files.url("/table.csv")) }, [{ url: files.url("/minutes.pdf") }]);
    expect(both.at(-1)).toMatchObject({ status: "succeeded", outputs: { text: CSV, texts: ["Minutes of the meeting"] } });
  });

  it("fails the run on a type it does not read, on both surfaces", async () => {
    const message = "Unsupported Extension Type: .mp4";
    const events = await rest({ doc: doc(files.url("/clip.mp4")) });
    expect(events.find((e) => e.event === "node_finished" && e.data.node_id === "one")!.data).toMatchObject({ status: "failed", error: message });
    expect(events.find((e) => e.event === "workflow_finished")!.data).toMatchObject({ status: "failed", error: message });
    const gql = await graphql({ doc: doc(files.url("/clip.mp4")) });
    expect(gql.find((e) => e.__typename === "WorkflowFinished")).toMatchObject({ status: "failed", error: message });
  });

  it("fails the run when the file cannot be fetched: missing, or on a host the outbound policy refuses", async () => {
    const missing = await rest({ doc: doc(files.url("/gone.pdf")) });
    expect(missing.find((e) => e.event === "workflow_finished")!.data).toMatchObject({ status: "failed", error: expect.stringMatching(/^Error downloading file: .*404 Not Found\.$/) });
    // 127.0.0.1 is loopback and not allowed: refused before any connection.
    const refused = await graphql({ doc: doc(files.url("/minutes.pdf").replace("127.0.0.2", "127.0.0.1")) });
    expect(refused.find((e) => e.__typename === "WorkflowFinished")).toMatchObject({ status: "failed", error: expect.stringMatching(/^Error downloading file: /) });
    expect(files.requests.filter((p) => p === "/minutes.pdf").length).toBeGreaterThan(0);
  });
});
