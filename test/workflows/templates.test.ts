// App-authored Jinja2 on a real server, over REST and GraphQL: the template-transform node and an
// LLM node's jinja2 prompt render as Dify's do, and the known escapes out of a template engine
// (which printed the Node version under nunjucks) reach nothing of the server: the run either
// succeeds with harmless text or fails the node with the template's error, never a 5xx.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { gqlSse } from "../support/graphql.js";
import { ESCAPES, hostDataIn } from "../support/jinja-escapes.js";
import { readSse } from "../support/sse.js";
import { TEST_SECRET, fixture, startTestServer, type TestServer } from "../support/server.js";

const CANARY = "template-canary-51d0";
const BASE = YAML.parse(fixture("workflows/workflow-jinja-templates.yml"));
const INPUTS = { name: "ann lee", topics: "tea, rice" };

/** The fixture with its transform template or its system prompt replaced. */
function dsl(replace: { transform?: string; system?: string }): string {
  const doc = structuredClone(BASE);
  const node = (id: string) => doc.workflow.graph.nodes.find((n: any) => n.id === id).data;
  if (replace.transform !== undefined) node("template").template = replace.transform;
  if (replace.system !== undefined) node("llm").prompt_template[0].jinja2_text = replace.system;
  return YAML.stringify(doc);
}

describe("app-authored templates", () => {
  let fake: FakeOpenAI;
  let s: TestServer;
  beforeAll(async () => {
    process.env.APPGRAPH_TEMPLATE_CANARY = CANARY; // what an escape would find in the server's environment
    fake = await startFakeOpenAI({ reply: () => "Written." });
    s = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl });
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });

  const run = async (text: string) => {
    const app = await s.importApp(text);
    const res = await s.api("/workflows/run", {
      method: "POST",
      passport: await s.passport(app.code),
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: INPUTS, response_mode: "streaming" }),
    });
    expect(res.status).toBe(200);
    const { events } = await readSse(res);
    const finished = events.find((e) => e.event === "workflow_finished").data;
    const nodes = events.filter((e) => e.event === "node_finished").map((e) => e.data);
    return { finished, nodes };
  };

  /** What a run showed of its templates: the run's outputs and error, and its nodes' outputs and errors. */
  const shown = (r: Awaited<ReturnType<typeof run>>) =>
    JSON.stringify([r.finished.outputs, r.finished.error, r.nodes.filter((n) => n.node_type !== "code").map((n) => [n.outputs, n.error])]);

  it("renders the transform and the LLM's jinja2 prompt as Dify does", async () => {
    const before = fake.requests.length;
    const r = await run(dsl({}));
    expect(r.finished.status).toBe("succeeded");
    expect(r.finished.outputs).toEqual({ formatted: "1. TEA\n2. RICE\nfor ann lee", text: "Written." });
    // Dify gives jinja2 prompts text: the list one item a line.
    expect(fake.requests.slice(before).map((q) => q.body.messages)).toEqual([
      [
        { role: "system", content: "You write for Ann Lee." },
        { role: "user", content: "Topics:\ntea\nrice\nDraft: 1. TEA\n2. RICE\nfor ann lee" },
      ],
    ]);
  });

  it("fails the node with the template's error", async () => {
    const transform = await run(dsl({ transform: "{% for t in items %}{{ t }}" }));
    expect(transform.finished.status).toBe("failed");
    expect(transform.finished.error).toMatch(/^Template error: /);
    expect(transform.nodes.find((n) => n.node_id === "template")).toMatchObject({ status: "failed", error: transform.finished.error });
    const prompt = await run(dsl({ system: "{{ name | nosuchfilter }}" }));
    expect(prompt.finished.status).toBe("failed");
    expect(prompt.nodes.find((n) => n.node_id === "llm")).toMatchObject({ status: "failed", error: expect.stringMatching(/^Template error: .*nosuchfilter/) });
  });

  it.each(ESCAPES)("in a template-transform node, %s reaches nothing of the server", async (_what, template) => {
    const r = await run(dsl({ transform: template }));
    expect(["succeeded", "failed"]).toContain(r.finished.status);
    if (r.finished.status === "failed") expect(r.finished.error).toMatch(/^Template error: /);
    expect(hostDataIn(shown(r), [CANARY, TEST_SECRET])).toEqual([]);
  });

  it.each(ESCAPES)("in an LLM node's jinja2 prompt, %s reaches nothing of the server", async (_what, template) => {
    const before = fake.requests.length;
    const r = await run(dsl({ system: template }));
    expect(r.nodes.find((n) => n.node_id === "template")?.status).toBe("succeeded"); // so the prompt was rendered
    expect(["succeeded", "failed"]).toContain(r.finished.status);
    if (r.finished.status === "failed") expect(r.nodes.find((n) => n.node_id === "llm")?.error).toMatch(/^Template error: /);
    const prompts = JSON.stringify(fake.requests.slice(before).map((q) => q.body.messages));
    expect(hostDataIn(shown(r) + prompts, [CANARY, TEST_SECRET])).toEqual([]);
  });

  it("over GraphQL, gives the rendered output and a failed template's error", async () => {
    const RUN = `subscription($i: WorkflowRunInput!) { workflowRun(input: $i) { __typename
      ... on NodeFinished { nodeId status error nodeOutputs: outputs { __typename ... on TemplateTransformNodeOutputs { output } } }
      ... on WorkflowFinished { status error } } }`;
    const subscribe = async (text: string) => gqlSse(s, RUN, { i: { inputs: INPUTS } }, { token: await s.passport((await s.importApp(text)).code) });

    const ok = await subscribe(dsl({ transform: "{{ items }} {{ items | length }} {{ name.title() }}" }));
    const node = ok.find((e) => e.__typename === "NodeFinished" && e.nodeId === "template");
    expect(node?.nodeOutputs).toEqual({ __typename: "TemplateTransformNodeOutputs", output: "['tea', 'rice'] 2 Ann Lee" });

    const escape = await subscribe(dsl({ transform: ESCAPES[0][1] }));
    expect(escape.find((e) => e.__typename === "WorkflowFinished")).toMatchObject({ status: "failed", error: expect.stringMatching(/^Template error: /) });
    expect(escape.at(-1)?.__typename).toBe("RunFailed");
    expect(hostDataIn(JSON.stringify(escape), [CANARY, TEST_SECRET])).toEqual([]);
  });
});
