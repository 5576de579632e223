// One run of a workflow graph: a workflow app's run, a chatflow turn's, or a paused run coming back.
// Everything a run depends on is settled when its session is built (the three factories below, the
// only place a run is planned); `start` then runs it as a task, top to bottom: announce, record,
// execute the graph, then finish or pause, and persist.
import crypto from "node:crypto";
import type { Logger } from "pino";
import type { Workflow } from "../../generated/prisma/client.js";
import type { Viewer } from "../auth/passport.service.js";
import { threadOf, type ChatTurn, type HistoryTurn } from "../chat/turn.js";
import { AppError } from "../errors.js";
import type { FileValue } from "../files/file-refs.js";
import { FileContents } from "../files/file-contents.js";
import { filesAmong } from "../files/request-files.js";
import { DEFAULT_REMOTE_FILE_LIMITS, ModelImages, type RemoteFileLimits } from "../files/model-images.js";
import type { FileLinks } from "../files/signed-url.js";
import type { FileStorage } from "../ports/file-storage.js";
import type { DocumentText } from "../ports/document-text.js";
import type { Db } from "../ports/database.js";
import type { ModelProvider } from "../ports/model.js";
import type { OutboundFetch } from "../ports/outbound-fetch.js";
import type { Sandbox } from "../ports/sandbox.js";
import { HandingOver, type TaskContext, type TaskRunner } from "../tasks/task-runner.js";
import { ChatflowTurn } from "./chatflow-turn.js";
import { WorkflowEngine, type EngineEvent, type EngineState, type RunOutcome } from "./engine.js";
import type { WorkflowEnvelope, WorkflowEvent } from "./events.js";
import { WorkflowGraph } from "./graph.js";
import { createForm, HUMAN_INPUT, type HumanInputRequest } from "./human-input.service.js";
import { createExecutors } from "./nodes/index.js";
import { RunRecording, type ClaimedRun, type NewRun } from "./run-recording.js";
import { RunStream } from "./run-stream.js";
import { VariablePool } from "./variable-pool.js";
import type { SpeechProvider } from "../ports/speech.js";
import type { SpeechSettings } from "../speech/settings.js";
import { SpokenAnswer } from "../speech/spoken-answer.js";

export type WorkflowDeps = {
  db: Db;
  models: ModelProvider;
  tasks: TaskRunner;
  log: Logger;
  sandbox: () => Sandbox;
  fetch: OutboundFetch;
  storage: FileStorage;
  links: FileLinks;
  remoteFiles?: RemoteFileLimits;
  /** Text out of documents, for document-extractor nodes. */
  documents: DocumentText;
  /** Speaks a chatflow's streamed answer when the app auto-plays speech. */
  speech?: SpeechProvider;
};

export type StartedRun = { taskId: string; runId: string; result: Promise<RunOutcome> };

/** How a paused run's waiting node was answered: a person filled its form, or its timeout passed. */
export type FormAnswer =
  | { kind: "filled"; nodeId: string; nodeTitle: string; renderedContent: string; actionId: string; actionText: string; inputs: Record<string, unknown> }
  | { kind: "timeout"; nodeId: string; nodeTitle: string; expirationTime: Date };

const MAX_STEPS = 500;
const MAX_RUN_MS = 20 * 60 * 1000; // Dify's APP_MAX_EXECUTION_TIME

/** Everything a run is decided by, before its task starts. */
type RunPlan = {
  viewer: Viewer;
  workflow: Workflow;
  graph: WorkflowGraph;
  /** The run's row: a new one, or the paused one coming back (same id, its next task). */
  run: { id: string; taskId: string; createdAt: Date };
  /** The events' envelope, but for the ids above. */
  envelope: Omit<WorkflowEnvelope, "taskId" | "runId">;
  inputs: Record<string, unknown>;
  /** sys.*, as the run's first part started with them. */
  sys: Record<string, unknown>;
  pool: VariablePool;
  /** The conversation before this turn, for LLM memory (chatflows). */
  history: HistoryTurn[];
  chat: ChatflowTurn | null;
  /** The run's images, read before it started; any other is read when a node needs it (a resumed run's). */
  images: ModelImages;
  /**
   * Set when a run goes on from a saved state: a paused run coming back (with what answered its form),
   * or a run whose instance died, taken over from its last checkpoint (answer null).
   */
  resumed: { state: EngineState; answer: FormAnswer | null } | null;
  /** Speak the answer as it streams (a streamed chatflow turn of an app that auto-plays speech). */
  speech: SpeechSettings | null;
};

