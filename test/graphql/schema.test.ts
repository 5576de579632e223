import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { printedSchema } from "../../src/graphql/index.js";

describe("schema/schema.graphql", () => {
  it("is the schema the code builds (run `npm run schema` after changing it)", () => {
    const committed = fs.readFileSync(new URL("../../schema/schema.graphql", import.meta.url), "utf8");
    expect(committed).toBe(printedSchema());
  });
});
