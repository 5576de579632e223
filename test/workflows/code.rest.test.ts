// Code nodes in both of Dify's languages, in the sandbox, inside a run.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { readSse } from "../support/sse.js";
import { fixture, startTestServer, type TestServer } from "../support/server.js";

describe("code nodes", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer("pglite");
  });
  afterAll(() => s?.close());

  const run = async (dsl: string, inputs: object) => {
    const app = await s.importApp(dsl);
    const res = await s.api("/workflows/run", {
      method: "POST",
      passport: await s.passport(app.code),
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs }),
    });
    return (await readSse(res)).events.find((e) => e.event === "workflow_finished").data;
  };

  it("runs python3 then javascript, passing outputs along", async () => {
    const finished = await run("workflows/workflow-code-both.yml", { n: "3", words: "hello sandboxed world" });
    expect(finished.status).toBe("succeeded");
    expect(finished.outputs).toEqual({ double: 6, count: 3, json: '{"n": 3}', shout: "HELLO!!!!!!" });
  });

  it("fails the node with the code's own error, and refuses the host", async () => {
    const doc = YAML.parse(fixture("workflows/workflow-code-both.yml"));
    doc.workflow.graph.nodes[2].data.code = "function main() { return { shout: require('fs').readFileSync('/etc/passwd', 'utf8') }; }";
    const js = await run(YAML.stringify(doc), { n: "1", words: "x" });
    expect(js.status).toBe("failed");
    expect(js.error).toMatch(/require/);
    doc.workflow.graph.nodes[1].data.code = "def main(n, words):\n    return {'double': open('/etc/passwd').read(), 'count': 0, 'first': '', 'json': ''}\n";
    const py = await run(YAML.stringify(doc), { n: "1", words: "x" });
    expect(py.status).toBe("failed");
    expect(py.error).not.toContain("root:");
  });
});
