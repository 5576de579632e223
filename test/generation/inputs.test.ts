// validateInputs: Dify's _prepare_user_inputs / _validate_inputs over real user input forms.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { parseDsl, userInputForm } from "../../src/core/apps/dsl.js";
import { AppError } from "../../src/core/errors.js";
import { validateInputs } from "../../src/core/apps/inputs.js";

function formOf(fixture: string): Record<string, unknown>[] {
  const { dsl } = parseDsl(fs.readFileSync(new URL(`../fixtures/${fixture}`, import.meta.url), "utf8"));
  return userInputForm(dsl.app.mode, dsl.model_config, dsl.workflow?.graph);
}

function refusal(form: Record<string, unknown>[], inputs: unknown): AppError {
  try {
    validateInputs(form, inputs);
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected validateInputs to refuse the inputs");
}

function expectRefusal(form: Record<string, unknown>[], inputs: unknown, message: string, params: string) {
  const err = refusal(form, inputs);
  expect({ code: err.code, status: err.status, message: err.message, params: err.params }).toEqual({
    code: "invalid_param",
    status: 400,
    message,
    params,
  });
}

// model_config.user_input_form of a chat app: text-input, select, number, paragraph, checkbox.
const travel = formOf("apps/chat-travel-planner.yml");
// A workflow start node: paragraphs, text-inputs with max_length, a required number.
const exam = formOf("dsl-corpus/workflow-exam-question-generator.yml");
// A workflow start node with a required file-list and a select.
const chart = formOf("dsl-corpus/workflow-chart-from-spreadsheet.yml");
// A workflow start node with two required single files.
const files = formOf("dsl-corpus/workflow-file-inputs-llm-tongyi.yml");

const validTravel = { traveller: "Ana", destination: "Kyoto", days: 5, notes: "Vegetarian", budget: true };

// Start-node variables in the shape Dify exports them, for types the corpus lacks.
const startVar = (spec: Record<string, unknown>) => ({ [String(spec.type)]: { label: spec.variable, options: [], ...spec } });

describe("the inputs object", () => {
  it.each([null, undefined, "traveller=Ana", 42, ["Ana"]])("refuses %j as inputs", (inputs) => {
    expectRefusal(travel, inputs, "inputs must be an object", "inputs");
  });

  it("keeps every declared variable and drops unknown keys silently", () => {
    const out = validateInputs(travel, { ...validTravel, sys_user_id: "x", extra: { a: 1 } });
    expect(out).toEqual(validTravel);
    expect(Object.keys(out)).toEqual(["traveller", "destination", "days", "notes", "budget"]);
  });

  it("fills absent optional variables with their DSL default, or null when the default is blank", () => {
    // days has default "3" (coerced like a caller's value), budget default false, notes default "".
    expect(validateInputs(travel, { traveller: "Ana", destination: "Lisbon" })).toEqual({
      traveller: "Ana",
      destination: "Lisbon",
      days: 3,
      notes: null,
      budget: false,
    });
  });

  it("gives null to absent optional variables that declare no default", () => {
    const out = validateInputs(exam, { grade: "7", subject: "maths", types: "mcq", count: 10, difficulty: "easy" });
    expect(out).toEqual({
      reference: null,
      grade: "7",
      subject: "maths",
      types: "mcq",
      count: 10,
      topics: null,
      difficulty: "easy",
      comments: null,
    });
  });

  it("treats null and an empty string like an absent optional variable", () => {
    const out = validateInputs(travel, { ...validTravel, days: null, notes: "" });
    expect(out.days).toBe(3);
    expect(out.notes).toBeNull();
  });

  it("uses a default the form's own rules reject as written rather than failing the caller", () => {
    const form = [startVar({ type: "number", variable: "n", required: false, default: "many" })];
    expect(validateInputs(form, {})).toEqual({ n: "many" });
  });

  it("skips external_data_tool entries, which the server fills", () => {
    const form = [
      { "external_data_tool": { variable: "weather", label: "Weather", type: "api", config: {} } },
      { "text-input": { variable: "city", label: "City", required: true } },
    ];
    expect(validateInputs(form, { city: "Quito", weather: "sunny" })).toEqual({ city: "Quito" });
  });

  it("answers an empty object for an empty form", () => {
    expect(validateInputs([], { anything: 1 })).toEqual({});
  });
});

describe("required variables", () => {
  it.each([
    ["absent", {}],
    ["null", { traveller: null }],
    ["an empty string", { traveller: "" }],
  ])("refuses a required text-input that is %s", (_, partial) => {
    const { traveller: _t, ...rest } = validTravel;
    expectRefusal(travel, { ...rest, ...partial }, "traveller is required in input form", "traveller");
  });

  it("names the first missing variable in form order", () => {
    expectRefusal(travel, {}, "traveller is required in input form", "traveller");
    expectRefusal(travel, { traveller: "Ana" }, "destination is required in input form", "destination");
  });

  it("does not fall back to a default for a required variable", () => {
    const form = [startVar({ type: "text-input", variable: "tone", required: true, default: "friendly" })];
    expectRefusal(form, {}, "tone is required in input form", "tone");
  });

  it("counts a blank string as missing for a required number", () => {
    expectRefusal(exam, { grade: "7", subject: "s", types: "t", count: "   ", difficulty: "d" }, "count is required in input form", "count");
  });

  it("accepts false for a required checkbox", () => {
    const form = [startVar({ type: "checkbox", variable: "agree", required: true })];
    expect(validateInputs(form, { agree: false })).toEqual({ agree: false });
  });

  it("refuses a required file that is missing", () => {
    expectRefusal(files, { doc: { transfer_method: "local_file", upload_file_id: "f1", type: "document" } }, "picture is required in input form", "picture");
  });
});

describe("string variables (text-input, select, paragraph)", () => {
  it.each([
    ["text-input", "traveller", 42],
    ["select", "destination", ["Kyoto"]],
    ["paragraph", "notes", { text: "hi" }],
  ])("refuses a non-string %s", (type, variable, value) => {
    expectRefusal(travel, { ...validTravel, [variable]: value }, `(type '${type}') ${variable} in input form must be a string`, variable);
  });

  it("refuses a select value outside its options, listing them as Dify does", () => {
    expectRefusal(
      travel,
      { ...validTravel, destination: "Paris" },
      "destination in input form must be one of the following: ['Lisbon', 'Kyoto', 'Quito']",
      "destination",
    );
  });

  it("matches select options exactly (case and spaces count)", () => {
    expect(refusal(travel, { ...validTravel, destination: "kyoto" }).params).toBe("destination");
    expect(refusal(travel, { ...validTravel, destination: "Kyoto " }).params).toBe("destination");
    expect(validateInputs(chart, { file: [{ upload_file_id: "f" }], chart_type: "Pie Chart" }).chart_type).toBe("Pie Chart");
  });

  it("refuses a text-input longer than max_length and accepts one exactly at it", () => {
    expect(validateInputs(travel, { ...validTravel, traveller: "a".repeat(32) }).traveller).toBe("a".repeat(32));
    expectRefusal(travel, { ...validTravel, traveller: "a".repeat(33) }, "traveller in input form must be less than 32 characters", "traveller");
  });

  it("refuses a paragraph longer than max_length", () => {
    expectRefusal(travel, { ...validTravel, notes: "x".repeat(501) }, "notes in input form must be less than 500 characters", "notes");
  });

  it("counts characters, not UTF-16 units, against max_length", () => {
    // 32 emoji are 64 UTF-16 units but 32 characters, as Python's len() counts them.
    expect(validateInputs(travel, { ...validTravel, traveller: "🧳".repeat(32) }).traveller).toBe("🧳".repeat(32));
  });

  it("does not limit length when max_length is unset or 0", () => {
    const form = [
      startVar({ type: "paragraph", variable: "essay", required: true }),
      startVar({ type: "text-input", variable: "title", required: true, max_length: 0 }),
    ];
    const long = "w".repeat(10_000);
    expect(validateInputs(form, { essay: long, title: long })).toEqual({ essay: long, title: long });
  });

  it("keeps whitespace-only text as given", () => {
    expect(validateInputs(travel, { ...validTravel, notes: "   " }).notes).toBe("   ");
  });
});

describe("number variables", () => {
  const base = { grade: "7", subject: "maths", types: "mcq", difficulty: "easy" };

  it.each([
    [7, 7],
    [2.5, 2.5],
    ["3", 3],
    ["2.5", 2.5],
    [" 12 ", 12],
    ["-4", -4],
    ["1e3", 1000],
    [".5", 0.5],
  ])("accepts %j as %j", (given, expected) => {
    expect(validateInputs(exam, { ...base, count: given }).count).toBe(expected);
  });

  it("turns a blank string for an optional number into null", () => {
    expect(validateInputs(travel, { ...validTravel, days: "  " }).days).toBe(3);
    const form = [startVar({ type: "number", variable: "n", required: false })];
    expect(validateInputs(form, { n: "" })).toEqual({ n: null });
  });

  it.each(["three", "3 days", "0x10", "1,5", "Infinity", "NaN", true, [3], { n: 3 }])("refuses %j", (given) => {
    expectRefusal(exam, { ...base, count: given }, "count in input form must be a valid number", "count");
  });
});

describe("checkbox variables", () => {
  it.each([
    [true, true],
    [false, false],
    ["true", true],
    ["FALSE", false],
    ["Yes", true],
    ["no", false],
    ["on", true],
    ["OFF", false],
    ["1", true],
    ["0", false],
    [1, true],
    [0, false],
  ])("accepts %j as %j", (given, expected) => {
    expect(validateInputs(travel, { ...validTravel, budget: given }).budget).toBe(expected);
  });

  it.each(["maybe", 2, "2", -1, { on: true }, ["yes"]])("refuses %j", (given) => {
    expectRefusal(travel, { ...validTravel, budget: given }, "budget in input form must be a boolean", "budget");
  });
});

describe("file, file-list and json_object variables", () => {
  const doc = { transfer_method: "local_file", upload_file_id: "7a1c", type: "document" };
  const picture = { transfer_method: "remote_url", url: "https://example.com/cat.png", type: "image" };

  it("keeps single files as given", () => {
    expect(validateInputs(files, { doc, picture })).toEqual({ doc, picture });
  });

  it("keeps a file list as given", () => {
    const list = [doc, { ...doc, upload_file_id: "8b2d" }];
    expect(validateInputs(chart, { file: list, chart_type: "Bar Chart" })).toEqual({ file: list, chart_type: "Bar Chart" });
  });

  it("accepts a JSON object as an object or as a JSON string of one", () => {
    const form = [startVar({ type: "json_object", variable: "payload", required: true })];
    expect(validateInputs(form, { payload: { a: 1, b: [true] } })).toEqual({ payload: { a: 1, b: [true] } });
    expect(validateInputs(form, { payload: '{"a": 1, "b": [true]}' })).toEqual({ payload: { a: 1, b: [true] } });
  });

  it.each(["[1, 2]", "{not json", '"text"', "42", [1, 2], 42, true])("refuses %j for a json_object", (given) => {
    const form = [startVar({ type: "json_object", variable: "payload", required: true })];
    expectRefusal(form, { payload: given }, "payload in input form must be a valid JSON object", "payload");
  });
});

describe("NUL characters", () => {
  it("strips them from strings", () => {
    const out = validateInputs(travel, { ...validTravel, traveller: "A\u0000na", notes: "\u0000\u0000ok\u0000" });
    expect(out.traveller).toBe("Ana");
    expect(out.notes).toBe("ok");
  });

  it("strips them recursively inside file lists and JSON objects", () => {
    const list = [{ transfer_method: "remote_url", url: "https://example.com/a\u0000.xlsx", tags: ["q\u00001"] }];
    expect(validateInputs(chart, { file: list, chart_type: "Line Chart" }).file).toEqual([
      { transfer_method: "remote_url", url: "https://example.com/a.xlsx", tags: ["q1"] },
    ]);
    const form = [startVar({ type: "json_object", variable: "payload", required: true })];
    expect(validateInputs(form, { payload: { note: "x\u0000y", nested: { deep: ["\u0000z"] }, n: 1 } })).toEqual({
      payload: { note: "xy", nested: { deep: ["z"] }, n: 1 },
    });
  });

  it("checks max_length before stripping, as Dify does", () => {
    expectRefusal(travel, { ...validTravel, traveller: "a".repeat(32) + "\u0000" }, "traveller in input form must be less than 32 characters", "traveller");
  });

  it("does not mutate the caller's inputs", () => {
    const inputs = { ...validTravel, notes: "a\u0000b" };
    validateInputs(travel, inputs);
    expect(inputs.notes).toBe("a\u0000b");
  });
});
