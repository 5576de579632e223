// GET /conversations, DELETE /conversations/{id}, POST .../name, PATCH .../pin and .../unpin.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conversationService } from "../../src/core/conversations/conversation.service.js";
import type { Viewer } from "../../src/core/auth/passport.service.js";
import { backends, startTestServer, type TestServer } from "../support/server.js";

type User = { token: string; endUserId: string };

const T0 = Date.parse("2025-01-01T00:00:00Z");
const minutes = (n: number) => new Date(T0 + n * 60_000);
const unix = (d: Date) => Math.floor(d.getTime() / 1000);
const endUserOf = (token: string): string => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).end_user_id;

describe.each(backends)("conversations over REST on %s", (backend) => {
  let s: TestServer;
  let chat: { id: string; code: string };
  let otherChat: { id: string; code: string };
  let completion: { id: string; code: string };

  beforeAll(async () => {
    s = await startTestServer(backend);
    chat = await s.importApp("apps/chat-travel-planner.yml");
    otherChat = await s.importApp("apps/chat-travel-planner.yml");
    completion = await s.importApp("apps/completion-slogan-writer.yml");
  });
  afterAll(() => s?.close());

  const user = async (code = chat.code): Promise<User> => {
    const token = await s.passport(code);
    return { token, endUserId: endUserOf(token) };
  };

  /**
   * `n` conversations of the user: conversation i created at minute i, updated at minute 100 + (2i mod n)
   * (n odd), so that created and updated order differ.
   */
  const seed = async (u: User, n: number, extra: Record<string, unknown> = {}) => {
    const rows = [];
    for (let i = 0; i < n; i++) {
      rows.push(
        await s.rt.db.conversation.create({
          data: {
            appId: chat.id,
            mode: "chat",
            name: `conversation ${i}`,
            inputs: { traveller: `T${i}` },
            introduction: "Where would you like to go?",
            fromSource: "api",
            invokeFrom: "web-app",
            fromEndUserId: u.endUserId,
            createdAt: minutes(i),
            updatedAt: minutes(100 + ((2 * i) % n)),
            ...extra,
          },
        }),
      );
    }
    return rows;
  };

  const addMessages = async (u: User, conversationId: string, queries: string[]) => {
    let parent: string | null = null;
    const ids: string[] = [];
    for (const [i, query] of queries.entries()) {
      const m: { id: string } = await s.rt.db.message.create({
        data: {
          appId: chat.id,
          conversationId,
          parentMessageId: parent,
          query,
          answer: `answer ${i}`,
          fromSource: "api",
          invokeFrom: "web-app",
          fromEndUserId: u.endUserId,
          appMode: "chat",
          createdAt: minutes(200 + i),
        },
      });
      parent = m.id;
      ids.push(m.id);
    }
    return ids;
  };

  const get = async (u: User, query = "") => {
    const res = await s.api(`/conversations${query}`, { passport: u.token });
    return { status: res.status, body: (await res.json()) as any };
  };
  const ids = (body: any) => body.data.map((c: { id: string }) => c.id);
  const send = (u: User, method: string, path: string, body?: object) =>
    s.api(path, {
      method,
      passport: u.token,
      ...(body ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {}),
    });

  it("lists the end user's conversations in Dify's shape", async () => {
    const u = await user();
    const [c] = await seed(u, 1);
    const { status, body } = await get(u);
    expect(status).toBe(200);
    expect(body).toEqual({
      limit: 20,
      has_more: false,
      data: [
        {
          id: c.id,
          name: "conversation 0",
          inputs: { traveller: "T0" },
          status: "normal",
          introduction: "Where would you like to go?",
          created_at: unix(minutes(0)),
          updated_at: unix(minutes(100)),
        },
      ],
    });
  });

  it("leaves out other invoke sources, deleted rows and console rows; keeps invoke_from NULL", async () => {
    const u = await user();
    const [web] = await seed(u, 1);
    const [legacy] = await seed(u, 1, { invokeFrom: null });
    await seed(u, 1, { invokeFrom: "service-api" });
    await seed(u, 1, { isDeleted: true });
    await seed(u, 1, { fromSource: "console" });
    expect(ids((await get(u)).body).sort()).toEqual([web.id, legacy.id].sort());
  });

  it("checks limit: 1..100, default 20", async () => {
    const u = await user();
    await seed(u, 3);
    expect((await get(u)).body.limit).toBe(20);
    const one = await get(u, "?limit=1");
    expect(one.body).toMatchObject({ limit: 1, has_more: true });
    expect(one.body.data).toHaveLength(1);
    expect((await get(u, "?limit=100")).body).toMatchObject({ limit: 100, has_more: false });
    for (const bad of ["0", "101", "-1", "abc", "", "1.5"]) {
      const res = await get(u, `?limit=${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body).toMatchObject({ code: "invalid_param", params: "limit", status: 400 });
    }
  });

  it("sorts by each sort_by value, -updated_at by default, and refuses others", async () => {
    const u = await user();
    const rows = await seed(u, 5); // updated order (asc): 0, 3, 1, 4, 2
    const byCreated = rows.map((r) => r.id);
    const byUpdated = [0, 3, 1, 4, 2].map((i) => rows[i].id);
    expect(ids((await get(u)).body)).toEqual([...byUpdated].reverse());
    expect(ids((await get(u, "?sort_by=-updated_at")).body)).toEqual([...byUpdated].reverse());
    expect(ids((await get(u, "?sort_by=updated_at")).body)).toEqual(byUpdated);
    expect(ids((await get(u, "?sort_by=created_at")).body)).toEqual(byCreated);
    expect(ids((await get(u, "?sort_by=-created_at")).body)).toEqual([...byCreated].reverse());
    for (const bad of ["name", "", "+created_at"]) {
      const res = await get(u, `?sort_by=${encodeURIComponent(bad)}`);
      expect(res.status, bad).toBe(400);
      expect(res.body).toMatchObject({ code: "invalid_param", params: "sort_by" });
    }
  });

  it("filters by pinned=true / false, all when absent", async () => {
    const u = await user();
    const rows = await seed(u, 5);
    const none = await get(u, "?pinned=true");
    expect(none.body).toEqual({ limit: 20, has_more: false, data: [] });
    for (const i of [1, 3]) expect((await send(u, "PATCH", `/conversations/${rows[i].id}/pin`)).status).toBe(200);
    expect(ids((await get(u, "?pinned=true&sort_by=created_at")).body)).toEqual([rows[1].id, rows[3].id]);
    expect(ids((await get(u, "?pinned=false&sort_by=created_at")).body)).toEqual([rows[0].id, rows[2].id, rows[4].id]);
    expect((await get(u, "?sort_by=created_at")).body.data).toHaveLength(5);
    const bad = await get(u, "?pinned=yes");
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: "invalid_param", params: "pinned" });
    // Another user's pins are not this user's.
    const other = await user();
    await seed(other, 1);
    expect((await get(other, "?pinned=true")).body.data).toEqual([]);
    expect((await get(other, "?pinned=false")).body.data).toHaveLength(1);
  });

  it("pages with last_id: has_more with limit+1 rows, not with exactly limit rows left", async () => {
    const u = await user();
    const rows = await seed(u, 5);
    const order = [...[0, 3, 1, 4, 2].map((i) => rows[i].id)].reverse(); // -updated_at
    const p1 = await get(u, "?limit=2");
    expect(p1.body).toMatchObject({ limit: 2, has_more: true });
    expect(ids(p1.body)).toEqual(order.slice(0, 2));
    const p2 = await get(u, `?limit=2&last_id=${order[1]}`);
    expect(p2.body.has_more).toBe(true); // three left: limit + 1
    expect(ids(p2.body)).toEqual(order.slice(2, 4));
    const p3 = await get(u, `?limit=2&last_id=${order[3]}`);
    expect(p3.body).toMatchObject({ has_more: false });
    expect(ids(p3.body)).toEqual(order.slice(4));
    // Exactly `limit` rows after the page: no more.
    const exact = await get(u, `?limit=2&last_id=${order[2]}`);
    expect(ids(exact.body)).toEqual(order.slice(3, 5));
    expect(exact.body.has_more).toBe(false);
    // The whole list in one page of exactly its size.
    expect((await get(u, "?limit=5")).body.has_more).toBe(false);
    expect((await get(u, "?limit=4")).body.has_more).toBe(true);
    // Ascending created_at, and last_id "" means the first page.
    const asc = await get(u, `?limit=3&sort_by=created_at&last_id=${rows[1].id}`);
    expect(ids(asc.body)).toEqual([rows[2].id, rows[3].id, rows[4].id]);
    expect(asc.body.has_more).toBe(false);
    expect(ids((await get(u, "?limit=2&last_id=")).body)).toEqual(order.slice(0, 2));
  });

  it("pages through rows with equal sort values without losing any", async () => {
    const u = await user();
    const rows = await seed(u, 5, { updatedAt: minutes(50) });
    const seen: string[] = [];
    let last = "";
    for (let page = 0; page < 5; page++) {
      const { body } = await get(u, `?limit=2${last ? `&last_id=${last}` : ""}`);
      seen.push(...ids(body));
      if (!body.has_more) break;
      last = body.data.at(-1).id;
    }
    expect(seen.sort()).toEqual(rows.map((r) => r.id).sort());
  });

  it("answers 404 for an unknown last_id and 400 for a malformed one", async () => {
    const u = await user();
    await seed(u, 2);
    const unknown = await get(u, "?last_id=00000000-0000-4000-8000-000000000000");
    expect(unknown).toEqual({ status: 404, body: { code: "not_found", message: "Last Conversation Not Exists.", status: 404 } });
    const malformed = await get(u, "?last_id=abc");
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: "invalid_param", params: "last_id" });
    // A conversation outside the filtered set is unknown too.
    const [unpinned] = await seed(u, 1);
    expect((await get(u, `?pinned=true&last_id=${unpinned.id}`)).status).toBe(404);
  });

  it("DELETE removes the conversation and its messages (204), then 404", async () => {
    const u = await user();
    const [keep, gone] = await seed(u, 2);
    await addMessages(u, gone.id, ["hello", "again"]);
    await send(u, "PATCH", `/conversations/${gone.id}/pin`);
    const res = await send(u, "DELETE", `/conversations/${gone.id}`);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect(ids((await get(u)).body)).toEqual([keep.id]);
    expect(await s.rt.db.message.count({ where: { conversationId: gone.id } })).toBe(0);
    expect(await s.rt.db.pinnedConversation.count({ where: { conversationId: gone.id } })).toBe(0);
    const again = await send(u, "DELETE", `/conversations/${gone.id}`);
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ code: "not_found", message: "Conversation Not Exists.", status: 404 });
    expect((await send(u, "DELETE", "/conversations/not-a-uuid")).status).toBe(404);
  });

  it("renames manually: non-blank name required, updated_at bumped", async () => {
    const u = await user();
    const [c] = await seed(u, 1);
    const before = Math.floor(Date.now() / 1000);
    const res = await send(u, "POST", `/conversations/${c.id}/name`, { name: "Kyoto in spring" });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({
      id: c.id,
      name: "Kyoto in spring",
      inputs: { traveller: "T0" },
      status: "normal",
      introduction: "Where would you like to go?",
      created_at: unix(minutes(0)),
      updated_at: expect.any(Number),
    });
    expect(body.updated_at).toBeGreaterThanOrEqual(before);
    expect((await get(u)).body.data[0]).toMatchObject({ name: "Kyoto in spring", updated_at: body.updated_at });

    for (const bad of [{ name: "   " }, {}, { name: "" }, { auto_generate: false }]) {
      const r = await send(u, "POST", `/conversations/${c.id}/name`, bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect((await r.json()).code).toBe("invalid_param");
    }
    const unknown = await send(u, "POST", "/conversations/00000000-0000-4000-8000-000000000000/name", { name: "x" });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).message).toBe("Conversation Not Exists.");
  });

  it("auto-generates a name with the model, and answers invalid_param without messages", async () => {
    const u = await user();
    const [c, empty] = await seed(u, 2);
    await addMessages(u, c.id, ["Plan a week in Lisbon", "And Porto?"]);
    const res = await send(u, "POST", `/conversations/${c.id}/name`, { auto_generate: true });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(typeof body.name).toBe("string");
    expect(body.name.trim()).not.toBe("");
    expect(body.name).not.toBe("conversation 0");
    expect([...body.name].length).toBeLessThanOrEqual(100);
    expect((await s.rt.db.conversation.findUniqueOrThrow({ where: { id: c.id } })).name).toBe(body.name);

    const none = await send(u, "POST", `/conversations/${empty.id}/name`, { auto_generate: true });
    expect(none.status).toBe(400);
    expect(await none.json()).toEqual({ code: "invalid_param", message: "", status: 400 });
  });

  it("auto-generate asks about the first message's query and keeps the name when the model fails", async () => {
    const u = await user();
    const [c] = await seed(u, 1);
    await addMessages(u, c.id, ["first question", "second question"]);
    const app = await s.rt.db.app.findUniqueOrThrow({ where: { id: chat.id }, include: { site: true } });
    const { site, ...appRow } = app;
    const endUser = await s.rt.db.endUser.findUniqueOrThrow({ where: { id: u.endUserId } });
    const viewer: Viewer = { app: appRow, site: site!, endUser };
    const asked: string[] = [];
    // The use case with naming functions of the test's own: one that answers, one whose model is down.
    const naming = conversationService({ db: s.rt.db, nameConversation: async (_app, q) => (asked.push(q), "Two questions") });
    const renamed = await naming.rename(viewer, c.id, { autoGenerate: true });
    expect(asked).toEqual(["first question"]);
    expect(renamed.name).toBe("Two questions");
    const failing = conversationService({
      db: s.rt.db,
      nameConversation: async () => {
        throw new Error("model down");
      },
    });
    const kept = await failing.rename(viewer, c.id, { autoGenerate: true });
    expect(kept.name).toBe("Two questions");
  });

  it("pins idempotently and unpins as a no-op when not pinned", async () => {
    const u = await user();
    const [c] = await seed(u, 1);
    for (let i = 0; i < 2; i++) {
      const res = await send(u, "PATCH", `/conversations/${c.id}/pin`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ result: "success" });
    }
    expect(await s.rt.db.pinnedConversation.count({ where: { conversationId: c.id } })).toBe(1);
    const row = await s.rt.db.pinnedConversation.findFirstOrThrow({ where: { conversationId: c.id } });
    expect(row).toMatchObject({ appId: chat.id, createdBy: u.endUserId, createdByRole: "end_user" });
    for (let i = 0; i < 2; i++) {
      const res = await send(u, "PATCH", `/conversations/${c.id}/unpin`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ result: "success" });
    }
    expect(await s.rt.db.pinnedConversation.count({ where: { conversationId: c.id } })).toBe(0);
    const unknown = "00000000-0000-4000-8000-000000000000";
    expect((await send(u, "PATCH", `/conversations/${unknown}/unpin`)).status).toBe(200);
    const pinUnknown = await send(u, "PATCH", `/conversations/${unknown}/pin`);
    expect(pinUnknown.status).toBe(404);
    expect(await pinUnknown.json()).toEqual({ code: "not_found", message: "Conversation Not Exists.", status: 404 });
    expect((await send(u, "PATCH", "/conversations/nope/pin")).status).toBe(404);
  });

  it("answers not_chat_app on a completion app", async () => {
    const u = await user(completion.code);
    const id = "00000000-0000-4000-8000-000000000000";
    const calls: [string, string, object?][] = [
      ["GET", "/conversations"],
      ["DELETE", `/conversations/${id}`],
      ["POST", `/conversations/${id}/name`, { name: "x" }],
      ["PATCH", `/conversations/${id}/pin`],
      ["PATCH", `/conversations/${id}/unpin`],
    ];
    for (const [method, path, body] of calls) {
      const res = await send(u, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(400);
      expect((await res.json()).code).toBe("not_chat_app");
    }
  });

  it("keeps a conversation invisible to other end users and other apps", async () => {
    const owner = await user();
    const [c] = await seed(owner, 1);
    await addMessages(owner, c.id, ["mine"]);
    await send(owner, "PATCH", `/conversations/${c.id}/pin`);
    for (const stranger of [await user(), await user(otherChat.code)]) {
      expect((await get(stranger)).body).toEqual({ limit: 20, has_more: false, data: [] });
      expect((await get(stranger, "?pinned=true")).body.data).toEqual([]);
      expect((await get(stranger, `?last_id=${c.id}`)).status).toBe(404);
      for (const [method, path, body] of [
        ["DELETE", `/conversations/${c.id}`],
        ["POST", `/conversations/${c.id}/name`, { name: "stolen" }],
        ["POST", `/conversations/${c.id}/name`, { auto_generate: true }],
        ["PATCH", `/conversations/${c.id}/pin`],
      ] as [string, string, object?][]) {
        const res = await send(stranger, method, path, body);
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(await res.json()).toEqual({ code: "not_found", message: "Conversation Not Exists.", status: 404 });
      }
      // Unpin answers success but leaves the owner's pin alone.
      expect((await send(stranger, "PATCH", `/conversations/${c.id}/unpin`)).status).toBe(200);
    }
    const after = await s.rt.db.conversation.findUniqueOrThrow({ where: { id: c.id } });
    expect(after.name).toBe("conversation 0");
    expect(ids((await get(owner, "?pinned=true")).body)).toEqual([c.id]);
  });
});