/** A run about to start for the first time, before its ids and pool are made. */
type FirstPart = Pick<RunPlan, "viewer" | "workflow" | "inputs" | "history" | "chat" | "images"> & {
  speech?: SpeechSettings | null;
  sys: Record<string, unknown>;
  conversationVariables: Record<string, unknown>;
  /** The message's creation (chatflows); a workflow run's events carry the run's. */
  createdAt?: Date;
};

export class RunSession {
  private readonly recording: RunRecording;
  private readonly envelope: WorkflowEnvelope;
  /** The answer being spoken while the run streams it, if it is. */
  private spoken: SpokenAnswer | null = null;

  private constructor(
    private readonly deps: WorkflowDeps,
    private readonly plan: RunPlan,
  ) {
    this.recording = new RunRecording(deps.db, { id: plan.run.id, createdBy: plan.viewer.endUser.id });
    this.envelope = { ...plan.envelope, taskId: plan.run.taskId, runId: plan.run.id };
  }

  /** A workflow app's run (POST /workflows/run), on validated inputs. */
  static forWorkflow(deps: WorkflowDeps, run: { viewer: Viewer; workflow: Workflow; inputs: Record<string, unknown>; files: FileValue[]; images?: ModelImages }): RunSession {
    const { files, images, ...rest } = run;
    return RunSession.firstPart(deps, { ...rest, images: images ?? RunSession.imagesOf(deps, run.viewer), sys: { files }, conversationVariables: {}, history: [], chat: null });
  }

  /** A chatflow turn's run: the turn's message gets the answer; the conversation's variables carry over. */
  static async forChatflowTurn(
    deps: WorkflowDeps,
    run: { viewer: Viewer; workflow: Workflow; turn: ChatTurn; files: FileValue[]; images?: ModelImages; speech?: SpeechSettings | null },
  ): Promise<RunSession> {
    const { viewer, workflow, turn, images } = run;
    const chat = new ChatflowTurn(deps.db, { owner: viewer, messageId: turn.messageId, conversationId: turn.conversationId, workflow });
    return RunSession.firstPart(deps, {
      viewer,
      workflow,
      inputs: turn.inputs,
      sys: { query: turn.query, files: run.files, conversation_id: turn.conversationId, dialogue_count: turn.dialogueCount },
      conversationVariables: await chat.variables(),
      history: turn.history,
      chat,
      images: images ?? RunSession.imagesOf(deps, viewer),
      createdAt: turn.createdAt,
      speech: run.speech ?? null,
    });
  }

  /**
   * A paused run coming back with its form's answer: the same run row, its state from the pause, its
   * events in the task log the pause opened. Null when it is not paused or another request took it.
   */
  static async resume(deps: WorkflowDeps, runId: string, answer: FormAnswer): Promise<RunSession | null> {
    const claimed = await RunRecording.claimPause(deps.db, runId);
    return claimed ? RunSession.goOn(deps, claimed, answer) : null;
  }

  /**
   * A running run whose instance died, continued here from its last finished node: the same run and
   * task (its log goes on). Null when it cannot be: not running, no checkpoint, or the checkpoint names
   * nodes its graph does not have.
   */
  static async takeOver(deps: WorkflowDeps, runId: string): Promise<RunSession | null> {
    const loaded = await RunRecording.loadRunning(deps.db, runId);
    if (!loaded) return null;
    const graph = WorkflowGraph.fromDsl(loaded.run.workflow.graph);
    const named = [...loaded.state.started, ...loaded.state.paused];
    if (named.some((id) => !graph.nodes.has(id))) return null;
    return RunSession.goOn(deps, loaded, null);
  }

