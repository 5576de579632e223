// The graph engine: runs a workflow graph's nodes in dependency order, parallel branches at once.
// A node runs when every incoming edge is resolved and at least one was taken; a node none of whose
// incoming edges were taken is skipped, and so are the edges leaving it.
import crypto from "node:crypto";
import { AppError } from "../errors.js";
import type { GraphEdge, GraphNode, WorkflowGraph } from "./graph.js";
import { REFUSED_NODE_TYPES } from "./graph.js";
import { VariablePool } from "./variable-pool.js";
import type { Usage } from "../ports/model.js";

export type NodeRunResult = {
  outputs: Record<string, unknown>;
  inputs?: Record<string, unknown>;
  processData?: Record<string, unknown>;
  /** The source handle whose edges are taken; "source" unless the node branches. */
  handle?: string;
  usage?: Usage;
};

export type NodeExecution = {
  id: string;
  node: GraphNode;
  index: number;
  predecessorId: string | null;
  startedAt: Date;
  /** Set when the node runs inside an iteration or loop. */
  container?: { id: string; index: number };
};

export type EngineEvent =
  | { type: "node_started"; execution: NodeExecution }
  | {
      type: "node_finished";
      execution: NodeExecution;
      status: "succeeded" | "failed" | "exception" | "stopped";
      result: NodeRunResult | null;
      error: string | null;
      finishedAt: Date;
    }
  | { type: "node_retry"; execution: NodeExecution; error: string; retryIndex: number }
  | { type: "text"; text: string; selector: string[] }
  /** Iteration and loop progress: started, each next round, completed. */
  | {
      type: "container";
      kind: "iteration" | "loop";
      phase: "started" | "next" | "completed";
      execution: NodeExecution;
      index?: number;
      inputs?: Record<string, unknown>;
      outputs?: Record<string, unknown>;
      steps?: number;
    };

export type NodeContext = {
  node: GraphNode;
  pool: VariablePool;
  signal: AbortSignal;
  /** Whether this node's `text` output is streamed to the user as it is produced (see streamPlan). */
  streamsText: boolean;
  /** Send text to the user now (text_chunk in workflow apps, message deltas in chatflows). */
  stream(text: string): Promise<void>;
  /** The parts of this answer/end node's text that were not streamed already. */
  unstreamedSegments(): ({ text: string } | { selector: string[] })[];
  /** Run a container's sub-graph (iteration, loop) on a pool of its own. */
  runContainer(containerId: string, pool: VariablePool, index: number): Promise<RunOutcome>;
  /** Report a container's progress (iteration_started, loop_next, ...). */
  containerEvent(phase: "started" | "next" | "completed", detail?: { index?: number; inputs?: Record<string, unknown>; outputs?: Record<string, unknown>; steps?: number }): Promise<void>;
};

export type NodeExecutor = (ctx: NodeContext) => Promise<NodeRunResult>;

/** Thrown by a node that waits for a person (human-input): the run pauses there. */
export class PauseRequested extends Error {
  constructor(readonly reason: Record<string, unknown>) {
    super("paused");
  }
}

/** Where a paused run stands, enough to resume it on any instance. */
export type EngineState = {
  taken: [string, boolean][];
  started: string[];
  paused: string[];
  pool: Record<string, Record<string, unknown>>;
  totals: { steps: number; tokens: number; exceptions: number; answer: string };
  index: number;
  /** Answer/end nodes whose first reference already streamed (absent in states saved before it was kept). */
  streamed?: string[];
};

export class NodeFailure extends Error {
  constructor(message: string, readonly errorType = "NodeError") {
    super(message);
  }
}

export type RunOutcome = {
  status: "succeeded" | "failed" | "stopped" | "partial-succeeded" | "paused";
  /** Outputs of the end nodes reached (workflow apps) */
  outputs: Record<string, unknown>;
  error: string | null;
  steps: number;
  tokens: number;
  exceptions: number;
  /** Text sent to the user (the chatflow's answer), in the order it was sent. */
  answer: string;
  /** A loop-end node ran: the enclosing loop stops after this round. */
  ended: boolean;
  /** Set when the run paused: what resuming needs. */
  state?: EngineState;
  /** Why it paused, one reason per waiting node. */
  pauseReasons?: Record<string, unknown>[];
};

export type EngineOptions = {
  executors: Record<string, NodeExecutor>;
  /** Called for every event, in order; awaited, so persistence keeps pace. */
  onEvent: (event: EngineEvent) => Promise<void>;
  signal: AbortSignal;
  maxSteps?: number;
  deadline?: number;
  /** Which node types end a text stream: "answer" in chatflows, "end" in workflow apps. */
  streamTo: "answer" | "end";
  /**
   * Called (synchronously) each time a node of the workflow's own graph finishes: where the run stands,
   * the nodes still running counted as not run. Continuing from it runs those again.
   */
  onCheckpoint?: (state: EngineState) => void;
};

