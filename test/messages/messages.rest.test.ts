// GET /messages, POST /messages/{id}/feedbacks, and the saved messages of completion apps.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, startTestServer, type TestServer } from "../support/server.js";

type User = { token: string; endUserId: string };
type AppRef = { id: string; code: string };

const T0 = Date.parse("2025-03-01T00:00:00Z");
const minutes = (n: number) => new Date(T0 + n * 60_000);
const unix = (d: Date) => Math.floor(d.getTime() / 1000);
const endUserOf = (token: string): string => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).end_user_id;
const UNKNOWN = "00000000-0000-4000-8000-000000000000";

describe.each(backends)("messages over REST on %s", (backend) => {
  let s: TestServer;
  let chat: AppRef;
  let otherChat: AppRef;
  let completion: AppRef;

  beforeAll(async () => {
    s = await startTestServer(backend);
    chat = await s.importApp("apps/chat-travel-planner.yml");
    otherChat = await s.importApp("apps/chat-travel-planner.yml");
    completion = await s.importApp("apps/completion-slogan-writer.yml");
  });
  afterAll(() => s?.close());

  const user = async (app: AppRef = chat): Promise<User> => {
    const token = await s.passport(app.code);
    return { token, endUserId: endUserOf(token) };
  };

  /** A conversation of `u` with `n` chained messages, message i created at minute i. */
  const seed = async (u: User, n: number, app: AppRef = chat, mode = "chat") => {
    const conversation = await s.rt.db.conversation.create({
      data: {
        appId: app.id,
        mode,
        name: "seeded",
        fromSource: "api",
        invokeFrom: "web-app",
        fromEndUserId: u.endUserId,
        createdAt: minutes(0),
        updatedAt: minutes(0),
      },
    });
    const ids: string[] = [];
    let parent: string | null = null;
    for (let i = 0; i < n; i++) {
      const m: { id: string } = await s.rt.db.message.create({
        data: {
          appId: app.id,
          conversationId: conversation.id,
          parentMessageId: mode === "completion" ? null : parent,
          inputs: { traveller: "Ana" },
          query: `question ${i}`,
          answer: `answer ${i}`,
          fromSource: "api",
          invokeFrom: "web-app",
          fromEndUserId: u.endUserId,
          appMode: mode,
          createdAt: minutes(i),
          updatedAt: minutes(i),
        },
      });
      parent = m.id;
      ids.push(m.id);
    }
    return { conversationId: conversation.id, ids };
  };

  const list = async (u: User, query: string) => {
    const res = await s.api(`/messages${query}`, { passport: u.token });
    return { status: res.status, body: (await res.json()) as any };
  };
  const ids = (body: any) => body.data.map((m: { id: string }) => m.id);
  const send = (u: User, method: string, path: string, body?: object) =>
    s.api(path, {
      method,
      passport: u.token,
      ...(body ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {}),
    });
  const feedback = (u: User, id: string, body: object) => send(u, "POST", `/messages/${id}/feedbacks`, body);

  describe("GET /messages", () => {
    it("answers WebMessageListItem items, oldest first", async () => {
      const u = await user();
      const { conversationId, ids: [m0, m1] } = await seed(u, 2);
      const upload = await s.rt.db.uploadFile.create({
        data: { appId: chat.id, tenantId: chat.id, key: "k", name: "map.png", size: 1234, extension: "png", mimeType: "image/png", createdBy: u.endUserId },
      });
      const local = await s.rt.db.messageFile.create({
        data: { messageId: m1, type: "image", transferMethod: "local_file", uploadFileId: upload.id, createdBy: u.endUserId, createdAt: minutes(1) },
      });
      const remote = await s.rt.db.messageFile.create({
        data: {
          messageId: m1,
          type: "image",
          transferMethod: "remote_url",
          url: "https://example.com/a.png",
          belongsTo: "assistant",
          createdBy: u.endUserId,
          createdAt: minutes(2),
        },
      });
      const thought = await s.rt.db.messageAgentThought.create({
        data: {
          messageId: m1,
          position: 1,
          thought: "thinking",
          tool: "search",
          toolLabels: { search: { en_US: "Search" } },
          toolInput: '{"q":"Lisbon"}',
          observation: "found",
          createdBy: u.endUserId,
          createdAt: minutes(1),
        },
      });
      const metadata = { usage: { total_tokens: 12 }, retriever_resources: [{ position: 1, content: "doc" }] };
      await s.rt.db.message.update({ where: { id: m1 }, data: { messageMetadata: metadata } });
      expect((await feedback(u, m1, { rating: "like" })).status).toBe(200);

      const { status, body } = await list(u, `?conversation_id=${conversationId}`);
      expect(status).toBe(200);
      expect(body.limit).toBe(20);
      expect(body.has_more).toBe(false);
      expect(ids(body)).toEqual([m0, m1]);
      expect(body.data[0]).toEqual({
        id: m0,
        conversation_id: conversationId,
        parent_message_id: null,
        inputs: { traveller: "Ana" },
        query: "question 0",
        answer: "answer 0",
        message_files: [],
        feedback: null,
        retriever_resources: [],
        created_at: unix(minutes(0)),
        agent_thoughts: [],
        status: "normal",
        error: null,
        extra_contents: [],
        metadata: {},
      });
      expect(body.data[1]).toEqual({
        id: m1,
        conversation_id: conversationId,
        parent_message_id: m0,
        inputs: { traveller: "Ana" },
        query: "question 1",
        answer: "answer 1",
        message_files: [
          {
            id: local.id,
            filename: "map.png",
            type: "image",
            url: expect.stringMatching(new RegExp(`^/files/${upload.id}/file-preview\\?timestamp=\\d+&nonce=\\w+&sign=[\\w-]+$`)),
            mime_type: "image/png",
            size: 1234,
            transfer_method: "local_file",
            belongs_to: "user",
            upload_file_id: upload.id,
          },
          {
            id: remote.id,
            filename: "a.png",
            type: "image",
            url: "https://example.com/a.png",
            mime_type: null,
            size: null,
            transfer_method: "remote_url",
            belongs_to: "assistant",
            upload_file_id: null,
          },
        ],
        feedback: { rating: "like" },
        retriever_resources: [{ position: 1, content: "doc" }],
        created_at: unix(minutes(1)),
        agent_thoughts: [
          {
            id: thought.id,
            chain_id: null,
            message_id: m1,
            position: 1,
            thought: "thinking",
            tool: "search",
            tool_labels: { search: { en_US: "Search" } },
            tool_input: '{"q":"Lisbon"}',
            created_at: unix(minutes(1)),
            observation: "found",
            files: [],
          },
        ],
        status: "normal",
        error: null,
        extra_contents: [],
        metadata,
      });
    });

    it("pages with first_id: newest limit messages, has_more with limit+1, not with exactly limit left", async () => {
      const u = await user();
      const { conversationId: c5, ids: five } = await seed(u, 5);
      const p1 = await list(u, `?conversation_id=${c5}&limit=2`);
      expect(p1.body).toMatchObject({ limit: 2, has_more: true });
      expect(ids(p1.body)).toEqual([five[3], five[4]]);
      const p2 = await list(u, `?conversation_id=${c5}&limit=2&first_id=${five[3]}`);
      expect(ids(p2.body)).toEqual([five[1], five[2]]);
      expect(p2.body.has_more).toBe(true);
      const p3 = await list(u, `?conversation_id=${c5}&limit=2&first_id=${five[1]}`);
      expect(ids(p3.body)).toEqual([five[0]]);
      expect(p3.body.has_more).toBe(false);
      expect((await list(u, `?conversation_id=${c5}&limit=5`)).body.has_more).toBe(false);
      expect((await list(u, `?conversation_id=${c5}&limit=4`)).body.has_more).toBe(true);

      const { conversationId: c4, ids: four } = await seed(u, 4);
      const q1 = await list(u, `?conversation_id=${c4}&limit=2`);
      expect(ids(q1.body)).toEqual([four[2], four[3]]);
      expect(q1.body.has_more).toBe(true);
      const q2 = await list(u, `?conversation_id=${c4}&limit=2&first_id=${four[2]}`);
      expect(ids(q2.body)).toEqual([four[0], four[1]]); // exactly limit left
      expect(q2.body.has_more).toBe(false);
      // first_id "" means the newest page.
      expect(ids((await list(u, `?conversation_id=${c4}&limit=2&first_id=`)).body)).toEqual([four[2], four[3]]);
    });

    it("pages through messages with equal created_at without losing any", async () => {
      const u = await user();
      const { conversationId, ids: all } = await seed(u, 5);
      await s.rt.db.message.updateMany({ where: { conversationId }, data: { createdAt: minutes(9) } });
      const seen: string[] = [];
      let first = "";
      for (let page = 0; page < 5; page++) {
        const { body } = await list(u, `?conversation_id=${conversationId}&limit=2${first ? `&first_id=${first}` : ""}`);
        seen.push(...ids(body));
        if (!body.has_more) break;
        first = body.data[0].id;
      }
      expect(seen.sort()).toEqual([...all].sort());
    });

    it("checks conversation_id, first_id and limit", async () => {
      const u = await user();
      const { conversationId, ids: [m0] } = await seed(u, 1);
      expect(await list(u, "?conversation_id=")).toEqual({ status: 200, body: { limit: 20, has_more: false, data: [] } });
      expect((await list(u, "?conversation_id=&limit=3")).body).toEqual({ limit: 3, has_more: false, data: [] });
      const missing = await list(u, "");
      expect(missing.status).toBe(400);
      expect(missing.body).toMatchObject({ code: "invalid_param", params: "conversation_id" });
      const malformed = await list(u, "?conversation_id=abc");
      expect(malformed.status).toBe(400);
      expect(malformed.body).toMatchObject({ code: "invalid_param", params: "conversation_id" });
      expect(await list(u, `?conversation_id=${UNKNOWN}`)).toEqual({
        status: 404,
        body: { code: "not_found", message: "Conversation Not Exists.", status: 404 },
      });
      expect(await list(u, `?conversation_id=${conversationId}&first_id=${UNKNOWN}`)).toEqual({
        status: 404,
        body: { code: "not_found", message: "First Message Not Exists.", status: 404 },
      });
      // A message of another conversation is not a first_id of this one.
      const { conversationId: other } = await seed(u, 1);
      expect((await list(u, `?conversation_id=${other}&first_id=${m0}`)).body.message).toBe("First Message Not Exists.");
      expect((await list(u, `?conversation_id=${conversationId}&first_id=bad`)).body).toMatchObject({ code: "invalid_param", params: "first_id" });
      for (const bad of ["0", "101", "x"]) {
        const res = await list(u, `?conversation_id=${conversationId}&limit=${bad}`);
        expect(res.status, bad).toBe(400);
        expect(res.body).toMatchObject({ code: "invalid_param", params: "limit" });
      }
      expect((await list(u, `?conversation_id=${conversationId}&limit=100`)).body.limit).toBe(100);
    });

    it("answers not_chat_app on a completion app", async () => {
      const u = await user(completion);
      const res = await list(u, "?conversation_id=");
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("not_chat_app");
    });
  });

  describe("POST /messages/{id}/feedbacks", () => {
    it("likes, switches to dislike, removes with null, and refuses null when there is none", async () => {
      const u = await user();
      const { conversationId, ids: [m] } = await seed(u, 1);
      const rating = async () => (await list(u, `?conversation_id=${conversationId}`)).body.data[0].feedback;

      const like = await feedback(u, m, { rating: "like", content: "nice" });
      expect(like.status).toBe(200);
      expect(await like.json()).toEqual({ result: "success" });
      expect(await rating()).toEqual({ rating: "like" });
      const row = await s.rt.db.messageFeedback.findFirstOrThrow({ where: { messageId: m } });
      expect(row).toMatchObject({ appId: chat.id, conversationId, fromSource: "user", fromEndUserId: u.endUserId, content: "nice" });

      expect((await feedback(u, m, { rating: "dislike" })).status).toBe(200);
      expect(await rating()).toEqual({ rating: "dislike" });
      expect(await s.rt.db.messageFeedback.count({ where: { messageId: m } })).toBe(1);

      expect((await feedback(u, m, { rating: null })).status).toBe(200);
      expect(await rating()).toBeNull();
      const again = await feedback(u, m, { rating: null });
      expect(again.status).toBe(400);
      expect(await again.json()).toEqual({ code: "invalid_param", message: "rating cannot be None when feedback not exists", status: 400 });
      expect((await feedback(u, m, {})).status).toBe(400); // absent rating is null
    });

    it("refuses other ratings, and answers 404 for unknown or malformed ids", async () => {
      const u = await user();
      const { ids: [m] } = await seed(u, 1);
      const bad = await feedback(u, m, { rating: "love" });
      expect(bad.status).toBe(400);
      expect((await bad.json()).code).toBe("invalid_param");
      const unknown = await feedback(u, UNKNOWN, { rating: "like" });
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({ code: "not_found", message: "Message Not Exists.", status: 404 });
      expect((await feedback(u, "not-a-uuid", { rating: "like" })).status).toBe(404);
    });

    it("works in any mode (a completion message)", async () => {
      const u = await user(completion);
      const { ids: [m] } = await seed(u, 1, completion, "completion");
      expect((await feedback(u, m, { rating: "like" })).status).toBe(200);
    });
  });

  describe("saved messages (completion)", () => {
    const saved = async (u: User, query = "") => {
      const res = await s.api(`/saved-messages${query}`, { passport: u.token });
      return { status: res.status, body: (await res.json()) as any };
    };
    const save = (u: User, body: object) => send(u, "POST", "/saved-messages", body);

    it("saves idempotently, lists by the message's created_at (newest first), deletes", async () => {
      const u = await user(completion);
      const { ids: m } = await seed(u, 4, completion, "completion");
      expect(await saved(u)).toEqual({ status: 200, body: { limit: 20, has_more: false, data: [] } });
      for (const id of [m[0], m[2], m[1], m[2]]) {
        const res = await save(u, { message_id: id });
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ result: "success" });
      }
      expect(await s.rt.db.savedMessage.count({ where: { createdBy: u.endUserId } })).toBe(3);
      await feedback(u, m[2], { rating: "dislike" });
      const { body } = await saved(u);
      expect(ids(body)).toEqual([m[2], m[1], m[0]]);
      expect(body.data[0]).toEqual({
        id: m[2],
        inputs: { traveller: "Ana" },
        query: "question 2",
        answer: "answer 2",
        message_files: [],
        feedback: { rating: "dislike" },
        created_at: unix(minutes(2)),
      });

      const del = await send(u, "DELETE", `/saved-messages/${m[1]}`);
      expect(del.status).toBe(204);
      expect(ids((await saved(u)).body)).toEqual([m[2], m[0]]);
      expect((await send(u, "DELETE", `/saved-messages/${m[1]}`)).status).toBe(204); // absent: no-op
      expect((await send(u, "DELETE", `/saved-messages/${UNKNOWN}`)).status).toBe(204);
      expect((await send(u, "DELETE", "/saved-messages/nope")).status).toBe(404);
    });

    it("pages with last_id and refuses an unknown one with an empty invalid_param", async () => {
      const u = await user(completion);
      const { ids: m } = await seed(u, 5, completion, "completion");
      for (const id of m.slice(0, 4)) await save(u, { message_id: id });
      const p1 = await saved(u, "?limit=2");
      expect(ids(p1.body)).toEqual([m[3], m[2]]);
      expect(p1.body).toMatchObject({ limit: 2, has_more: true });
      const p2 = await saved(u, `?limit=2&last_id=${m[2]}`);
      expect(ids(p2.body)).toEqual([m[1], m[0]]); // exactly limit left
      expect(p2.body.has_more).toBe(false);
      const p3 = await saved(u, `?limit=1&last_id=${m[2]}`);
      expect(ids(p3.body)).toEqual([m[1]]);
      expect(p3.body.has_more).toBe(true);
      expect(await saved(u, `?last_id=${UNKNOWN}`)).toEqual({ status: 400, body: { code: "invalid_param", message: "", status: 400 } });
      expect((await saved(u, `?last_id=${m[4]}`)).status).toBe(400); // not saved
      expect((await saved(u, "?limit=0")).body).toMatchObject({ code: "invalid_param", params: "limit" });
      expect((await saved(u, "?last_id=abc")).body).toMatchObject({ code: "invalid_param", params: "last_id" });
    });

    it("checks message_id on save", async () => {
      const u = await user(completion);
      const unknown = await save(u, { message_id: UNKNOWN });
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({ code: "not_found", message: "Message Not Exists.", status: 404 });
      expect((await save(u, { message_id: "" })).status).toBe(404);
      const missing = await save(u, {});
      expect(missing.status).toBe(400);
      expect((await missing.json()).code).toBe("invalid_param");
      const malformed = await save(u, { message_id: "abc" });
      expect(malformed.status).toBe(400);
      expect((await malformed.json()).code).toBe("invalid_param");
    });

    it("answers not_completion_app on a chat app", async () => {
      const u = await user();
      const { ids: [m] } = await seed(u, 1);
      const calls: [string, string, object?][] = [
        ["GET", "/saved-messages"],
        ["POST", "/saved-messages", { message_id: m }],
        ["DELETE", `/saved-messages/${m}`],
      ];
      for (const [method, path, body] of calls) {
        const res = await send(u, method, path, body);
        expect(res.status, `${method} ${path}`).toBe(400);
        expect((await res.json()).code).toBe("not_completion_app");
      }
    });
  });

  describe("ownership", () => {
    it("hides one end user's messages and feedback from another end user and another app", async () => {
      const owner = await user();
      const { conversationId, ids: [m0, m1] } = await seed(owner, 2);
      await feedback(owner, m1, { rating: "like" });
      for (const stranger of [await user(), await user(otherChat)]) {
        expect(await list(stranger, `?conversation_id=${conversationId}`)).toEqual({
          status: 404,
          body: { code: "not_found", message: "Conversation Not Exists.", status: 404 },
        });
        expect((await list(stranger, "?conversation_id=")).body.data).toEqual([]);
        for (const rating of ["dislike", null]) {
          const res = await feedback(stranger, m1, { rating });
          expect(res.status).toBe(404);
          expect(await res.json()).toEqual({ code: "not_found", message: "Message Not Exists.", status: 404 });
        }
        expect((await feedback(stranger, m0, { rating: "like" })).status).toBe(404);
      }
      const mine = await list(owner, `?conversation_id=${conversationId}`);
      expect(mine.body.data.map((m: any) => m.feedback)).toEqual([null, { rating: "like" }]);
      expect(await s.rt.db.messageFeedback.count({ where: { messageId: { in: [m0, m1] } } })).toBe(1);
    });

    it("lists only the viewer's own messages, even inside their conversation", async () => {
      const owner = await user();
      const intruder = await user();
      const { conversationId, ids: [m0] } = await seed(owner, 1);
      await s.rt.db.message.create({
        data: { appId: chat.id, conversationId, query: "not yours", fromSource: "api", fromEndUserId: intruder.endUserId, createdAt: minutes(5) },
      });
      expect(ids((await list(owner, `?conversation_id=${conversationId}`)).body)).toEqual([m0]);
    });

    it("keeps saved messages per end user and per app", async () => {
      const owner = await user(completion);
      const { ids: [m] } = await seed(owner, 1, completion, "completion");
      await save(owner, { message_id: m });
      const stranger = await user(completion);
      expect((await s.api("/saved-messages", { passport: stranger.token }).then((r) => r.json()))).toEqual({ limit: 20, has_more: false, data: [] });
      const res = await save(stranger, { message_id: m });
      expect(res.status).toBe(404);
      expect((await res.json()).message).toBe("Message Not Exists.");
      expect((await s.api(`/saved-messages?last_id=${m}`, { passport: stranger.token })).status).toBe(400);
      expect((await send(stranger, "DELETE", `/saved-messages/${m}`)).status).toBe(204);
      expect((await feedback(stranger, m, { rating: "like" })).status).toBe(404);
      const ownerList = await (await s.api("/saved-messages", { passport: owner.token })).json();
      expect(ids(ownerList)).toEqual([m]);
    });

    function save(u: User, body: object) {
      return send(u, "POST", "/saved-messages", body);
    }
  });
});
