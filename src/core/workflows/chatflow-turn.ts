// What a chatflow turn adds to its workflow run: the conversation variables it starts from, and, when
// the run ends or pauses, the answer saved on the turn's message and the variables kept for the next.
import type { Prisma, Workflow } from "../../generated/prisma/client.js";
import { estimateTokens } from "../chat/model-messages.js";
import { storedMetadata } from "../messages/message.service.js";
import type { Db } from "../ports/database.js";
import type { Usage } from "../ports/model.js";
import type { RunOutcome } from "./engine.js";
import type { VariablePool } from "./variable-pool.js";
import type { FileValue } from "../files/file-refs.js";
import { fileValueRecord, messageFileRow, type MessageFileRecord } from "../messages/message-files.js";
import type { Viewer } from "../auth/passport.service.js";

/** The answer of a chatflow turn: what its answer nodes sent, whether the run succeeded or not. */
export type ChatflowAnswer = { answer: string; usage: Usage };

export const chatflowAnswer = (outcome: RunOutcome): ChatflowAnswer => ({
  answer: outcome.answer,
  usage: { promptTokens: 0, completionTokens: estimateTokens(outcome.answer), totalTokens: outcome.tokens },
});

type Declared = { id: string; name: string; value?: unknown; value_type?: string };

export class ChatflowTurn {
  private readonly declared: Declared[];

  constructor(
    private readonly db: Db,
    private readonly turn: { owner: Viewer; messageId: string; conversationId: string; workflow: Workflow },
  ) {
    this.declared = (turn.workflow.conversationVariables ?? []) as Declared[];
  }

  get messageId(): string {
    return this.turn.messageId;
  }

  get conversationId(): string {
    return this.turn.conversationId;
  }

  /** Conversation variables: the DSL's defaults, overlaid with what earlier turns stored. */
  async variables(): Promise<Record<string, unknown>> {
    const values: Record<string, unknown> = {};
    const byId = new Map<string, string>();
    for (const v of this.declared) {
      values[v.name] = v.value;
      byId.set(v.id, v.name);
    }
    const stored = await this.db.workflowConversationVariable.findMany({ where: { conversationId: this.conversationId } });
    for (const row of stored) {
      const name = byId.get(row.id);
      if (name) values[name] = (row.data as { value?: unknown })?.value;
    }
    return values;
  }

  /**
   * The run ended or paused: keep its conversation variables and save its answer on the message, with
   * the files its answer nodes showed (the assistant's message files, once the turn is over). Returns the
   * usage and those files when the turn is over (it then has its message_end); null while it waits or
   * after a failure.
   */
  async save(outcome: RunOutcome, pool: VariablePool, runId: string, answerFiles: FileValue[] = []): Promise<{ usage: Usage; files: MessageFileRecord[] } | null> {
    await this.saveVariables(pool.ownerValues("conversation") ?? {});
    const { usage } = chatflowAnswer(outcome);
    const status = outcome.status === "failed" ? "error" : outcome.status === "paused" ? "paused" : "normal";
    await this.db.message.update({
      where: { id: this.messageId },
      data: {
        answer: outcome.answer,
        answerTokens: usage.completionTokens,
        workflowRunId: runId,
        status,
        error: status === "error" ? outcome.error : null,
        messageMetadata: storedMetadata(usage, 0),
      },
    });
    if (status !== "normal") return null;
    const rows = answerFiles.length
      ? await this.db.messageFile.createManyAndReturn({
          data: answerFiles.map((f) => ({ ...messageFileRow(f, this.turn.owner, new Date(), "assistant"), messageId: this.messageId })),
          select: { id: true },
        })
      : [];
    return { usage, files: rows.map((row, i) => fileValueRecord(row.id, answerFiles[i], "assistant")) };
  }

  private async saveVariables(values: Record<string, unknown>) {
    for (const v of this.declared) {
      if (!(v.name in values)) continue;
      const data = { ...v, value: values[v.name] } as Prisma.InputJsonValue;
      await this.db.workflowConversationVariable.upsert({
        where: { id_conversationId: { id: v.id, conversationId: this.conversationId } },
        create: { id: v.id, conversationId: this.conversationId, appId: this.turn.owner.app.id, data },
        update: { data },
      });
    }
  }
}
