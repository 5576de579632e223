// The Pothos builder: configuration only. Types live in one module per area.
import SchemaBuilder from "@pothos/core";
import ErrorsPlugin from "@pothos/plugin-errors";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import type PrismaTypes from "../generated/pothos-types.js";
import { getDatamodel } from "../generated/pothos-types.js";
import { AppError } from "../core/errors.js";
import type { GraphQLContext } from "./context.js";

export const builder = new SchemaBuilder<{
  PrismaTypes: PrismaTypes;
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  Scalars: {
    JSON: { Input: unknown; Output: unknown };
    DateTime: { Input: Date; Output: Date };
  };
}>({
  defaultFieldNullability: false,
  plugins: [ErrorsPlugin, PrismaPlugin, RelayPlugin],
  errors: { defaultTypes: [AppError], directResult: true },
  relay: {},
  prisma: {
    client: (ctx) => ctx.rt.db,
    dmmf: getDatamodel(),
    // Field-level query planning only: resolvers always go through the core's scoped reads.
    onUnusedQuery: null,
  },
});
