// Every node type the engine runs, wired to what it needs.
import type { NodeExecutor } from "../engine.js";
import { answer, end, start, variableAggregator } from "./basic.js";
import { code } from "./code.js";
import type { Sandbox } from "../../ports/sandbox.js";
import { ifElse } from "./if-else.js";
import { httpRequest } from "./http-request.js";
import type { OutboundFetch } from "../../ports/outbound-fetch.js";
import { humanInput } from "./human-input.js";
import type { HumanInputRequest } from "../human-input.service.js";
import type { HumanInputRequired } from "../events.js";
import { listOperator } from "./list-operator.js";
import { parameterExtractor, questionClassifier } from "./model-choice.js";
import { assigner } from "./assigner.js";
import { iteration, loop, loopEnd } from "./containers.js";
import { llm, type LlmDeps } from "./llm.js";
import { templateTransform } from "./template-transform.js";
import { documentExtractor, type DocumentExtractorDeps } from "./document-extractor.js";

export type ExecutorDeps = LlmDeps & DocumentExtractorDeps & {
  sandbox: () => Sandbox;
  fetch: OutboundFetch;
  /** Create the form a human-input node waits on, and announce it. */
  requestInput: (request: HumanInputRequest) => Promise<HumanInputRequired>;
};

export function createExecutors(deps: ExecutorDeps): Record<string, NodeExecutor> {
  return {
    start,
    end,
    answer,
    "variable-aggregator": variableAggregator,
    "template-transform": templateTransform,
    "if-else": ifElse,
    llm: llm(deps),
    code: code(deps.sandbox),
    "list-operator": listOperator,
    "question-classifier": questionClassifier(deps.models),
    "parameter-extractor": parameterExtractor(deps.models),
    "human-input": humanInput(deps.requestInput),
    "http-request": httpRequest(deps.fetch),
    "document-extractor": documentExtractor(deps),
    iteration,
    loop,
    "loop-end": loopEnd,
    assigner,
    "variable-assigner": assigner,
    // Container start nodes pass straight through.
    "iteration-start": async () => ({ outputs: {} }),
    "loop-start": async () => ({ outputs: {} }),
  };
}
