// The Pothos builder: configuration only. Types live in one module per area.
import SchemaBuilder from "@pothos/core";
import ComplexityPlugin from "@pothos/plugin-complexity";
import ErrorsPlugin from "@pothos/plugin-errors";
import RelayPlugin from "@pothos/plugin-relay";
import { AppError } from "../core/errors.js";
import type { GraphQLContext } from "./context.js";
import { fieldCost } from "./cost.js";

const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  Scalars: {
    JSON: { Input: unknown; Output: unknown };
    DateTime: { Input: Date; Output: Date };
    /** A file part of a multipart request (graphql-upload-minimal). */
    Upload: { Input: Promise<unknown>; Output: never };
  };
}>({
  defaultFieldNullability: false,
  plugins: [ErrorsPlugin, RelayPlugin, ComplexityPlugin],
  errors: {
    defaultTypes: [AppError],
    directResult: true,
    // Named after the field: `renameConversation` answers a `RenameConversationResult`, which is a
    // `RenameConversationPayload` or an `AppError`.
    defaultUnionOptions: { name: ({ fieldName }) => `${upperFirst(fieldName)}Result` },
    defaultResultOptions: { name: ({ fieldName }) => `${upperFirst(fieldName)}Payload` },
  },
  relay: {
    cursorType: "String",
    // node(id:) is ours (node.schema.ts): it answers null for ids that name nothing of the viewer's.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
  // Costs are measured while validating (policy.ts), with the request's variables; never while resolving.
  complexity: { fieldComplexity: fieldCost, disabled: true },
});
