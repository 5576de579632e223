// Every corpus export imports; every one whose nodes appgraph runs, runs end to end against the
// loopback model (the rest are listed, with the node types that keep them out).
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { REFUSED_NODE_TYPES, SUPPORTED_NODE_TYPES } from "../../src/core/workflows/graph.js";
import { parseDsl } from "../../src/core/apps/dsl.js";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { readSse } from "../support/sse.js";
import { fixture, startTestServer, type TestServer } from "../support/server.js";
import { startFileServer, type FileServer } from "../support/file-server.js";
import { PICTURE } from "../support/image-server.js";

const files = fs.readdirSync(new URL("../fixtures/dsl-corpus/", import.meta.url)).filter((f) => f.endsWith(".yml")).sort();
const docs = files.map((file) => ({ file, doc: YAML.parse(fixture(`dsl-corpus/${file}`)) }));
const graphs = docs.filter((d) => d.doc.workflow);
const typesOf = (doc: any) => new Set<string>(doc.workflow.graph.nodes.map((n: any) => n.data.type));
const runnable = graphs.filter((d) => [...typesOf(d.doc)].every((t) => SUPPORTED_NODE_TYPES.has(t)));
const refused = graphs.filter((d) => !runnable.includes(d));

/** Exports whose code imports a package Dify's sandbox ships and Pyodide's standard library lacks. */
const MISSING_PYTHON_PACKAGE: Record<string, string> = { "workflow-json-repair-code.yml": "json_repair" };

/** Inputs a person might give the start node's form; `document` is a URL the gateway can fetch. */
/** Sample inputs for the start node: a file variable gets the CSV, or the picture where it takes images only. */
function sampleInputs(doc: any, files: { document: string; picture: string }): Record<string, unknown> {
  const start = doc.workflow.graph.nodes.find((n: any) => n.data.type === "start");
  const inputs: Record<string, unknown> = {};
  const sample = (v: any) =>
    v.allowed_file_types?.length && !v.allowed_file_types.includes("document")
      ? { type: "image", transfer_method: "remote_url", url: files.picture }
      : { type: "document", transfer_method: "remote_url", url: files.document };
  for (const v of start.data.variables ?? []) {
    if (v.type === "number") inputs[v.variable] = "1";
    else if (v.type === "select") inputs[v.variable] = v.options?.[0] ?? "";
    else if (v.type === "file") inputs[v.variable] = sample(v);
    else if (v.type === "file-list") inputs[v.variable] = [sample(v)];
    else inputs[v.variable] = `sample ${v.variable}`.slice(0, v.max_length || 48);
  }
  return inputs;
}

describe("the DSL corpus", () => {
  it("imports every file, naming the nodes appgraph refuses in a warning", () => {
    for (const { file, doc } of docs) {
      const { warnings } = parseDsl(fixture(`dsl-corpus/${file}`));
      const refusedTypes = doc.workflow ? [...typesOf(doc)].filter((t) => REFUSED_NODE_TYPES.has(t)) : [];
      for (const t of refusedTypes) expect(warnings.join("\n"), file).toContain(`is a ${t} node`);
    }
    // Written down so a change in support shows up here.
    expect(refused.map((d) => d.file)).toEqual(
      graphs.filter((d) => [...typesOf(d.doc)].some((t) => REFUSED_NODE_TYPES.has(t))).map((d) => d.file),
    );
  });

  describe("runs", () => {
    let fake: FakeOpenAI;
    let s: TestServer;
    let documents: FileServer;
    beforeAll(async () => {
      // File inputs name a CSV on the one loopback address the gateway may reach (document extractors read it).
      documents = await startFileServer("127.0.0.2", {
        "/a.csv": { type: "text/csv", body: "month,sales\nJan,10\nFeb,12\n" },
        "/a.png": { type: "image/png", body: PICTURE },
      });
      // A model that answers every node kind sensibly: classifiers get a class, extractors JSON.
      fake = await startFakeOpenAI({
        reply: (body) => {
          const system = String(body.messages[0]?.content ?? "");
          if (system.includes("text classification engine")) return '{"category_id": "1"}';
          if (system.includes("Extract the parameters")) return "{}";
          return "Sample answer.";
        },
      });
      s = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl, OUTBOUND_ALLOW: "127.0.0.2" });
    });
    afterAll(async () => {
      await s?.close();
      await documents?.close();
      await fake?.close();
    });

    it.each(runnable.map((d) => [d.file, d.doc] as const))("%s", async (file, doc) => {
      const app = await s.importApp(`dsl-corpus/${file}`);
      const passport = await s.passport(app.code);
      const chat = doc.app.mode === "advanced-chat";
      const res = await s.api(chat ? "/chat-messages" : "/workflows/run", {
        method: "POST",
        passport,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: sampleInputs(doc, { document: documents.url("/a.csv"), picture: documents.url("/a.png") }), query: "hello", response_mode: "streaming" }),
      });
      expect(res.status, await res.clone().text().catch(() => "")).toBe(200);
      const { events } = await readSse(res);
      const last = events.at(-1);
      const waitsForPerson = typesOf(doc).has("human-input");
      const missing = MISSING_PYTHON_PACKAGE[file];
      if (missing) {
        // It runs up to the code node, which fails with the package it could not import.
        const finished = events.find((e) => e.event === "workflow_finished");
        expect(finished.data.status).toBe("failed");
        expect(finished.data.error).toContain(missing);
      } else if (waitsForPerson) expect(last.event).toBe("workflow_paused");
      else {
        expect(last.event).toBe("workflow_finished");
        expect(["succeeded", "partial-succeeded"], JSON.stringify(last.data.error)).toContain(last.data.status);
      }
    });
  });
});
