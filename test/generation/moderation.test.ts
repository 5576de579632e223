// Keyword moderation: Dify's sensitive_word_avoidance of type "keywords".
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { parseDsl } from "../../src/core/apps/dsl.js";
import { DEFAULT_PRESET_RESPONSE, keywordModeration } from "../../src/core/generation/moderation.js";

const { dsl } = parseDsl(fs.readFileSync(new URL("../fixtures/apps/chat-travel-planner.yml", import.meta.url), "utf8"));
// keywords "forbidden"; inputs answer "I cannot help with that.", outputs "Let us talk about something else."
const fixtureConfig = dsl.model_config?.sensitive_word_avoidance;

const config = (overrides: { keywords?: unknown; inputs?: unknown; outputs?: unknown } = {}) => ({
  enabled: true,
  type: "keywords",
  configs: {
    keywords: "keywords" in overrides ? overrides.keywords : "casino\nweapons\nDark Web",
    inputs_config: "inputs" in overrides ? overrides.inputs : { enabled: true, preset_response: "Inputs refused." },
    outputs_config: "outputs" in overrides ? overrides.outputs : { enabled: true, preset_response: "Output withheld." },
  },
});

const inputs = { traveller: "Ana", destination: "Kyoto", days: 5, notes: "", budget: true };

describe("keywordModeration: when it applies", () => {
  it.each([
    ["absent", undefined],
    ["null", null],
    ["disabled", { ...config(), enabled: false }],
    ["enabled as a string", { ...config(), enabled: "true" }],
    ["of type openai_moderation", { ...config(), type: "openai_moderation" }],
    ["of type api", { enabled: true, type: "api", config: { api_based_extension_id: "x" } }],
    ["without keywords", config({ keywords: "" })],
    ["with only blank keyword lines", config({ keywords: "\n  \n\t\n" })],
    ["with both sides disabled", config({ inputs: { enabled: false, preset_response: "a" }, outputs: { enabled: false } })],
    ["not an object", "keywords"],
  ])("is null when the config is %s", (_, value) => {
    expect(keywordModeration(value)).toBeNull();
  });

  it("applies the fixture's config", () => {
    const mod = keywordModeration(fixtureConfig);
    expect(mod).not.toBeNull();
    expect(mod!.checkInputs(inputs, "Is anything forbidden in Kyoto?")).toBe("I cannot help with that.");
    expect(mod!.checkInputs(inputs, "What should I pack?")).toBeNull();
    expect(mod!.checkOutput("Some places are FORBIDDEN to visitors.")).toBe("Let us talk about something else.");
    expect(mod!.checkOutput("Pack light.")).toBeNull();
  });
});

describe("checkInputs", () => {
  const mod = keywordModeration(config())!;

  it("flags a keyword in the query, ignoring case", () => {
    expect(mod.checkInputs(inputs, "Any CASINO nearby?")).toBe("Inputs refused.");
    expect(mod.checkInputs(inputs, "how do I reach the dark web")).toBe("Inputs refused.");
  });

  it("matches substrings, as Dify does", () => {
    expect(mod.checkInputs(inputs, "casinos in Macau")).toBe("Inputs refused.");
  });

  it("flags a keyword in any input value", () => {
    expect(mod.checkInputs({ ...inputs, notes: "Visit a Casino" }, "Plan it")).toBe("Inputs refused.");
    expect(mod.checkInputs({ ...inputs, traveller: "weapons dealer" }, "")).toBe("Inputs refused.");
  });

  it("looks inside objects and arrays through their JSON", () => {
    expect(mod.checkInputs({ file: [{ name: "Weapons.pdf" }] }, "summarise")).toBe("Inputs refused.");
    expect(mod.checkInputs({ payload: { tags: ["travel", "food"] } }, "summarise")).toBeNull();
  });

  it("reads numbers and booleans through String", () => {
    const numeric = keywordModeration(config({ keywords: "42\ntrue" }))!;
    expect(numeric.checkInputs({ days: 42 }, "")).toBe("Inputs refused.");
    expect(numeric.checkInputs({ budget: true }, "")).toBe("Inputs refused.");
    expect(numeric.checkInputs({ days: 4, budget: false }, "")).toBeNull();
  });

  it("does not read null inputs as the text \"null\"", () => {
    const nullWord = keywordModeration(config({ keywords: "null" }))!;
    expect(nullWord.checkInputs({ notes: null, days: undefined }, "hello")).toBeNull();
  });

  it("does not flag clean inputs and query", () => {
    expect(mod.checkInputs(inputs, "What should I pack for Kyoto?")).toBeNull();
  });

  it("never flags when the inputs side is disabled, while outputs still are", () => {
    const outputsOnly = keywordModeration(config({ inputs: { enabled: false, preset_response: "Inputs refused." } }))!;
    expect(outputsOnly.checkInputs({ notes: "casino" }, "casino")).toBeNull();
    expect(outputsOnly.checkOutput("casino")).toBe("Output withheld.");
  });
});

