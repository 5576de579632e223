// GET /api/passport and every way a passport is presented (behaviour.md 1.2).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signJwt } from "../../src/core/auth/jwt.js";
import { gqlWs, wsEvents } from "../support/graphql.js";
import { backends, startTestServer, TEST_SECRET, type TestServer } from "../support/server.js";

const decodeClaims = (token: string) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));

describe.each(backends)("passport on %s", (backend) => {
  let s: TestServer;
  let app: { id: string; code: string };
  let other: { id: string; code: string };

  beforeAll(async () => {
    s = await startTestServer(backend);
    app = await s.importApp("apps/chat-travel-planner.yml");
    other = await s.importApp("apps/completion-slogan-writer.yml");
  });
  afterAll(() => s?.close());

  it("issues an HS256 JWT with Dify's claims and no expiry", async () => {
    const res = await s.api("/passport", { appCode: app.code });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(Object.keys(body)).toEqual(["access_token"]);
    const [header] = body.access_token.split(".");
    expect(JSON.parse(Buffer.from(header, "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
    const claims = decodeClaims(body.access_token);
    expect(claims).toEqual({
      iss: app.id,
      sub: "Web API Passport",
      app_id: app.id,
      app_code: app.code,
      end_user_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const endUser = await s.rt.db.endUser.findUniqueOrThrow({ where: { id: claims.end_user_id } });
    expect(endUser).toMatchObject({ appId: app.id, type: "browser", isAnonymous: true });
  });

  it("creates a new end user per call without user_id, and reuses the one named by user_id", async () => {
    const a = decodeClaims(await s.passport(app.code)).end_user_id;
    const b = decodeClaims(await s.passport(app.code)).end_user_id;
    expect(a).not.toBe(b);
    const c = decodeClaims(await s.passport(app.code, "alice@example.com")).end_user_id;
    const d = decodeClaims(await s.passport(app.code, "alice@example.com")).end_user_id;
    expect(c).toBe(d);
    expect((await s.rt.db.endUser.findUniqueOrThrow({ where: { id: c } })).sessionId).toBe("alice@example.com");
    // The same user_id in another app is another end user.
    const e = decodeClaims(await s.passport(other.code, "alice@example.com")).end_user_id;
    expect(e).not.toBe(c);
  });

  it("answers 401 without X-App-Code and 404 for an unknown code", async () => {
    const missing = await s.api("/passport");
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="api"');
    expect(await missing.json()).toEqual({ code: "unauthorized", message: "X-App-Code header is missing.", status: 401 });
    const unknown = await s.api("/passport", { appCode: "nosuchcode123456" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: "not_found", status: 404 });
  });

  describe("presenting the passport", () => {
    let token: string;
    beforeAll(async () => {
      token = await s.passport(app.code);
    });

    it("accepts X-App-Passport", async () => {
      const res = await s.api("/site", { passport: token, appCode: app.code });
      expect(res.status).toBe(200);
      expect((await res.json()).app_id).toBe(app.id);
    });

    it("accepts X-App-Passport without X-App-Code", async () => {
      expect((await s.api("/site", { passport: token })).status).toBe(200);
    });

    it("accepts Authorization: Bearer", async () => {
      const res = await s.api("/site", { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
    });

    it("accepts the cookie passport-<code>", async () => {
      const res = await s.api("/site", { appCode: app.code, headers: { Cookie: `theme=dark; passport-${app.code}=${token}` } });
      expect(res.status).toBe(200);
      // The cookie is looked up by the X-App-Code it names.
      const noCode = await s.api("/site", { headers: { Cookie: `passport-${app.code}=${token}` } });
      expect(noCode.status).toBe(401);
    });

    it("refuses a request without a passport", async () => {
      const res = await s.api("/parameters", { appCode: app.code });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ code: "unauthorized", message: "App token is missing.", status: 401 });
    });

    it("refuses a forged passport (signed with another key) and a malformed one", async () => {
      const claims = decodeClaims(token);
      const forged = signJwt(claims, "not-the-server-key-0123456789");
      const res = await s.api("/site", { passport: forged });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ code: "unauthorized", message: "Invalid token signature.", status: 401 });
      const malformed = await s.api("/site", { passport: "not.a.jwt" });
      expect(await malformed.json()).toEqual({ code: "unauthorized", message: "Invalid token.", status: 401 });
      const tampered = token.split(".");
      tampered[1] = Buffer.from(JSON.stringify({ ...claims, app_id: other.id })).toString("base64url");
      expect((await s.api("/site", { passport: tampered.join(".") })).status).toBe(401);
    });

    it("refuses an expired passport", async () => {
      const expired = signJwt({ ...decodeClaims(token), exp: Math.floor(Date.now() / 1000) - 10 }, TEST_SECRET);
      expect(await (await s.api("/site", { passport: expired })).json()).toEqual({
        code: "unauthorized",
        message: "Token has expired.",
        status: 401,
      });
    });

    it("refuses a passport of another app presented with this app's code", async () => {
      const otherToken = await s.passport(other.code);
      const res = await s.api("/site", { passport: otherToken, appCode: app.code });
      expect(res.status).toBe(401);
      expect((await res.json()).code).toBe("unauthorized");
    });

    it("answers 404 when the end user no longer exists, and 404 when the app is gone", async () => {
      const claims = decodeClaims(token);
      const ghost = signJwt({ ...claims, end_user_id: "00000000-0000-4000-8000-000000000000" }, TEST_SECRET);
      const res = await s.api("/site", { passport: ghost });
      expect(res.status).toBe(404);
      expect((await res.json()).code).toBe("not_found");
      const noApp = signJwt({ ...claims, app_id: "00000000-0000-4000-8000-000000000001" }, TEST_SECRET);
      expect((await s.api("/site", { passport: noApp })).status).toBe(404);
    });

    it("answers 400 when the share code in the passport no longer names the app's site", async () => {
      const stale = signJwt({ ...decodeClaims(token), app_code: "oldcode000000000" }, TEST_SECRET);
      const res = await s.api("/site", { passport: stale });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ code: "bad_request", message: "Site URL is no longer valid.", status: 400 });
    });
  });

  it("answers 400 bad_request for a disabled site, and no new passports for it", async () => {
    const disabled = await s.importApp("apps/completion-slogan-writer.yml");
    const token = await s.passport(disabled.code);
    await s.rt.db.app.update({ where: { id: disabled.id }, data: { enableSite: false } });
    s.rt.viewers.invalidateApp(disabled.id); // the change came from outside the app registry
    const res = await s.api("/parameters", { passport: token });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: "bad_request", message: "Site is disabled.", status: 400 });
    expect((await s.api("/passport", { appCode: disabled.code })).status).toBe(404);
  });

  describe("over GraphQL", () => {
    const CURRENT_APP = `{ currentApp { __typename ... on App { id name mode site { code } } ... on AppError { code message status } } }`;

    it("issues a passport with the passport mutation, reusing the end user named by userId", async () => {
      const mutation = `mutation($code: String!, $user: String) { passport(appCode: $code, userId: $user) {
        __typename ... on Passport { accessToken endUserId sessionId } ... on AppError { code status } } }`;
      const first = await s.graphql(mutation, { code: app.code, user: "bob" });
      const second = await s.graphql(mutation, { code: app.code, user: "bob" });
      expect(first.data.passport).toMatchObject({ __typename: "Passport", sessionId: "bob" });
      expect(second.data.passport.endUserId).toBe(first.data.passport.endUserId);
      expect(decodeClaims(first.data.passport.accessToken)).toMatchObject({ app_id: app.id, app_code: app.code });
      const unknown = await s.graphql(mutation, { code: "nosuchcode123456" });
      expect(unknown.data.passport).toEqual({ __typename: "AppError", code: "not_found", status: 404 });
    });

    it("takes the passport from Authorization, X-App-Passport or the cookie", async () => {
      const token = await s.passport(app.code);
      const variants: Record<string, string>[] = [
        { authorization: `Bearer ${token}` },
        { "x-app-passport": token },
        { "x-app-code": app.code, cookie: `passport-${app.code}=${token}` },
      ];
      for (const headers of variants) {
        const body = await s.graphql(CURRENT_APP, {}, headers);
        expect(body.data.currentApp).toEqual({ __typename: "App", id: app.id, name: "Travel planner", mode: "CHAT", site: { code: app.code } });
      }
    });

    it("answers a typed error without or with a bad passport", async () => {
      const none = await s.graphql(CURRENT_APP);
      expect(none.data.currentApp).toEqual({ __typename: "AppError", code: "unauthorized", message: "App token is missing.", status: 401 });
      const forged = signJwt(decodeClaims(await s.passport(app.code)), "wrong-key-wrong-key-wrong-key");
      const bad = await s.graphql(CURRENT_APP, {}, { authorization: `Bearer ${forged}` });
      expect(bad.data.currentApp).toMatchObject({ code: "unauthorized", message: "Invalid token signature." });
    });

    it("takes the passport from graphql-ws connectionParams", async () => {
      const token = await s.passport(app.code);
      const run = async (connectionParams: Record<string, string>) => {
        const client = gqlWs(s, { connectionParams });
        try {
          const [currentApp] = await wsEvents(client, CURRENT_APP);
          return currentApp;
        } finally {
          await client.dispose();
        }
      };
      expect((await run({ authorization: `Bearer ${token}` })).id).toBe(app.id);
      expect((await run({ "x-app-passport": token })).id).toBe(app.id);
      expect(await run({})).toMatchObject({ __typename: "AppError", code: "unauthorized" });
    });
  });
});

describe("passport checks read through the viewer cache", () => {
  it("serves repeated checks from memory, and sees a change once the app is invalidated", async () => {
    const s = await startTestServer("pglite");
    try {
      const app = await s.importApp("apps/chat-travel-planner.yml");
      const token = await s.passport(app.code);
      expect((await s.api("/parameters", { passport: token })).status).toBe(200);
      // Within the TTL the cached app answers, even though the row changed underneath.
      await s.rt.db.app.update({ where: { id: app.id }, data: { enableSite: false } });
      expect((await s.api("/parameters", { passport: token })).status).toBe(200);
      s.rt.viewers.invalidateApp(app.id);
      expect((await s.api("/parameters", { passport: token })).status).toBe(400);
    } finally {
      await s.close();
    }
  });
});
