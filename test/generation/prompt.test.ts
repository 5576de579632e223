// Prompt assembly: Dify's {{variable}} templates, history within a token budget, chat and completion messages.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { parseDsl } from "../../src/core/apps/dsl.js";
import { AppError } from "../../src/core/errors.js";
import { buildChatMessages, buildCompletionMessages, estimateTokens, renderTemplate } from "../../src/core/generation/prompt.js";
import { messageText } from "../../src/core/ports/model.js";

const { dsl } = parseDsl(fs.readFileSync(new URL("../fixtures/apps/chat-travel-planner.yml", import.meta.url), "utf8"));
// "Plan a {{days}}-day trip to {{destination}} for {{traveller}} on a {{budget}} budget. Notes: {{notes}}"
const prePrompt = String(dsl.model_config?.pre_prompt);
const inputs = { traveller: "Ana", destination: "Kyoto", days: 5, notes: "Vegetarian", budget: true };

describe("renderTemplate", () => {
  it("fills the fixture's pre_prompt from validated inputs", () => {
    expect(renderTemplate(prePrompt, inputs)).toBe("Plan a 5-day trip to Kyoto for Ana on a true budget. Notes: Vegetarian");
  });

  it("renders numbers and booleans with String, objects and arrays as JSON, null and undefined as nothing", () => {
    const out = renderTemplate("[{{n}}|{{f}}|{{b}}|{{o}}|{{a}}|{{z}}|{{u}}]", {
      n: 2.5,
      f: 0,
      b: false,
      o: { city: "Quito", days: 3 },
      a: ["x", 1],
      z: null,
      u: undefined,
    });
    expect(out).toBe('[2.5|0|false|{"city":"Quito","days":3}|["x",1]||]');
  });

  it("leaves placeholders naming no input untouched", () => {
    expect(renderTemplate("Hi {{traveller}}, {{unknown}} {{#context#}} {{#histories#}}", { traveller: "Ana" })).toBe(
      "Hi Ana, {{unknown}} {{#context#}} {{#histories#}}",
    );
  });

  it("only recognises Dify's variable syntax", () => {
    const vars = { name: "Ana", a1: "x", "1a": "no", "with-dash": "no" };
    // Spaces inside the braces, a leading digit, a dash, or a name over 30 characters are not variables.
    expect(renderTemplate("{{ name }} {{1a}} {{with-dash}} {{a1}} {{_}}", { ...vars, _: "u" })).toBe("{{ name }} {{1a}} {{with-dash}} x u");
    const thirty = "a".repeat(30);
    const thirtyOne = "a".repeat(31);
    expect(renderTemplate(`{{${thirty}}} {{${thirtyOne}}}`, { [thirty]: "ok", [thirtyOne]: "no" })).toBe(`ok {{${thirtyOne}}}`);
  });

  it("replaces every occurrence and does not re-scan substituted text", () => {
    expect(renderTemplate("{{a}} and {{a}}", { a: "{{b}} $& $1", b: "no" })).toBe("{{b}} $& $1 and {{b}} $& $1");
  });

  it("does not read inherited properties as inputs", () => {
    expect(renderTemplate("{{constructor}} {{toString}}", {})).toBe("{{constructor}} {{toString}}");
  });
});

describe("estimateTokens", () => {
  it.each([
    ["", 0],
    ["a", 1],
    ["abcd", 1],
    ["abcde", 2],
    ["x".repeat(400), 100],
  ])("estimates %j as %i tokens", (text, tokens) => {
    expect(estimateTokens(text)).toBe(tokens);
  });
});

