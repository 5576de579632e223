// Dify answers times as integer Unix seconds (behaviour.md 1.5).
export const unixSeconds = (d: Date) => Math.floor(d.getTime() / 1000);
