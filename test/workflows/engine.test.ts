// The graph engine on its own, with hand-written executors standing in for node kinds: which events
// it sends in which order, and that the answer it saves is exactly the text it streamed.
import { describe, expect, it } from "vitest";
import { WorkflowEngine, type EngineEvent, type NodeExecutor } from "../../src/core/workflows/engine.js";
import { WorkflowGraph } from "../../src/core/workflows/graph.js";
import { VariablePool } from "../../src/core/workflows/variable-pool.js";
import { answer, start } from "../../src/core/workflows/nodes/basic.js";

/** An LLM node that streams the tokens its DSL data lists (when the engine asks it to), like the real one. */
const fakeLlm: NodeExecutor = async (ctx) => {
  const tokens = (ctx.node.data.tokens ?? []) as string[];
  for (const t of tokens) if (ctx.streamsText) await ctx.stream(t);
  return { outputs: { text: tokens.join("") } };
};

/** A node that fails, for error strategies. */
const failing: NodeExecutor = async () => {
  throw new Error("boom");
};

type Node = { id: string; type: string } & Record<string, unknown>;

function graphOf(nodes: Node[], edges: [string, string, string?][]) {
  return WorkflowGraph.fromDsl({
    nodes: nodes.map(({ id, type, ...data }) => ({ id, data: { type, title: id, ...data } })),
    edges: edges.map(([source, target, sourceHandle], i) => ({ id: `e${i}`, source, target, sourceHandle: sourceHandle ?? "source" })),
  });
}

/** Run a chatflow-style graph; the events in order, as short strings, and the outcome. */
async function run(nodes: Node[], edges: [string, string, string?][], sys: Record<string, unknown> = { query: "hi", files: [] }) {
  const events: EngineEvent[] = [];
  const engine = new WorkflowEngine(graphOf(nodes, edges), {
    executors: { start, answer, llm: fakeLlm, failing },
    onEvent: async (e) => {
      events.push(e);
    },
    signal: new AbortController().signal,
    streamTo: "answer",
  });
  const outcome = await engine.run(new VariablePool({ sys }));
  const log = events.map((e) =>
    e.type === "text" ? `text ${JSON.stringify(e.text)} @${e.selector.join(".")}` : e.type === "node_finished" ? `finished ${e.execution.node.id} ${e.status}` : e.type === "node_started" ? `started ${e.execution.node.id}` : e.type,
  );
  const streamed = events.flatMap((e) => (e.type === "text" ? [e.text] : [])).join("");
  return { events, log, outcome, streamed };
}

const START: Node = { id: "start", type: "start" };
const LLM: Node = { id: "llm", type: "llm", tokens: ["Hel", "lo"] };

