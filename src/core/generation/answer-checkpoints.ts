// Generations save their answer as it grows, so that if their instance dies the instance taking their
// tasks over finds all but the last moment of it. One UPDATE a second for every generation running
// here, not one per generation: 2,000 streams cost one statement a second, not 2,000.
import { Prisma } from "../../generated/prisma/client.js";
import type { Db } from "../ports/database.js";

export class AnswerCheckpoints {
  private readonly dirty = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly intervalMs = 1000,
  ) {}

  /** The answer of `messageId` so far; saved with the next flush. */
  grew(messageId: string, answer: string): void {
    this.dirty.set(messageId, answer);
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** The generation ends (and writes its answer whole): nothing of it is saved from here on. */
  async ended(messageId: string): Promise<void> {
    this.dirty.delete(messageId);
    await this.flushing;
  }

  private flush(): Promise<void> {
    this.timer = null;
    const batch = [...this.dirty];
    this.dirty.clear();
    if (!batch.length) return this.flushing;
    const rows = Prisma.join(batch.map(([id, answer]) => Prisma.sql`(${id}::uuid, ${answer})`));
    // A message whose end is written (its latency is set then) keeps its final answer.
    this.flushing = this.db.$executeRaw`UPDATE messages AS m SET answer = v.answer FROM (VALUES ${rows}) AS v(id, answer)
        WHERE m.id = v.id AND m.provider_response_latency = 0`.then(
      () => undefined,
      () => undefined, // a checkpoint that fails is only a later one's loss
    );
    return this.flushing;
  }
}
