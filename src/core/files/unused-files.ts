// Uploads nobody used: a file uploaded for a message that was never sent is removed, row and bytes,
// once older than the retention period. "Used" is what the row says (`used`, set when a message or a
// run takes the file) or a message_files row naming it.
//
// Several instances may sweep at once: each batch is claimed by one DELETE whose candidates are locked
// FOR UPDATE SKIP LOCKED, so two sweeps take different rows and each file is removed once. The objects
// go inside the same transaction: when storage fails, the rows come back for the next sweep rather
// than leaving bytes nothing points at. Whoever marks a file used must do it with a statement that
// fails when the row is gone (an UPDATE that checks its count), in the transaction that relies on it:
// the sweep's lock then makes one of the two wait for the other, and never both succeed.
import type { Logger } from "pino";
import type { Db } from "../ports/database.js";
import type { FileStorage } from "../ports/file-storage.js";

type Deps = { db: Db; storage: FileStorage; log: Logger };

export type UnusedFilesSweep = {
  /** Files unused for longer than this are removed. */
  retentionMs: number;
  /** The sweep's clock (tests move it instead of waiting). */
  now?: Date;
  /** Rows claimed per transaction, so that no sweep holds many locks (or, embedded, the database) for long. */
  batchSize?: number;
};

/** Remove the unused uploads older than the retention period; resolves to how many this sweep removed. */
export async function removeUnusedFiles(deps: Deps, { retentionMs, now = new Date(), batchSize = 100 }: UnusedFilesSweep): Promise<number> {
  // A Date parameter, not the database's now(): Prisma writes created_at from this process's clock, in
  // the same form, so the two agree whatever the database session's time zone.
  const cutoff = new Date(now.getTime() - retentionMs);
  let removed = 0;
  for (;;) {
    const batch = await deps.db.$transaction(
      async (tx) => {
        const rows = await tx.$queryRaw<{ id: string; key: string }[]>`
          DELETE FROM upload_files WHERE id IN (
            SELECT f.id FROM upload_files f
            WHERE f.used = false AND f.created_at < ${cutoff}
              AND NOT EXISTS (SELECT 1 FROM message_files m WHERE m.upload_file_id = f.id)
            ORDER BY f.created_at
            LIMIT ${batchSize}
            FOR UPDATE SKIP LOCKED)
          RETURNING id, key`;
        await Promise.all(rows.map((row) => deps.storage.delete(row.key)));
        return rows.length;
      },
      // Storage round trips happen inside: more than Prisma's default 5 s for a slow bucket.
      { timeout: 60_000 },
    );
    removed += batch;
    if (batch < batchSize) break;
  }
  if (removed) deps.log.info({ removed, olderThan: cutoff.toISOString() }, "removed unused uploaded files");
  return removed;
}
