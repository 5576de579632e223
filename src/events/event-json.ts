// Events cross instances as JSON, and domain events carry Dates: JSON would turn them into strings.
// Dates are written as {"$date": <epoch ms>} and read back as Dates, so a reader on another instance
// gets the event as it was emitted.

export function eventToJson(event: unknown): string {
  return JSON.stringify(event, function (this: Record<string, unknown>, key, value) {
    // JSON.stringify has already called Date#toJSON on `value`; the holder still has the Date.
    const original = this[key];
    return original instanceof Date ? { $date: original.getTime() } : value;
  });
}

export function eventFromJson(text: string): unknown {
  return JSON.parse(text, (_key, value) =>
    value && typeof value === "object" && typeof value.$date === "number" && Object.keys(value).length === 1 ? new Date(value.$date) : value,
  );
}