/**
 * For each LLM, the answer/end node its text streams through: one whose text starts with the LLM's
 * `text` and that the LLM feeds. One per LLM: a second node it feeds renders its own text in full
 * when it runs, so the two answers do not interleave (as in Dify, where they follow one another).
 */
function streamPlan(graph: WorkflowGraph, streamTo: "answer" | "end") {
  const sources = new Map<string, { target: GraphNode; prefix: string; selector: string[] }>();
  for (const target of graph.nodes.values()) {
    if (target.type !== streamTo) continue;
    const segments =
      streamTo === "answer"
        ? VariablePool.segments(String(target.data.answer ?? ""))
        : ((target.data.outputs ?? []) as any[]).slice(0, 1).map((o) => ({ selector: o.value_selector as string[] }));
    const first = segments.findIndex((s) => "selector" in s);
    if (first < 0) continue;
    const selector = (segments[first] as { selector: string[] }).selector;
    const source = graph.nodes.get(selector?.[0]);
    const incoming = graph.incoming.get(target.id) ?? [];
    if (!source || source.type !== "llm" || selector[1] !== "text" || selector.length !== 2) continue;
    // A direct success edge from the LLM: once the LLM succeeds that edge is taken, so the target runs
    // whatever its other incoming edges do, and its text can start with the LLM's tokens.
    if (!incoming.some((e) => e.source === source.id && e.sourceHandle === "source")) continue;
    if (sources.has(source.id)) continue;
    const prefix = segments.slice(0, first).map((s) => ("text" in s ? s.text : "")).join("");
    sources.set(source.id, { target, prefix, selector });
  }
  return sources;
}

type Container = { id: string; index: number };

/** Which edges of a graph were resolved (taken or not) and which nodes started: a pause keeps these. */
type Progress = { taken: Map<string, boolean>; started: Set<string> };

/** A graph being run (the workflow's, or a round of a container's): what its nodes share. */
type Scope = {
  pool: VariablePool;
  /** Aborts when the run is stopped, or when a node of this graph failed. */
  signal: AbortSignal;
  /** Set inside an iteration or loop. */
  container: Container | undefined;
  outcome: RunOutcome;
};

export class WorkflowEngine {
  private readonly plan: ReturnType<typeof streamPlan>;
  /** Answer/end nodes whose first reference already streamed: they render the rest only. */
  private readonly streamed = new Set<string>();
  /** Run-wide totals, containers included: the step limit counts every node that runs. */
  private totals = { steps: 0, tokens: 0, exceptions: 0, answer: "" };
  private index = 0;
  private readonly paused = new Map<string, Record<string, unknown>>();

  constructor(
    private readonly graph: WorkflowGraph,
    private readonly options: EngineOptions,
  ) {
    this.plan = streamPlan(graph, options.streamTo);
  }

  /** Run from the start node, or resume a paused run from its state (its waiting nodes run again). */
  async run(pool: VariablePool, resume?: EngineState): Promise<RunOutcome> {
    if (resume) {
      this.totals = { ...resume.totals };
      this.index = resume.index;
      for (const id of resume.streamed ?? []) this.streamed.add(id);
    }
    const top = { taken: new Map(resume?.taken ?? []), started: new Set(resume?.started ?? []), running: new Set<string>() };
    const outcome = await this.runGraph({ pool, progress: top, resumeAt: resume?.paused });
    // End nodes that ran before the pause (or the crash) gave their outputs then: they are in the pool.
    if (resume) {
      const ran = new Set(resume.started.filter((id) => !resume.paused.includes(id)));
      for (const id of ran) if (this.graph.nodes.get(id)?.type === "end") outcome.outputs = { ...resume.pool[id], ...outcome.outputs };
    }
    const { steps, tokens, exceptions, answer } = this.totals;
    if (outcome.status === "succeeded" && this.paused.size) {
      return {
        ...outcome,
        status: "paused",
        steps,
        tokens,
        exceptions,
        answer,
        pauseReasons: [...this.paused.values()],
        state: this.stateOf(top, pool),
      };
    }
    if (outcome.status === "succeeded" && exceptions > 0) outcome.status = "partial-succeeded";
    return { ...outcome, steps, tokens, exceptions, answer };
  }