  /** A run going on from a saved state: a pause answered, or a checkpoint taken over. */
  private static async goOn(deps: WorkflowDeps, claimed: ClaimedRun, answer: FormAnswer | null): Promise<RunSession> {
    const { run, viewer, state } = claimed;
    const chatflow = run.type === "chat";
    const message = chatflow && run.messageId ? await deps.db.message.findUnique({ where: { id: run.messageId } }) : null;
    // A chatflow's LLM memory after the pause: the thread before the message being answered.
    const history = message?.parentMessageId ? (await threadOf(deps.db, viewer, message.conversationId, message.parentMessageId)).history : [];
    const { workflow } = run;
    return new RunSession(deps, {
      viewer,
      workflow,
      graph: WorkflowGraph.fromDsl(workflow.graph),
      run: { id: run.id, taskId: run.taskId!, createdAt: run.createdAt },
      envelope: {
        workflowId: run.workflowId,
        mode: chatflow ? "advanced-chat" : "workflow",
        conversationId: run.conversationId,
        messageId: run.messageId,
        createdAt: message?.createdAt ?? run.createdAt,
      },
      inputs: run.inputs as Record<string, unknown>,
      sys: systemVariables((state.pool.sys ?? {}) as Record<string, unknown>, { viewer, workflow, runId: run.id }),
      pool: new VariablePool(state.pool),
      history,
      chat:
        chatflow && run.messageId && run.conversationId
          ? new ChatflowTurn(deps.db, { owner: viewer, messageId: run.messageId, conversationId: run.conversationId, workflow })
          : null,
      images: RunSession.imagesOf(deps, viewer),
      resumed: { state, answer },
      // A run going on later is followed, not the request that asked to hear it: it is not spoken.
      speech: null,
    });
  }


  /** A run's image reader: the files it reads are its end user's own. */
  static imagesOf(deps: WorkflowDeps, viewer: Viewer): ModelImages {
    return new ModelImages(new FileContents(deps, viewer), deps.remoteFiles);
  }

  private static firstPart(deps: WorkflowDeps, first: FirstPart): RunSession {
    const { viewer, workflow, conversationVariables, createdAt, speech, ...rest } = first;
    const graph = WorkflowGraph.fromDsl(workflow.graph);
    const start = graph.startOf(null);
    const run = { id: crypto.randomUUID(), taskId: crypto.randomUUID(), createdAt: new Date() };
    const sys = systemVariables(first.sys, { viewer, workflow, runId: run.id });
    const pool = new VariablePool({ sys, env: environment(workflow), conversation: conversationVariables, [start.id]: first.inputs });
    return new RunSession(deps, {
      ...rest,
      viewer,
      workflow,
      graph,
      run,
      envelope: {
        workflowId: workflow.id,
        mode: first.chat ? "advanced-chat" : "workflow",
        conversationId: first.chat?.conversationId ?? null,
        messageId: first.chat?.messageId ?? null,
        createdAt: createdAt ?? run.createdAt,
      },
      sys,
      pool,
      resumed: null,
      speech: speech ?? null,
    });
  }

  get runId(): string {
    return this.plan.run.id;
  }

  /**
   * Run it as a task whose events any reader can follow; `result` settles when the run ends or pauses.
   * `adopted`: a taken-over run's task, whose log goes on after `lastSeq`.
   */
  async start(adopted?: { lastSeq: number }): Promise<StartedRun> {
    const { viewer } = this.plan;
    let settle!: { resolve(o: RunOutcome): void; reject(e: unknown): void };
    const result = new Promise<RunOutcome>((resolve, reject) => (settle = { resolve, reject }));
    result.catch(() => {}); // a caller that only streams need not await it
    const started = await this.deps.tasks.start<WorkflowEvent>(
      { appId: viewer.app.id, endUserId: viewer.endUser.id, kind: this.envelope.mode, workflowRunId: this.runId, messageId: this.envelope.messageId },
      (task) =>
        this.run(task)
          // Whatever happened, the speech is over before the task's log is.
          .finally(() => (this.spoken?.cancel(), this.spoken?.end()))
          .then(settle.resolve, settle.reject),
      this.plan.run.taskId,
      adopted,
    );
    return { taskId: started.taskId, runId: this.runId, result };
  }

