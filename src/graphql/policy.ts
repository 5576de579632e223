// What one GraphQL request may ask for, whichever way it comes (HTTP POST or GET, the JSON fast path,
// SSE, graphql-ws), and how a malformed or too-large request is answered: as the client's error (HTTP
// 4xx, a code in extensions.code, the real message), logged once at debug (mistakes) or info (limits).
// http-server.ts installs it on the yoga instance; graphql-ws goes through the same envelop hooks.
//
// The limits (config.ts, GRAPHQL_MAX_*), in the order they apply:
//   body bytes                   body-limit.ts (multipart uploads: uploads.ts), the fast path, graphql-ws' maxPayload
//   tokens                       while parsing (graphql-js' maxTokens): a huge document is never built
//   depth, aliases, directives   validation rules (graphql-armor), remembered per document
//   variables, cost, model calls per request after validation, as they depend on the variables (cost.ts)
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationContext,
} from "graphql";
import { createGraphQLError, isAsyncIterable, type Plugin, type YogaServerOptions } from "graphql-yoga";
import { PothosValidationError } from "@pothos/core";
import type { GraphQLLimits } from "../config.js";
import type { Logger } from "pino";
import { coordinatesOf, measure } from "./cost.js";
import { limitRequestBody } from "./body-limit.js";
import { LRUCache } from "lru-cache";

/** Parse cache bounds: 4 MiB of document text in all, none over 16 KiB (real clients' documents are small). */
export const PARSE_CACHE = { max: 1024, maxSize: 4 * 1024 * 1024, maxEntrySize: 16 * 1024, sizeCalculation: (_: unknown, key: string) => key.length };

/** Codes of errors that are the request's fault. */
const CLIENT_CODES = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "OPERATION_RESOLUTION_FAILURE",
  "REQUEST_ENTITY_TOO_LARGE",
]);

type Params = { operationName?: string | null; variables?: Record<string, unknown> | null };

/** `error`, with `code` unless it has one already. */
function withCode(error: GraphQLError, code: string, more: Record<string, unknown> = {}): GraphQLError {
  if (error.extensions?.code && !Object.keys(more).length) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code: error.extensions?.code ?? code, ...more },
  });
}

const limitError = (message: string, code: string, limit: string, max: number, actual?: number) =>
  new GraphQLError(message, { extensions: { code, limit, max, ...(actual === undefined ? {} : { actual }) } });

function isClientError(error: unknown): error is GraphQLError {
  if (!(error instanceof GraphQLError)) return false;
  const status = (error.extensions?.http as { status?: number } | undefined)?.status;
  return CLIENT_CODES.has(error.extensions?.code as string) || (status !== undefined && status >= 400 && status < 500);
}

