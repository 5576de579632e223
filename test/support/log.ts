// A pino logger that keeps what it logs, for tests that check what a server says and at which level.
import pino, { type Logger } from "pino";

export type LogLine = { level: number; msg: string; [key: string]: unknown };

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

export function capturingLogger(level: pino.LevelWithSilent = "debug"): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}
