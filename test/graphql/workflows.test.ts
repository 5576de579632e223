// Workflow and chatflow runs over GraphQL: typed node events, runs and node executions, human input.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { gqlSse } from "../support/graphql.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { localId } from "../support/ids.js";

const EVENTS = `__typename
  ... on WorkflowEvent { seq taskId runId }
  ... on WorkflowStarted { reason }
  ... on NodeFinished { nodeId nodeType status nodeOutputs: outputs { __typename
      ... on LlmNodeOutputs { text usage { totalTokens } }
      ... on IfElseNodeOutputs { selectedCaseId result }
      ... on TemplateTransformNodeOutputs { output }
      ... on GenericNodeOutputs { values } } }
  ... on TextChunk { text }
  ... on HumanInputRequired { formToken nodeId actions }
  ... on HumanInputFormFilled { actionId }
  ... on WorkflowPaused { pausedNodes }
  ... on WorkflowFinished { status outputs error }
  ... on AppError { code message }`;
const CHAT_EVENTS = `${EVENTS}
  ... on MessageDelta { answer }
  ... on MessageEnd { saved: message { answer } }`;

describe("workflows over GraphQL", () => {
  let fake: FakeOpenAI;
  let s: TestServer;
  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => "model says hi" });
    s = await startTestServer("pglite", { OPENAI_BASE_URL: fake.baseUrl });
  });
  afterAll(async () => {
    await s?.close();
    await fake?.close();
  });

  const subscribe = (query: string, variables: Record<string, unknown>, passport: string) => gqlSse(s, query, variables, { token: passport });
  const RUN = `subscription($i: WorkflowRunInput!) { workflowRun(input: $i) { ${EVENTS} } }`;
  const FOLLOW = `subscription($id: ID!, $after: Int) { runEvents(runId: $id, after: $after) { ${EVENTS} } }`;

  it("streams a run with typed node outputs, and serves the run and its node executions", async () => {
    const passport = await s.passport((await s.importApp("dsl-corpus/workflow-basic-llm-openai.yml")).code);
    const events = await subscribe(RUN, { i: { inputs: { query: "hello" } } }, passport);
    expect(events[0]).toMatchObject({ __typename: "WorkflowStarted", reason: "initial", seq: 1 });
    expect(events.filter((e) => e.__typename === "TextChunk").map((e) => e.text).join("")).toBe("model says hi");
    const llm = events.find((e) => e.__typename === "NodeFinished" && e.nodeType === "llm");
    expect(llm?.nodeOutputs).toMatchObject({ __typename: "LlmNodeOutputs", text: "model says hi" });
    expect(llm?.nodeOutputs.usage.totalTokens).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ __typename: "WorkflowFinished", status: "succeeded" });

    const runId = events[0].runId;
    const run = await s.graphql(
      `query($id: ID!) { workflowRun(id: $id) { __typename ... on WorkflowRun { status totalSteps nodeExecutions(first: 2) { edges { node { nodeType index } } pageInfo { hasNextPage endCursor } } } } }`,
      { id: runId },
      { authorization: `Bearer ${passport}` },
    );
    expect(run.data.workflowRun).toMatchObject({ status: "succeeded", totalSteps: 3 });
    expect(run.data.workflowRun.nodeExecutions.edges.map((e: any) => e.node.nodeType)).toEqual(["start", "llm"]);
    expect(run.data.workflowRun.nodeExecutions.pageInfo.hasNextPage).toBe(true);
    const stranger = await s.passport((await s.rt.db.site.findFirstOrThrow({ where: { appId: (await s.rt.db.workflowRun.findUniqueOrThrow({ where: { id: localId(runId) } })).appId } })).code);
    const hidden = await s.graphql(`query($id: ID!) { workflowRun(id: $id) { __typename ... on AppError { code } } }`, { id: runId }, { authorization: `Bearer ${stranger}` });
    expect(hidden.data.workflowRun).toEqual({ __typename: "AppError", code: "not_found" });
    expect(await subscribe(FOLLOW, { id: runId }, stranger)).toEqual([expect.objectContaining({ __typename: "AppError", code: "not_found" })]);
  });

  it("gives if-else nodes their selected case", async () => {
    const passport = await s.passport((await s.importApp("dsl-corpus/workflow-dual-switch-variable-aggregator.yml")).code);
    const events = await subscribe(RUN, { i: { inputs: { switch1: "1", switch2: "0" } } }, passport);
    const cases = events.filter((e) => e.__typename === "NodeFinished" && e.nodeType === "if-else").map((e) => e.nodeOutputs.selectedCaseId).sort();
    expect(cases).toEqual(["false", "true"]);
    expect(events.at(-1)?.outputs).toEqual({ group1: "switch 1 on", group2: "switch 2 off" });
  });

  it("pauses for a person, takes the form by token, and resumes for runEvents", async () => {
    const passport = await s.passport((await s.importApp("workflows/workflow-approval-form.yml")).code);
    const events = await subscribe(RUN, { i: { inputs: { request: "a chair" } } }, passport);
    expect(events.map((e) => e.__typename).slice(-2)).toEqual(["HumanInputRequired", "WorkflowPaused"]);
    const { formToken } = events.at(-2)!;
    const form = await s.graphql(`query($t: String!) { humanInputForm(token: $t) { __typename ... on HumanInputForm { formContent resolvedDefaultValues } } }`, { t: formToken });
    expect(form.data.humanInputForm).toMatchObject({ formContent: "Approve **a chair**?\n\nReason: {{#$output.reason#}}", resolvedDefaultValues: { reason: "a chair", note: "" } });
    const { taskId } = await s.rt.db.workflowRun.findUniqueOrThrow({ where: { id: localId(events[0].runId) } });
    const followed = s.readerOpened(taskId!);
    const following = subscribe(FOLLOW, { id: events[0].runId }, passport);
    await followed;
    const SUBMIT = `mutation($t: String!, $a: String!, $i: JSON) { submitHumanInput(token: $t, action: $a, inputs: $i) { __typename ... on AppError { code message } } }`;
    const bad = await s.graphql(SUBMIT, { t: formToken, a: "maybe", i: { reason: "r", note: "n" } });
    expect(bad.data.submitHumanInput).toMatchObject({ __typename: "AppError", code: "invalid_form_data" });
    const ok = await s.graphql(SUBMIT, { t: formToken, a: "no", i: { reason: "too expensive", note: "-" } });
    expect(ok.data.submitHumanInput.__typename).toBe("SubmitHumanInputPayload");
    const resumed = await following;
    expect(resumed[0]).toMatchObject({ __typename: "WorkflowStarted", reason: "resumption" });
    expect(resumed[1]).toMatchObject({ __typename: "HumanInputFormFilled", actionId: "no" });
    expect(resumed.at(-1)).toMatchObject({ __typename: "WorkflowFinished", status: "succeeded", outputs: { decision: "no" } });
  });

  it("answers chatflow messages through chatMessage, with workflow events and the saved message", async () => {
    const passport = await s.passport((await s.importApp("dsl-corpus/advanced-chat-complex-branch-llm.yml")).code);
    const events = await subscribe(`subscription($i: ChatMessageInput!) { chatMessage(input: $i) { ${CHAT_EVENTS} } }`, { i: { query: "hello there", inputs: {} } }, passport);
    const kinds = events.map((e) => e.__typename);
    expect(kinds[0]).toBe("WorkflowStarted");
    expect(kinds.slice(-2)).toEqual(["MessageEnd", "WorkflowFinished"]);
    const answer = events.filter((e) => e.__typename === "MessageDelta").map((e) => e.answer).join("");
    expect(events.at(-2)?.saved.answer).toBe(answer);
    expect(answer.length).toBeGreaterThan(0);
  });
});