  /** The run, top to bottom. */
  private async run(task: TaskContext<WorkflowEvent>): Promise<RunOutcome> {
    const { plan } = this;
    const stream = new RunStream(task, this.envelope, plan.graph);
    const began = performance.now();
    if (plan.speech && this.deps.speech) {
      this.spoken = new SpokenAnswer(this.deps.speech, plan.speech, (audio, last) => stream.emit({ type: last ? "tts_message_end" : "tts_message", audio }), this.deps.log, task.signal);
    }
    // A run taken over after a crash goes on in the same log: its readers saw it start already.
    const takenOver = plan.resumed !== null && plan.resumed.answer === null;
    if (!takenOver) await stream.started({ inputs: plan.inputs, sys: plan.sys, resumed: plan.resumed !== null });
    // Embedded PGlite runs in this thread and never waits on I/O: let the first event reach the socket
    // before the run's database work starts (the run's row too: the first event waits behind no write).
    await new Promise((resolve) => setImmediate(resolve));
    if (plan.resumed?.answer) await this.takeAnswer(plan.resumed.answer, stream);
    else if (!plan.resumed) await this.recording.create(this.newRun());
    const outcome = await this.executeGraph(stream);
    if (task.signal.reason instanceof HandingOver) {
      // This server is shutting down: the run stays running, its last checkpoint for whoever takes it over.
      this.spoken?.cancel();
      await this.spoken?.end();
      await this.recording.settled();
      task.handOver();
      throw new AppError("task_lost", 503, "This server is shutting down; another instance continues the run.");
    }
    const elapsedTime = (performance.now() - began) / 1000;
    return outcome.status === "paused" ? this.pause(outcome, { elapsedTime, stream }) : this.finish(outcome, { elapsedTime, stream });
  }

  /** The row a run's first part writes. */
  private newRun(): NewRun {
    const { plan, envelope } = this;
    const type = envelope.mode === "workflow" ? "workflow" : "chat";
    const start = plan.graph.startOf(null).id;
    const checkpoint = { taken: [], started: [start], paused: [start], pool: plan.pool.snapshot(), totals: { steps: 0, tokens: 0, exceptions: 0, answer: "" }, index: 0, streamed: [] };
    return { ...plan.run, viewer: plan.viewer, workflow: plan.workflow, type, inputs: plan.inputs, conversationId: envelope.conversationId, messageId: envelope.messageId, checkpoint };
  }

  /** The form's answer (or its timeout) goes where the waiting node looks for it when it runs again. */
  private async takeAnswer(answer: FormAnswer, stream: RunStream): Promise<void> {
    const { nodeId, nodeTitle } = answer;
    if (answer.kind === "filled") {
      this.plan.pool.setOne(HUMAN_INPUT, nodeId, { action: answer.actionId, inputs: answer.inputs });
      const { renderedContent, actionId, actionText } = answer;
      await stream.emit({ type: "human_input_form_filled", nodeId, nodeTitle, renderedContent, actionId, actionText });
    } else {
      this.plan.pool.setOne(HUMAN_INPUT, nodeId, { action: "__timeout", inputs: {} });
      await stream.emit({ type: "human_input_form_timeout", nodeId, nodeTitle, expirationTime: answer.expirationTime });
    }
  }

  /** The graph on the engine, from the start or from where the pause left it; every node recorded and announced. */
  private async executeGraph(stream: RunStream): Promise<RunOutcome> {
    const { deps, plan } = this;
    const requestInput = (request: HumanInputRequest) => this.requestInput(request, stream);
    const engine = new WorkflowEngine(plan.graph, {
      executors: createExecutors({ models: deps.models, history: plan.history, images: plan.images, sandbox: deps.sandbox, fetch: deps.fetch, requestInput,
        documents: deps.documents, files: plan.images.contents, fetchTimeoutMs: (deps.remoteFiles ?? DEFAULT_REMOTE_FILE_LIMITS).timeoutMs }),
      onEvent: async (event: EngineEvent) => {
        if (event.type === "node_finished") this.recording.nodeFinished(event);
        // Speech runs beside the text: `grow` never waits.
        if (event.type === "text") this.spoken?.grow(event.text);
        await stream.engineEvent(event);
      },
      signal: stream.signal,
      onCheckpoint: (state) => this.recording.checkpoint(state),
      maxSteps: MAX_STEPS,
      deadline: Date.now() + MAX_RUN_MS,
      streamTo: this.envelope.mode === "workflow" ? "end" : "answer",
    });
    try {
      return await engine.run(plan.pool, plan.resumed?.state);
    } catch (err) {
      deps.log.error({ err, runId: this.runId }, "workflow engine failed");
      return { status: "failed", outputs: {}, error: (err as Error).message, steps: 0, tokens: 0, exceptions: 0, answer: "", ended: false };
    }
  }

