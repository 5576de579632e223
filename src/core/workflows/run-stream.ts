// What a run tells its readers: domain events, each with the run's envelope, appended to the task's log
// in order. The engine's events become Dify's shapes here (containers announce themselves, text goes
// out as text_chunk in workflow apps and as message deltas in chatflows).
import type { TaskContext } from "../tasks/task-runner.js";
import type { EngineEvent, NodeExecution, RunOutcome } from "./engine.js";
import type { NodeInfo, WorkflowEnvelope, WorkflowEvent } from "./events.js";
import type { WorkflowGraph } from "./graph.js";

type DistributiveOmit<T, K extends keyof any> = T extends unknown ? Omit<T, K> : never;
/** An event as the run emits it: the stream adds the envelope. */
export type RunEvent = DistributiveOmit<WorkflowEvent, keyof WorkflowEnvelope>;

export class RunStream {
  constructor(
    private readonly task: TaskContext<WorkflowEvent>,
    readonly envelope: WorkflowEnvelope,
    private readonly graph: WorkflowGraph,
  ) {}

  /** Aborts when the run's owner stops it. */
  get signal(): AbortSignal {
    return this.task.signal;
  }

  /** Append an event to the run's log; resolves to its sequence number. */
  emit(event: RunEvent): Promise<number> {
    return this.task.emit({ ...this.envelope, ...event } as WorkflowEvent);
  }

  /** workflow_started: the inputs, with the sys values as `sys.*` beside them. */
  started(run: { inputs: Record<string, unknown>; sys: Record<string, unknown>; resumed: boolean }): Promise<number> {
    const sys = Object.fromEntries(Object.entries(run.sys).map(([k, v]) => [`sys.${k}`, v]));
    return this.emit({ type: "workflow_started", inputs: { ...run.inputs, ...sys }, reason: run.resumed ? "resumption" : "initial" });
  }

  /** An engine event, as the domain event readers get (containers' own node_started has none). */
  async engineEvent(event: EngineEvent): Promise<void> {
    const out = this.translate(event);
    if (out) await this.emit(out);
  }

  paused(outcome: RunOutcome, time: { elapsedTime: number; runCreatedAt: Date }): Promise<number> {
    return this.emit({
      type: "workflow_paused",
      pausedNodes: outcome.state?.paused ?? [],
      reasons: outcome.pauseReasons ?? [],
      outputs: {},
      elapsedTime: time.elapsedTime,
      totalTokens: outcome.tokens,
      totalSteps: outcome.steps,
      at: time.runCreatedAt,
    });
  }

  finished(outcome: RunOutcome, run: { elapsedTime: number; finishedAt: Date; runCreatedAt: Date; createdBy: { id: string; user: string } }) {
    return this.emit({
      type: "workflow_finished",
      status: outcome.status as "succeeded",
      outputs: outcome.outputs,
      error: outcome.error,
      elapsedTime: run.elapsedTime,
      totalTokens: outcome.tokens,
      totalSteps: outcome.steps,
      exceptionsCount: outcome.exceptions,
      createdBy: run.createdBy,
      runCreatedAt: run.runCreatedAt,
      finishedAt: run.finishedAt,
    });
  }

  private translate(event: EngineEvent): RunEvent | null {
    switch (event.type) {
      case "node_started":
        // Dify announces containers with iteration_started / loop_started instead.
        if (event.execution.node.type === "iteration" || event.execution.node.type === "loop") return null;
        return { type: "node_started", node: this.node(event.execution), inputs: null };
      case "container":
        return {
          type: "container",
          kind: event.kind,
          phase: event.phase,
          node: this.node(event.execution),
          index: event.index ?? null,
          inputs: event.inputs ?? null,
          outputs: event.outputs ?? null,
          steps: event.steps ?? 0,
          elapsedTime: (Date.now() - event.execution.startedAt.getTime()) / 1000,
          at: new Date(),
        };
      case "node_retry":
        return { type: "node_retry", node: this.node(event.execution), error: event.error, retryIndex: event.retryIndex };
      case "text":
        return this.envelope.mode === "workflow"
          ? { type: "text_chunk", text: event.text, selector: event.selector }
          : { type: "message", answer: event.text, selector: event.selector };
      case "node_finished":
        return {
          type: "node_finished",
          node: this.node(event.execution),
          status: event.status,
          error: event.error,
          inputs: event.result?.inputs ?? null,
          processData: event.result?.processData ?? null,
          outputs: event.result?.outputs ?? null,
          elapsedTime: (event.finishedAt.getTime() - event.execution.startedAt.getTime()) / 1000,
          totalTokens: event.result?.usage?.totalTokens ?? 0,
          finishedAt: event.finishedAt,
        };
    }
  }

  private node(e: NodeExecution): NodeInfo {
    const containerType = e.container ? this.graph.nodes.get(e.container.id)?.type : undefined;
    return {
      executionId: e.id,
      nodeId: e.node.id,
      nodeType: e.node.type,
      title: e.node.title,
      index: e.index,
      predecessorNodeId: e.predecessorId,
      createdAt: e.startedAt,
      iterationId: containerType === "iteration" ? e.container!.id : null,
      loopId: containerType === "loop" ? e.container!.id : null,
    };
  }
}