describe("WorkflowEngine streaming into answer nodes", () => {
  it("sends an answer's literal prefix before the LLM tokens it streams, and saves them in that order", async () => {
    const { log, outcome, streamed } = await run([START, LLM, { id: "answer", type: "answer", answer: "Answer: {{#llm.text#}}" }], [
      ["start", "llm"],
      ["llm", "answer"],
    ]);
    expect(log).toEqual([
      "started start",
      "finished start succeeded",
      "started llm",
      'text "Answer: " @answer.answer',
      'text "Hel" @llm.text',
      'text "lo" @llm.text',
      "finished llm succeeded",
      "started answer",
      "finished answer succeeded",
    ]);
    expect(streamed).toBe("Answer: Hello");
    expect(outcome).toMatchObject({ status: "succeeded", answer: "Answer: Hello" });
  });

  it("sends the text after a streamed reference when the answer node runs", async () => {
    const { log, outcome, streamed } = await run([START, LLM, { id: "answer", type: "answer", answer: "{{#llm.text#}} (from {{#sys.query#}})" }], [
      ["start", "llm"],
      ["llm", "answer"],
    ]);
    expect(log.filter((l) => l.startsWith("text"))).toEqual(['text "Hel" @llm.text', 'text "lo" @llm.text', 'text " (from hi)" @answer.answer']);
    expect(streamed).toBe("Hello (from hi)");
    expect(outcome.answer).toBe(streamed);
  });

  it("streams the first of two references and renders the second when the answer node runs", async () => {
    const { log, outcome, streamed } = await run(
      [START, LLM, { id: "llm2", type: "llm", tokens: ["Wor", "ld"] }, { id: "answer", type: "answer", answer: "One: {{#llm.text#}}, two: {{#llm2.text#}}." }],
      [
        ["start", "llm"],
        ["llm", "llm2"],
        ["llm", "answer"],
        ["llm2", "answer"],
      ],
    );
    expect(log.filter((l) => l.startsWith("text"))).toEqual(['text "One: " @answer.answer', 'text "Hel" @llm.text', 'text "lo" @llm.text', 'text ", two: World." @answer.answer']);
    expect(streamed).toBe("One: Hello, two: World.");
    expect(outcome.answer).toBe(streamed);
  });

  it("renders a whole answer whose first reference's LLM does not feed it directly", async () => {
    const { log, outcome } = await run(
      [START, LLM, { id: "llm2", type: "llm", tokens: ["Wor", "ld"] }, { id: "answer", type: "answer", answer: "One: {{#llm.text#}}, two: {{#llm2.text#}}." }],
      [
        ["start", "llm"],
        ["llm", "llm2"],
        ["llm2", "answer"],
      ],
    );
    expect(log.filter((l) => l.startsWith("text"))).toEqual(['text "One: Hello, two: World." @answer.answer']);
    expect(outcome.answer).toBe("One: Hello, two: World.");
  });

  it("chains two answer nodes: the first streams through, the second renders in full after it", async () => {
    const { log, outcome, streamed } = await run(
      [START, LLM, { id: "a1", type: "answer", answer: "A: {{#llm.text#}}\n" }, { id: "a2", type: "answer", answer: "B: {{#llm.text#}}" }],
      [
        ["start", "llm"],
        ["llm", "a1"],
        ["a1", "a2"],
      ],
    );
    expect(log.slice(2)).toEqual([
      "started llm",
      'text "A: " @a1.answer',
      'text "Hel" @llm.text',
      'text "lo" @llm.text',
      "finished llm succeeded",
      "started a1",
      'text "\\n" @a1.answer',
      "finished a1 succeeded",
      "started a2",
      'text "B: Hello" @a2.answer',
      "finished a2 succeeded",
    ]);
    expect(streamed).toBe("A: Hello\nB: Hello");
    expect(outcome.answer).toBe(streamed);
  });

  it("gives one LLM's stream to one answer node; a second answer node it feeds renders its own text whole", async () => {
    const { log, outcome, streamed } = await run(
      [START, LLM, { id: "a1", type: "answer", answer: "A: {{#llm.text#}}\n" }, { id: "a2", type: "answer", answer: "B: {{#llm.text#}}" }],
      [
        ["start", "llm"],
        ["llm", "a1"],
        ["llm", "a2"],
      ],
    );
    expect(log.filter((l) => l.startsWith("text"))).toEqual(['text "A: " @a1.answer', 'text "Hel" @llm.text', 'text "lo" @llm.text', 'text "\\n" @a1.answer', 'text "B: Hello" @a2.answer']);
    expect(streamed).toBe("A: Hello\nB: Hello");
    expect(outcome.answer).toBe(streamed);
  });

  it("sends the prefix from the answer node when the LLM streamed nothing", async () => {
    const { log, outcome } = await run([START, { id: "llm", type: "llm", tokens: [] }, { id: "answer", type: "answer", answer: "Answer: {{#llm.text#}}!" }], [
      ["start", "llm"],
      ["llm", "answer"],
    ]);
    expect(log.filter((l) => l.startsWith("text"))).toEqual(['text "Answer: !" @answer.answer']);
    expect(outcome.answer).toBe("Answer: !");
  });

  it("renders empty file lists as nothing in answers", async () => {
    const { outcome } = await run([START, { id: "answer", type: "answer", answer: "You asked: {{#sys.query#}}{{#sys.files#}}" }], [["start", "answer"]]);
    expect(outcome.answer).toBe("You asked: hi");
  });

  it("skips the nodes behind an untaken branch and follows a fail-branch", async () => {
    const { log, outcome } = await run(
      [
        START,
        { id: "risky", type: "failing", error_strategy: "fail-branch" },
        { id: "ok", type: "answer", answer: "fine" },
        { id: "handled", type: "answer", answer: "handled {{#risky.error_message#}}" },
      ],
      [
        ["start", "risky"],
        ["risky", "ok"],
        ["risky", "handled", "fail-branch"],
      ],
    );
    expect(log).toEqual([
      "started start",
      "finished start succeeded",
      "started risky",
      "finished risky exception",
      "started handled",
      'text "handled boom" @handled.answer',
      "finished handled succeeded",
    ]);
    expect(outcome).toMatchObject({ status: "partial-succeeded", answer: "handled boom", exceptions: 1 });
  });
});