describe("buildChatMessages", () => {
  it("sends the rendered pre_prompt as the system message, then the query", () => {
    expect(buildChatMessages({ prePrompt, inputs, query: "What should I pack?" })).toEqual([
      { role: "system", content: "Plan a 5-day trip to Kyoto for Ana on a true budget. Notes: Vegetarian" },
      { role: "user", content: "What should I pack?" },
    ]);
  });

  it.each([["", ""], ["blank", "  \n "], ["null", null], ["rendered blank", "{{notes}}"]])(
    "omits the system message when the pre_prompt is %s",
    (_, pre) => {
      expect(buildChatMessages({ prePrompt: pre, inputs: { notes: null }, query: "Hello" })).toEqual([{ role: "user", content: "Hello" }]);
    },
  );

  it("puts history between the system message and the query, oldest first, as user/assistant pairs", () => {
    const history = [
      { query: "Hi", answer: "Hello! Where to?" },
      { query: "Kyoto", answer: "Great choice." },
    ];
    expect(buildChatMessages({ prePrompt: "Be brief.", inputs: {}, history, query: "For how long?" })).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello! Where to?" },
      { role: "user", content: "Kyoto" },
      { role: "assistant", content: "Great choice." },
      { role: "user", content: "For how long?" },
    ]);
  });

  it("skips turns whose answer is empty", () => {
    const history = [
      { query: "first", answer: "one" },
      { query: "stopped", answer: "" },
      { query: "blank", answer: "   " },
      { query: "third", answer: "three" },
    ];
    expect(buildChatMessages({ prePrompt: "", inputs: {}, history, query: "next" }).map((m) => m.content)).toEqual([
      "first",
      "one",
      "third",
      "three",
      "next",
    ]);
  });

  it("keeps the newest turns that fit the budget and stops at the first that does not", () => {
    // Each turn costs 10 + 10 = 20 estimated tokens, except "big" which costs 10 + 100.
    const turn = (name: string, answerChars = 40) => ({ query: name.padEnd(40, "."), answer: "a".repeat(answerChars) });
    const history = [turn("oldest"), turn("big", 400), turn("older"), turn("newer"), turn("newest")];
    const queries = (budget: number) =>
      buildChatMessages({ prePrompt: "", inputs: {}, history, query: "q", historyTokenBudget: budget })
        .filter((m) => m.role === "user" && m.content !== "q")
        .map((m) => messageText(m.content).replace(/\.+$/, ""));

    expect(queries(60)).toEqual(["older", "newer", "newest"]);
    expect(queries(59)).toEqual(["newer", "newest"]);
    // "big" does not fit in what is left, so "oldest" is not reached even though it would fit.
    expect(queries(100)).toEqual(["older", "newer", "newest"]);
    expect(queries(170)).toEqual(["big", "older", "newer", "newest"]);
    expect(queries(190)).toEqual(["oldest", "big", "older", "newer", "newest"]);
    expect(queries(0)).toEqual([]);
  });

  it("defaults the history budget to 2000 estimated tokens", () => {
    // 30 turns of 100 estimated tokens each: only the newest 20 fit.
    const history = Array.from({ length: 30 }, (_, i) => ({ query: `q${i}`.padEnd(200, " "), answer: "a".repeat(200) }));
    const messages = buildChatMessages({ prePrompt: "", inputs: {}, history, query: "now" });
    expect(messages).toHaveLength(20 * 2 + 1);
    expect(messageText(messages[0].content).trim()).toBe("q10");
    expect(messageText(messages[38].content).trim()).toBe("q29");
  });

  it("does not render templates inside history or the query", () => {
    const messages = buildChatMessages({
      prePrompt: "",
      inputs: { traveller: "Ana" },
      history: [{ query: "I am {{traveller}}", answer: "Hi {{traveller}}" }],
      query: "{{traveller}}?",
    });
    expect(messages.map((m) => m.content)).toEqual(["I am {{traveller}}", "Hi {{traveller}}", "{{traveller}}?"]);
  });
});

describe("buildCompletionMessages", () => {
  it("sends the rendered pre_prompt and the query in one user message", () => {
    expect(buildCompletionMessages({ prePrompt: "Write a slogan for {{product}}.", inputs: { product: "tea" }, query: "Keep it short." })).toEqual([
      { role: "user", content: "Write a slogan for tea.\n\nKeep it short." },
    ]);
  });

  it.each([["absent", undefined], ["empty", ""], ["blank", "  "], ["null", null]])("sends the pre_prompt alone when the query is %s", (_, query) => {
    expect(buildCompletionMessages({ prePrompt: prePrompt, inputs, query })).toEqual([
      { role: "user", content: "Plan a 5-day trip to Kyoto for Ana on a true budget. Notes: Vegetarian" },
    ]);
  });

  it("sends just the query when the pre_prompt is blank", () => {
    expect(buildCompletionMessages({ prePrompt: "", inputs: {}, query: "Translate 'hello' to Portuguese" })).toEqual([
      { role: "user", content: "Translate 'hello' to Portuguese" },
    ]);
    expect(buildCompletionMessages({ prePrompt: "{{empty}}", inputs: { empty: "" }, query: "q" })).toEqual([{ role: "user", content: "q" }]);
  });

  it("refuses a prompt that would be empty", () => {
    let err: unknown;
    try {
      buildCompletionMessages({ prePrompt: " ", inputs: {}, query: "\n" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect({ code: (err as AppError).code, status: (err as AppError).status, params: (err as AppError).params }).toEqual({
      code: "invalid_param",
      status: 400,
      params: "query",
    });
  });
});
