// Text PostgreSQL or the model cannot take (NUL, lone UTF-16 surrogates) and URLs that do not decode are
// the client's 400, on both surfaces, before any model call or write; they used to answer 500.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../support/fake-openai.js";
import { startImageServer, type ImageServer } from "../support/image-server.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";

describe.each(backends)("text that cannot be stored, on %s", (backend) => {
  let fake: FakeOpenAI;
  let images: ImageServer;
  let s: TestServer;
  let code: string;
  let token: string;
  const inputs = { traveller: "Ana", destination: "Kyoto" };

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => "fine" });
    // The app sees images, which the gateway fetches: from this loopback server, allowed for it.
    images = await startImageServer("127.0.0.2");
    s = await startTestServer(backend, { OPENAI_BASE_URL: fake.baseUrl, OUTBOUND_ALLOW: "127.0.0.2" });
    code = (await s.importApp("apps/chat-travel-planner.yml")).code;
    token = await s.passport(code);
  });
  afterAll(async () => {
    await s?.close();
    await images?.close();
    await fake?.close();
  });

  const chat = (body: string) => s.api("/chat-messages", { method: "POST", passport: token, headers: { "content-type": "application/json" }, body });

  it("refuses a NUL in a passport's user_id or a login status' app_code with 400", async () => {
    const passport = await s.api("/passport?user_id=a%00b", { appCode: code });
    expect(passport.status).toBe(400);
    expect(await passport.json()).toMatchObject({ code: "invalid_param", params: "user_id" });
    const status = await s.api("/login/status?app_code=%00");
    expect(status.status).toBe(400);
    expect(await status.json()).toMatchObject({ code: "invalid_param", params: "app_code" });
    const gql = await s.graphql(`mutation($c: String!, $u: String) { passport(appCode: $c, userId: $u) { __typename ... on AppError { code params } } }`, { c: code, u: "a\u0000b" });
    expect(gql.data.passport).toEqual({ __typename: "AppError", code: "invalid_param", params: "user_id" });
  });

  it("refuses a query with a lone surrogate before calling the model", async () => {
    const before = fake.requests.length;
    // JSON.stringify writes a lone surrogate as the escape \ud800, as a client's JSON encoder would.
    const res = await chat(JSON.stringify({ query: "hi \ud800 there", inputs, response_mode: "streaming" }));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "invalid_param", params: "query" });
    const gql = await s.graphql(
      `mutation($i: ChatMessageInput!) { sendChatMessage(input: $i) { __typename ... on AppError { code params } } }`,
      { i: { query: "hi \udc00", inputs } },
      { authorization: `Bearer ${token}` },
    );
    expect(gql.data.sendChatMessage).toEqual({ __typename: "AppError", code: "invalid_param", params: "query" });
    expect(fake.requests.length).toBe(before);
  });

  it("takes a remote file whose URL does not percent-decode", async () => {
    const url = images.url("/photos/%E0%A4%A.png");
    const res = await chat(JSON.stringify({ query: "what is this?", inputs, files: [{ type: "image", transfer_method: "remote_url", url }] }));
    expect(res.status).toBe(200);
    expect((await res.json()).answer).toBe("fine");
  });
});