describe("checkOutput", () => {
  const mod = keywordModeration(config())!;

  it("flags a keyword in the answer, ignoring case", () => {
    expect(mod.checkOutput("Browsing the DARK WEB is risky")).toBe("Output withheld.");
    expect(mod.checkOutput("The nearest Casino is 2 km away")).toBe("Output withheld.");
  });

  it("does not flag a clean answer", () => {
    expect(mod.checkOutput("Kyoto is lovely in autumn.")).toBeNull();
  });

  it("never flags when the outputs side is disabled, while inputs still are", () => {
    const inputsOnly = keywordModeration(config({ outputs: { enabled: false, preset_response: "Output withheld." } }))!;
    expect(inputsOnly.checkOutput("casino")).toBeNull();
    expect(inputsOnly.checkInputs({}, "casino")).toBe("Inputs refused.");
  });

  it("treats a missing outputs_config as disabled", () => {
    const inputsOnly = keywordModeration(config({ outputs: undefined }))!;
    expect(inputsOnly.checkOutput("casino")).toBeNull();
  });
});

describe("keywords", () => {
  it("are split on newlines only, not commas", () => {
    const mod = keywordModeration(config({ keywords: "casino, weapons" }))!;
    expect(mod.checkOutput("casino")).toBeNull();
    expect(mod.checkOutput("weapons")).toBeNull();
    expect(mod.checkOutput("the casino, weapons and more")).toBe("Output withheld.");
  });

  it("ignore blank lines and accept Windows line endings", () => {
    const mod = keywordModeration(config({ keywords: "\r\ncasino\r\n\r\n   \r\nweapons\r\n" }))!;
    expect(mod.checkOutput("a casino")).toBe("Output withheld.");
    expect(mod.checkOutput("weapons")).toBe("Output withheld.");
    // A whitespace-only line is not a keyword that matches every space.
    expect(mod.checkOutput("a quiet temple")).toBeNull();
  });

  it("keep their inner spaces", () => {
    const mod = keywordModeration(config({ keywords: "dark web" }))!;
    expect(mod.checkOutput("the Dark Web")).toBe("Output withheld.");
    expect(mod.checkOutput("a darkweb forum")).toBeNull();
  });
});

describe("preset responses", () => {
  it("fall back to a default when an enabled side has none", () => {
    const mod = keywordModeration(config({ inputs: { enabled: true }, outputs: { enabled: true, preset_response: "  " } }))!;
    expect(mod.checkInputs({}, "casino")).toBe(DEFAULT_PRESET_RESPONSE);
    expect(mod.checkOutput("casino")).toBe(DEFAULT_PRESET_RESPONSE);
    expect(DEFAULT_PRESET_RESPONSE.length).toBeGreaterThan(0);
  });
});
