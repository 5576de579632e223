// Passports for GraphQL-only clients: the same token GET /api/passport gives.
import { builder } from "./builder.js";
import type { AuthService } from "../core/auth/passport.service.js";

type PassportResult = Awaited<ReturnType<AuthService["passport"]>>;

const Passport = builder.objectRef<PassportResult>("Passport").implement({
  fields: (t) => ({
    accessToken: t.string({
      description: "Send it as `X-App-Passport` or `Authorization: Bearer` (or graphql-ws connectionParams).",
      resolve: (p) => p.accessToken,
    }),
    endUserId: t.id({ resolve: (p) => p.endUser.id }),
    sessionId: t.string({ description: "The end user's session id: the given userId, or a fresh one.", resolve: (p) => p.endUser.sessionId }),
  }),
});

builder.mutationField("passport", (t) =>
  t.field({
    type: Passport,
    description: "A passport for an end user of the app shared under appCode; reuses the end user named by userId.",
    errors: {},
    args: { appCode: t.arg.string({ required: true }), userId: t.arg.string() },
    resolve: (_root, { appCode, userId }, ctx) => ctx.services.auth.passport({ appCode, userId: userId ?? null }),
  }),
);
