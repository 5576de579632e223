// GraphQL answers global ids ("Type:uuid", base64); the database keys rows by the UUID inside.
export const localId = (globalId: string) => Buffer.from(globalId, "base64").toString("utf8").replace(/^[A-Za-z]+:/, "");