  /** A human-input node reached: its form is stored (the token is its credential) and announced. */
  private async requestInput(request: HumanInputRequest, stream: RunStream) {
    const form = await createForm(this.deps.db, { appId: this.plan.viewer.app.id, runId: this.runId, request });
    await stream.emit({ type: "human_input_required", ...form.event });
    return form.event;
  }

  /**
   * A run waiting for a person: recorded with its state, so that whichever instance receives the answer
   * resumes it; the next part's task log is opened now, so a reader can wait on it before the answer.
   */
  private async pause(outcome: RunOutcome, part: { elapsedTime: number; stream: RunStream }): Promise<RunOutcome> {
    const { viewer } = this.plan;
    const nextTaskId = crypto.randomUUID();
    await this.recording.pause(outcome, { elapsedTime: part.elapsedTime, taskId: nextTaskId });
    await this.deps.tasks.store.start({ taskId: nextTaskId, appId: viewer.app.id, endUserId: viewer.endUser.id, kind: this.envelope.mode });
    await this.plan.chat?.save(outcome, this.plan.pool, this.runId);
    await this.spoken?.end(); // what was answered before the pause is spoken before it
    await part.stream.paused(outcome, { elapsedTime: part.elapsedTime, runCreatedAt: this.plan.run.createdAt });
    return outcome;
  }

  /** The files the run's answer nodes showed, in graph order (Dify records them as the answer's files). */
  private answerFiles(): FileValue[] {
    const answers = [...this.plan.graph.nodes.values()].filter((n) => n.data.type === "answer");
    return filesAmong(answers.map((n) => this.plan.pool.get([n.id, "files"])));
  }

  /** A run that ended (succeeded, failed or stopped): recorded, the chatflow's answer saved, then announced. */
  private async finish(outcome: RunOutcome, part: { elapsedTime: number; stream: RunStream }): Promise<RunOutcome> {
    const { viewer, run } = this.plan;
    const { stream, elapsedTime } = part;
    const finishedAt = new Date();
    await this.recording.finish(outcome, { elapsedTime, finishedAt });
    const answered = await this.plan.chat?.save(outcome, this.plan.pool, this.runId, this.answerFiles());
    // Dify's order for chatflows: message_end, then workflow_finished.
    if (answered) await stream.emit({ type: "message_end", usage: answered.usage, files: answered.files });
    // The rest of the speech, then tts_message_end: after message_end as in Dify, but before
    // workflow_finished, the terminal event a relay (Dify's, and its clients) may stop at.
    if (outcome.status !== "succeeded" && outcome.status !== "partial-succeeded") this.spoken?.cancel();
    await this.spoken?.end();
    const createdBy = { id: viewer.endUser.id, user: viewer.endUser.sessionId };
    await stream.finished(outcome, { elapsedTime, finishedAt, runCreatedAt: run.createdAt, createdBy });
    // Unlike Dify, whose relay drops it, the error event after a failed run is delivered.
    if (outcome.status === "failed") {
      const message = `Run failed: ${outcome.error}`;
      await stream.emit({ type: "error", code: "invalid_param", message, status: 400 });
      throw new AppError("invalid_param", 400, message);
    }
    return outcome;
  }
}

/** sys.* of a run: what its kind sets (files, query, ...) and the ids every run has. */
function systemVariables(given: Record<string, unknown>, run: { viewer: Viewer; workflow: Workflow; runId: string }): Record<string, unknown> {
  return { ...given, user_id: run.viewer.endUser.sessionId, app_id: run.viewer.app.id, workflow_id: run.workflow.id, workflow_run_id: run.runId };
}

/** The env variables of the workflow, by name. */
function environment(workflow: Workflow): Record<string, unknown> {
  return Object.fromEntries(((workflow.environmentVariables ?? []) as any[]).map((v) => [v.name, v.value]));
}