export function createGraphQLPolicy(schema: GraphQLSchema, limits: GraphQLLimits, log: Logger) {
  const coordinates = coordinatesOf(schema);

  // graphql-armor's rules throw unless told to report; their messages carry the counts.
  const armor = (name: string, max: number) => ({
    n: max,
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) =>
        context?.reportError(limitError(error.message.replace(/^Syntax Error: /, ""), "GRAPHQL_VALIDATION_FAILED", name, max)),
    ],
  });
  const rules = [
    maxDepthRule({ ...armor("depth", limits.maxDepth), flattenFragments: true, ignoreIntrospection: true }),
    maxAliasesRule(armor("aliases", limits.maxAliases)),
    maxDirectivesRule(armor("directives", limits.maxDirectives)),
  ];

  function parseWithin(source: Parameters<typeof parse>[0], options?: Parameters<typeof parse>[1]): DocumentNode {
    try {
      return parse(source, { ...options, maxTokens: limits.maxTokens });
    } catch (err) {
      if (err instanceof GraphQLError && /contains more tha[nt] \d+ tokens/.test(err.message)) {
        throw limitError(`Syntax Error: the document has more than ${limits.maxTokens} tokens.`, "GRAPHQL_PARSE_FAILED", "tokens", limits.maxTokens);
      }
      throw err;
    }
  }

  /** What only the request's variables decide: they coerce, and the operation is within cost. */
  const costRefusals = new WeakMap<OperationDefinitionNode, GraphQLError[]>(); // operations without variables
  function checkOperation(document: DocumentNode, params: Params): GraphQLError[] {
    const operation = getOperationAST(document, params.operationName ?? undefined);
    if (!operation) {
      const message = params.operationName
        ? `Unknown operation named "${params.operationName}".`
        : "Must provide operation name if query contains multiple operations.";
      return [new GraphQLError(message, { extensions: { code: "OPERATION_RESOLUTION_FAILURE" } })];
    }
    const variables = params.variables ?? {};
    const hasVariables = !!operation.variableDefinitions?.length;
    if (hasVariables) {
      const coerced = getVariableValues(schema, operation.variableDefinitions!, variables, { maxErrors: 10 });
      if (coerced.errors) return coerced.errors.map((e) => withCode(e, "BAD_USER_INPUT"));
    }
    let refusals = hasVariables ? undefined : costRefusals.get(operation);
    if (!refusals) {
      refusals = overLimits(document, operation, variables);
      if (!hasVariables) costRefusals.set(operation, refusals);
    }
    return refusals;
  }

  function overLimits(document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): GraphQLError[] {
    let cost;
    try {
      cost = measure(schema, coordinates, document, operation, variables);
    } catch (err) {
      if (err instanceof PothosValidationError || err instanceof GraphQLError) return [withCode(new GraphQLError(err.message), "GRAPHQL_VALIDATION_FAILED")];
      throw err;
    }
    const errors: GraphQLError[] = [];
    if (cost.modelCalls > limits.maxModelCalls) {
      errors.push(limitError(
        `The operation would start ${cost.modelCalls} model calls (generations, runs, suggestions); one operation may start at most ${limits.maxModelCalls}.`,
        "GRAPHQL_VALIDATION_FAILED", "modelCalls", limits.maxModelCalls, cost.modelCalls,
      ));
    }
    if (cost.fields > limits.maxCost) {
      errors.push(limitError(
        `The operation costs ${cost.fields} (fields resolved, lists and pages multiplied); at most ${limits.maxCost} is allowed. Ask for smaller pages or fewer fields.`,
        "GRAPHQL_VALIDATION_FAILED", "cost", limits.maxCost, cost.fields,
      ));
    }
    return errors;
  }

  function logRefusal(errors: readonly GraphQLError[], transport: string) {
    const level = errors.some((e) => e.extensions?.limit) ? "info" : "debug";
    log[level](
      { transport, codes: [...new Set(errors.map((e) => e.extensions?.code))], errors: errors.slice(0, 3).map((e) => e.message.slice(0, 200)) },
      "GraphQL request refused",
    );
  }

  const validated = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  const plugin: Plugin<Record<string, any>> = {
    onParse({ setParseFn }) {
      setParseFn(parseWithin);
      return ({ result, replaceParseResult }) => {
        if (result instanceof GraphQLError) replaceParseResult(withCode(result, "GRAPHQL_PARSE_FAILED"));
      };
    },
    onValidate({ context, validateFn, setValidationFn, addValidationRule }) {
      for (const rule of rules) addValidationRule(rule);
      setValidationFn((s, document, allRules, typeInfo, options) => {
        // yoga's validation cache is off (it cannot tell requests with other variables apart): this is it.
        let errors = validated.get(document);
        if (!errors) {
          const found: readonly GraphQLError[] = validateFn(s, document, allRules, typeInfo, options) ?? [];
          errors = found.map((e) => withCode(e, "GRAPHQL_VALIDATION_FAILED"));
          validated.set(document, errors);
        }
        return errors.length ? errors : checkOperation(document, (context as { params?: Params }).params ?? {});
      });
    },
    onRequestParse(payload) {
      const { request, setRequestParser } = payload;
      const requestParser = limitRequestBody(payload, limits.maxBodyBytes);
      if (requestParser && requestParser !== payload.requestParser) setRequestParser(requestParser);
      // GET and form posts carry `variables` as JSON text, which yoga parses without catching.
      if (!requestParser || /json/i.test(request.headers.get("content-type") ?? "")) return;
      const parseParams = requestParser;
      setRequestParser(async (req) => {
        try {
          return await parseParams(req);
        } catch (err) {
          if (!(err instanceof SyntaxError)) throw err;
          throw createGraphQLError(`The request's variables or extensions are not valid JSON: ${err.message}`, {
            extensions: { code: "BAD_REQUEST", http: { status: 400 } },
          });
        }
      });
    },
    onResultProcess({ result, setResult, resultProcessor, setResultProcessor, acceptableMediaTypes }) {
      // An Accept that no processor serves (a subscription asked for as application/json): yoga's 406
      // has no body. Say what would do, in JSON, and leave the subscription unstarted.
      if (!resultProcessor) {
        if (isAsyncIterable(result)) void (result as AsyncGenerator<unknown>).return?.(undefined);
        const accepted = [...new Set(acceptableMediaTypes)].join(", ");
        const error = createGraphQLError(`Not Acceptable: this operation is answered as ${accepted}${isAsyncIterable(result) ? " (or over graphql-ws)" : ""}.`, {
          extensions: { code: "BAD_REQUEST" },
        });
        logRefusal([error], "http");
        setResultProcessor((_result, fetchAPI) => new fetchAPI.Response(JSON.stringify({ errors: [error.toJSON()] }), { status: 406, headers: { "content-type": "application/json; charset=utf-8", accept: accepted } }), "application/json");
        return;
      }
      // A request refused before it ran answers 4xx whatever the client accepts: yoga would answer
      // `application/json` clients 200 for parse and validation errors.
      if (Array.isArray(result) || isAsyncIterable(result) || "data" in result || !result.errors?.length) return;
      if (!result.errors.every(isClientError)) return;
      logRefusal(result.errors as GraphQLError[], "http");
      const statuses = result.errors.map((e) => (e.extensions?.http as { status?: number } | undefined)?.status ?? 400);
      setResult({ ...result, extensions: { ...result.extensions, http: { status: Math.max(...statuses) } } });
    },
  };

  return {
    plugin,
    /** For createYoga, beside the plugin. */
    yogaOptions: {
      // Applied by the plugin (body-limit.ts), which leaves multipart uploads to their own limits.
      maxRequestBodySize: false,
      // yoga keeps parsed documents (and parse errors) by their text; bounded by that text's size, and
      // without the big ones, so that distinct large documents cannot fill memory (1,024 of 1 MiB would).
      parserAndValidationCache: {
        validationCache: false,
        documentCache: new LRUCache<string, DocumentNode>(PARSE_CACHE),
        errorCache: new LRUCache<string, {}>(PARSE_CACHE),
      },
    } satisfies Partial<YogaServerOptions<any, any>>,
    /** A graphql-ws subscribe's refusal: its own `error` message, logged once, without yoga's HTTP hints. */
    refused(errors: readonly GraphQLError[]): GraphQLError[] {
      const plain = errors.map((e) => {
        const { http: _http, ...extensions } = e.extensions ?? {};
        return new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, extensions });
      });
      if (plain.every(isClientError)) logRefusal(plain, "graphql-ws");
      return plain;
    },
  };
}
