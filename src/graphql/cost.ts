// What an operation costs, counted from its document and variables before anything runs (Pothos'
// complexity plugin does the walking: fragments, variables, multipliers). Two counts:
// - fields: every selected field, as often as it will be resolved: a list multiplies its selections
//   by 10, a connection by its page (`first`/`last`, else the resolver's default page);
// - model calls: the fields that start a generation or a run, multiplied the same way.
import {
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";
import { complexityFromQuery, type FieldComplexityValue } from "@pothos/plugin-complexity";

type Args = Record<string, unknown>;

/** Fields that call a model or start a run, by schema coordinate (a function reads the arguments). */
export const MODEL_CALLS: Record<string, number | ((args: Args) => number)> = {
  "Mutation.sendChatMessage": 1,
  "Mutation.sendCompletionMessage": 1,
  "Mutation.moreLikeThis": 1,
  "Mutation.renameConversation": (args) => (args.autoGenerate ? 1 : 0), // the model names it
  "Mutation.submitHumanInput": 1, // resumes the run
  "Query.suggestedQuestions": 1,
  "Query.speech": 1, // the speech provider
  "Mutation.transcribe": 1,
  "Subscription.chatMessage": 1,
  "Subscription.completionMessage": 1,
  "Subscription.workflowRun": 1,
};

/** A connection's page when neither `first` nor `last` is given: what its resolver reads then. */
export const DEFAULT_PAGES: Record<string, number> = {
  "Query.conversations": 20,
  "Query.savedMessages": 20,
  "Conversation.messages": 20,
  "WorkflowRun.nodeExecutions": 50,
};

const LIST_MULTIPLIER = 10;

/** What the walk is told (Pothos hands it to every field's complexity as "context"). */
type Weighing = { count: "fields" | "modelCalls" | "nothing"; coordinates: WeakMap<object, string> };

function multiplier(coordinate: string, field: GraphQLField<any, any, any>, args: Args): number {
  const [parent, name] = coordinate.split(".");
  if (name === "edges" && parent.endsWith("Connection")) return 1; // counted on the connection field
  if (field.args.some((a) => a.name === "first") && getNullableType(field.type).toString().endsWith("Connection")) {
    const page = (args.first ?? args.last ?? DEFAULT_PAGES[coordinate] ?? 20) as number;
    return Math.max(0, page);
  }
  return isListType(getNullableType(field.type)) ? LIST_MULTIPLIER : 1;
}

/** Every field's complexity (the builder's `complexity.fieldComplexity`); only measure() calls it. */
export function fieldCost(args: Args, ctx: object, field: GraphQLField<any, any, any>): FieldComplexityValue {
  const weighing = ctx as Weighing;
  const coordinate = weighing.coordinates.get(field) ?? `?.${field.name}`;
  const times = multiplier(coordinate, field, args);
  if (weighing.count === "fields") return { field: 1, multiplier: times };
  const calls = (weighing.count === "modelCalls" && MODEL_CALLS[coordinate]) || 0;
  return { field: typeof calls === "function" ? calls(args) : calls, multiplier: times };
}

/** Field objects to "Type.field": graphql-js fields do not know their type. */
export function coordinatesOf(schema: GraphQLSchema): WeakMap<object, string> {
  const map = new WeakMap<object, string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    for (const field of Object.values(type.getFields())) map.set(field, `${type.name}.${field.name}`);
  }
  return map;
}

export type Cost = { fields: number; modelCalls: number };

/** The cost of one operation of `document` with (valid) raw variables. */
export function measure(
  schema: GraphQLSchema,
  coordinates: WeakMap<object, string>,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Args,
): Cost {
  // complexityFromQuery measures a document's first operation: give it only ours.
  const fragments = document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION);
  const only: DocumentNode = { kind: Kind.DOCUMENT, definitions: [operation, ...fragments] };
  const count = (c: Weighing["count"]) => complexityFromQuery(only, { schema, ctx: { count: c, coordinates }, variables }).complexity;
  // Pothos counts the fields it cannot look up (__typename, introspection) as 1 under any weighing.
  return { fields: count("fields"), modelCalls: count("modelCalls") - count("nothing") };
}
