// What one render may use: a template comes from an imported app file, so it must not be able to
// hold the event loop or fill the heap. Jinja2's own SandboxedEnvironment caps range() the same way.

export const LIMITS = {
  /** Evaluation steps (expressions, statements, loop iterations) in one render. */
  steps: 2_000_000,
  /** Wall time of one render, checked every 16 steps. */
  timeMs: 3_000,
  /** Characters of any one string a template makes or reads. */
  stringChars: 4_000_000,
  /** Items of any one list. */
  listItems: 300_000,
  /** range() length. */
  range: 100_000,
};

export class TemplateError extends Error {}