  /** Where the run stands: nodes running or waiting are to run (again) when it goes on from here. */
  private stateOf(top: Progress & { running: Set<string> }, pool: VariablePool): EngineState {
    const { steps, tokens, exceptions, answer } = this.totals;
    const toRun = new Set([...top.running, ...this.paused.keys()]);
    return {
      taken: [...top.taken],
      started: [...top.started].filter((id) => !toRun.has(id)),
      paused: [...toRun],
      pool: pool.snapshot(),
      totals: { steps, tokens, exceptions, answer },
      index: this.index,
      streamed: [...this.streamed],
    };
  }

  /** Run one graph (the workflow's, or a round of a container's) until none of its nodes can run. */
  private async runGraph(part: { pool: VariablePool; container?: Container; progress?: Progress & { running: Set<string> }; resumeAt?: string[] }): Promise<RunOutcome> {
    const { graph, options } = this;
    const { taken, started } = part.progress ?? { taken: new Map<string, boolean>(), started: new Set<string>() };
    const inFlight = new Set<Promise<void>>();
    const failed = new AbortController();
    const scope: Scope = {
      pool: part.pool,
      signal: AbortSignal.any([options.signal, failed.signal]),
      container: part.container,
      outcome: { status: "succeeded", outputs: {}, error: null, steps: 0, tokens: 0, exceptions: 0, answer: "", ended: false },
    };

    const settleEdges = (edges: GraphEdge[], handle: string | null) => {
      for (const e of edges) taken.set(e.id, handle !== null && e.sourceHandle === handle);
      for (const target of new Set(edges.map((e) => e.target))) consider(target);
    };

    const consider = (id: string) => {
      if (started.has(id)) return;
      const incoming = graph.incoming.get(id) ?? [];
      if (incoming.some((e) => !taken.has(e.id))) return;
      started.add(id);
      if (!incoming.some((e) => taken.get(e.id))) {
        settleEdges(graph.outgoing.get(id) ?? [], null); // skipped: nothing downstream of it runs either
        return;
      }
      launch(graph.nodes.get(id)!);
    };

    const launch = (node: GraphNode) => {
      const predecessorId = (graph.incoming.get(node.id) ?? []).find((e) => taken.get(e.id))?.source ?? null;
      const top = part.container === undefined ? part.progress : undefined;
      top?.running.add(node.id);
      const p = this.runNode(scope, node, predecessorId).then(
        (handle) => {
          top?.running.delete(node.id);
          if (handle !== undefined) settleEdges(graph.outgoing.get(node.id) ?? [], handle);
          // The nodes its edges launched count as running: a checkpoint sends them round again.
          if (top && options.onCheckpoint && handle !== undefined) options.onCheckpoint(this.stateOf(top, part.pool));
        },
        (err) => {
          this.fail(scope.outcome, err);
          failed.abort();
        },
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    };

    if (part.resumeAt) {
      for (const id of part.resumeAt) launch(graph.nodes.get(id)!);
    } else {
      const start = graph.startOf(part.container?.id ?? null);
      started.add(start.id);
      launch(start);
    }
    while (inFlight.size) await Promise.all([...inFlight]);
    if (scope.outcome.status === "succeeded" && options.signal.aborted) this.fail(scope.outcome, null);
    return scope.outcome;
  }

  /** The first failure (or the stop) is the graph's outcome. */
  private fail(outcome: RunOutcome, err: unknown) {
    if (outcome.status !== "succeeded") return;
    const stopped = this.options.signal.aborted;
    outcome.status = stopped ? "stopped" : "failed";
    outcome.error = stopped ? "Stopped by user." : (err as Error).message;
  }

  /** Run one node (with its retries and error strategy); resolves to the handle to follow. */
  private async runNode(scope: Scope, node: GraphNode, predecessorId: string | null): Promise<string | undefined> {
    const { options } = this;
    const index = ++this.index;
    const maxSteps = options.maxSteps ?? 500;
    if (scope.signal.aborted) throw new NodeFailure("Stopped by user.");
    if (++this.totals.steps > maxSteps) throw new NodeFailure(`Max steps ${maxSteps} reached.`);
    if (options.deadline && Date.now() > options.deadline) throw new NodeFailure("Max execution time reached.");
    const execution: NodeExecution = { id: crypto.randomUUID(), node, index, predecessorId, startedAt: new Date(), container: scope.container };
    // Container start nodes are bookkeeping, as in Dify: no events.
    const silent = node.type === "iteration-start" || node.type === "loop-start";
    if (!silent) await options.onEvent({ type: "node_started", execution });

    const retry = node.data.retry_config ?? {};
    const maxRetries = retry.retry_enabled ? Math.max(0, Number(retry.max_retries ?? 0)) : 0;
    let attempt = 0;
    for (;;) {
      try {
        const result = await this.execute(scope, execution);
        if (result.usage) this.totals.tokens += result.usage.totalTokens;
        scope.pool.set(node.id, result.outputs);
        if (node.type === "end") Object.assign(scope.outcome.outputs, result.outputs);
        if (node.type === "loop-end") scope.outcome.ended = true;
        if (!silent) await options.onEvent({ type: "node_finished", execution, status: "succeeded", result, error: null, finishedAt: new Date() });
        return result.handle ?? "source";
      } catch (err) {
        if (err instanceof PauseRequested) {
          if (scope.container) throw new NodeFailure(`${node.type} nodes cannot wait inside an iteration or loop (node ${node.title}).`);
          this.paused.set(node.id, err.reason);
          return undefined; // its edges stay unresolved until the run resumes
        }
        const stopped = scope.signal.aborted;
        const message = stopped ? "Stopped by user." : err instanceof AppError || err instanceof NodeFailure ? err.message : String((err as Error)?.message ?? err);
        if (!stopped && attempt < maxRetries) {
          attempt++;
          await options.onEvent({ type: "node_retry", execution, error: message, retryIndex: attempt });
          await new Promise((r) => setTimeout(r, Math.max(0, Number(retry.retry_interval ?? 0))));
          continue;
        }
        return this.nodeFailed(scope, execution, { err, message, stopped });
      }
    }
  }

  /** A node failed for good: its error strategy decides the branch, or the graph fails with it. */
  private async nodeFailed(scope: Scope, execution: NodeExecution, failure: { err: unknown; message: string; stopped: boolean }): Promise<string> {
    const { node } = execution;
    const { err, message, stopped } = failure;
    const strategy = stopped ? null : node.data.error_strategy;
    if (strategy === "default-value" || strategy === "fail-branch") {
      const errorType = err instanceof NodeFailure ? err.errorType : err instanceof AppError ? err.code : "Error";
      const defaults =
        strategy === "default-value" ? Object.fromEntries(((node.data.default_value ?? []) as any[]).map((d) => [d.key, d.value])) : {};
      const result: NodeRunResult = { outputs: { ...defaults, error_message: message, error_type: errorType }, handle: strategy === "fail-branch" ? "fail-branch" : "source" };
      scope.pool.set(node.id, result.outputs);
      this.totals.exceptions++;
      await this.options.onEvent({ type: "node_finished", execution, status: "exception", result, error: message, finishedAt: new Date() });
      return result.handle!;
    }
    await this.options.onEvent({ type: "node_finished", execution, status: stopped ? "stopped" : "failed", result: null, error: message, finishedAt: new Date() });
    throw new NodeFailure(message);
  }

  private async execute(scope: Scope, execution: NodeExecution): Promise<NodeRunResult> {
    const { node } = execution;
    if (REFUSED_NODE_TYPES.has(node.type)) throw new NodeFailure(`${node.type} nodes are not supported by appgraph yet (node ${node.title}).`, "UnsupportedNode");
    const executor = this.options.executors[node.type];
    if (!executor) throw new NodeFailure(`No executor for node type ${node.type} (node ${node.title}).`, "UnsupportedNode");
    const target = this.plan.get(node.id);
    let prefixSent = false;
    // What the user was sent is the answer, in the order it was sent, also when the run stops halfway.
    const send = (text: string, selector: string[]) => {
      this.totals.answer += text;
      return this.options.onEvent({ type: "text", text, selector });
    };
    const ctx: NodeContext = {
      node,
      pool: scope.pool,
      signal: scope.signal,
      streamsText: target !== undefined,
      stream: async (text: string) => {
        if (!target) return send(text, [node.id, "answer"]);
        if (!prefixSent) {
          prefixSent = true;
          this.streamed.add(target.target.id);
          // The answer's text before the reference comes first.
          if (target.prefix) await send(target.prefix, [target.target.id, "answer"]);
        }
        await send(text, [node.id, "text"]);
      },
      unstreamedSegments: () => {
        const segments = VariablePool.segments(String(node.data.answer ?? ""));
        if (!this.streamed.has(node.id)) return segments;
        const first = segments.findIndex((s) => "selector" in s);
        return segments.slice(first + 1);
      },
      runContainer: (containerId, subPool, index) => this.runGraph({ pool: subPool, container: { id: containerId, index } }),
      containerEvent: (phase, detail = {}) =>
        this.options.onEvent({ type: "container", kind: node.type === "loop" ? "loop" : "iteration", phase, execution, ...detail }),
    };
    return executor(ctx);
  }
}
