// node(id:): any conversation, message or workflow run of the viewer's, by its global id. An id that
// names nothing of theirs (another end user's, a deleted one, or no id at all) answers null, so ids
// reveal nothing; the relay plugin's own field would report undecodable ids as internal errors.
import { decodeGlobalID } from "@pothos/plugin-relay";
import { AppError } from "../core/errors.js";
import { builder } from "./builder.js";
import type { GraphQLContext } from "./context.js";
import "./conversation.schema.js";
import "./workflow.schema.js";

const loaders: Record<string, (ctx: GraphQLContext, id: string) => Promise<unknown>> = {
  Conversation: async (ctx, id) => ctx.services.conversations.get(await ctx.viewer(), id),
  Message: async (ctx, id) => ctx.services.messages.get(await ctx.viewer(), id),
  WorkflowRun: async (ctx, id) => ctx.services.workflows.getRun(await ctx.viewer(), id),
};

function decoded(globalId: string): { typename: string; id: string } | null {
  try {
    return decodeGlobalID(globalId);
  } catch {
    return null;
  }
}

builder.queryField("node", (t) =>
  t.field({
    type: builder.nodeInterfaceRef(),
    nullable: true,
    description: "A conversation, message or workflow run of yours, by its global id; null for any other id.",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const target = decoded(String(id));
      const load = target && Object.hasOwn(loaders, target.typename) ? loaders[target.typename] : null;
      if (!target || !load) return null;
      try {
        return await load(ctx, target.id);
      } catch (err) {
        if (err instanceof AppError) return null;
        throw err;
      }
    },
  }),
);
