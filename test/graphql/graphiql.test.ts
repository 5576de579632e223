// GraphiQL is served by appgraph itself: the page and everything it loads come from appgraph, no CDN,
// and the example operations it opens with run as written.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, type DefaultTreeAdapterMap } from "parse5";
import { gql, gqlWs, wsEvents } from "../support/graphql.js";
import { startTestServer, type TestServer } from "../support/server.js";

type Element = DefaultTreeAdapterMap["element"];
type Node = DefaultTreeAdapterMap["node"];

function elements(node: Node): Element[] {
  const own = "tagName" in node ? [node as Element] : [];
  const children = "childNodes" in node ? node.childNodes : [];
  const content = "content" in node ? [node.content as Node] : []; // <template>
  return [...own, ...[...children, ...content].flatMap(elements)];
}

const attr = (el: Element, name: string) => el.attrs.find((a) => a.name === name)?.value;
const textOf = (el: Element) => el.childNodes.map((n) => ("value" in n ? n.value : "")).join("");

type Page = {
  html: string;
  /** Every URL an element of the page names (src, href), resolved. */
  urls: URL[];
  scripts: URL[];
  stylesheets: URL[];
  icons: URL[];
  /** Scripts the browser would run inline. */
  inlineScripts: string[];
  settings: { options: Record<string, any>; workers: Record<string, string> };
};

describe("GraphiQL served by appgraph", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer("pglite");
  });
  afterAll(() => s?.close());

  async function loadPage(): Promise<Page> {
    // What a browser sends when it opens /graphql.
    const res = await fetch(`${s.url}/graphql`, { headers: { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    const all = elements(parse(html));
    const base = `${s.url}/graphql`;
    const url = (v: string) => new URL(v, base);
    const named = all.flatMap((el) => ["src", "href"].map((a) => attr(el, a)).filter((v): v is string => v != null));
    const scriptEls = all.filter((el) => el.tagName === "script");
    const links = all.filter((el) => el.tagName === "link");
    const settingsEl = scriptEls.find((el) => attr(el, "id") === "graphiql-settings")!;
    return {
      html,
      urls: named.map(url),
      scripts: scriptEls.map((el) => attr(el, "src")).filter((v): v is string => v != null).map(url),
      stylesheets: links.filter((el) => attr(el, "rel") === "stylesheet").map((el) => url(attr(el, "href")!)),
      icons: links.filter((el) => attr(el, "rel") === "icon").map((el) => url(attr(el, "href")!)),
      inlineScripts: scriptEls.filter((el) => !attr(el, "src") && attr(el, "type") !== "application/json").map(textOf),
      settings: JSON.parse(textOf(settingsEl)),
    };
  }

  async function expectServed(u: URL, type: RegExp): Promise<string> {
    const res = await fetch(u);
    expect(res.status, u.href).toBe(200);
    expect(res.headers.get("content-type"), u.href).toMatch(type);
    expect(res.headers.get("cache-control"), u.href).toBe("public, max-age=31536000, immutable");
    return res.text();
  }

  it("references only appgraph's own scripts, stylesheet, icon and editor workers, each served with its type", async () => {
    const page = await loadPage();
    const origin = new URL(s.url).origin;
    expect(page.urls.length).toBeGreaterThan(0);
    for (const u of page.urls) expect(u.origin, u.href).toBe(origin);
    expect(page.html).not.toMatch(/unpkg|jsdelivr|cdnjs|googleapis/);
    // No inline script: a Content-Security-Policy of script-src 'self' holds.
    expect(page.inlineScripts).toEqual([]);
    expect(page.html).toMatch(/<meta http-equiv="Content-Security-Policy" content="[^"]*script-src 'self';/);

    expect(page.scripts.map((u) => u.pathname)).toEqual(["/graphiql/graphiql.js", "/graphiql/start.js"]);
    const [bundle, start] = await Promise.all(page.scripts.map((u) => expectServed(u, /^text\/javascript/)));
    expect(bundle).toContain("renderYogaGraphiQL");
    // The start script points Monaco at the workers the page lists (Monaco creates them as it needs them).
    expect(start).toContain("settings.workers[label]");
    expect(Object.keys(page.settings.workers).sort()).toEqual(["editorWorkerService", "graphql", "json"]);
    for (const w of Object.values(page.settings.workers)) {
      const u = new URL(w, s.url);
      expect(u.origin).toBe(origin);
      expect(await expectServed(u, /^text\/javascript/)).toMatch(/^\(\(\) => \{/);
    }

    expect(page.stylesheets.map((u) => u.pathname)).toEqual(["/graphiql/graphiql.css"]);
    const css = await expectServed(page.stylesheets[0], /^text\/css/);
    // Fonts and images the stylesheet uses are inline data; anything else must be ours and served.
    const cssRefs = [...css.matchAll(/url\(\s*["']?([^"')]+)/g)].map((m) => m[1]);
    expect(cssRefs.filter((r) => r.startsWith("data:font/")).length).toBeGreaterThan(0);
    for (const ref of cssRefs.filter((r) => !r.startsWith("data:") && !r.startsWith("#"))) {
      const u = new URL(ref, page.stylesheets[0]);
      expect(u.origin, ref).toBe(origin);
      expect((await fetch(u)).status, ref).toBe(200);
    }

    expect(page.icons).toHaveLength(1);
    const icon = await fetch(page.icons[0]);
    expect(icon.status).toBe(200);
    expect(icon.headers.get("content-type")).toBe("image/x-icon");
    expect([...new Uint8Array(await icon.arrayBuffer()).subarray(0, 4)]).toEqual([0, 0, 1, 0]); // an ICO header
  });

  it("compresses, revalidates, answers HEAD, and refuses unknown assets and methods", async () => {
    const page = await loadPage();
    const js = page.scripts[0];
    const plain = await fetch(js, { headers: { "accept-encoding": "identity" } });
    expect(plain.headers.get("content-encoding")).toBeNull();
    const body = await plain.text();
    const gzipped = await fetch(js, { headers: { "accept-encoding": "gzip" } });
    expect(gzipped.headers.get("content-encoding")).toBe("gzip");
    expect(Number(gzipped.headers.get("content-length"))).toBeLessThan(body.length / 2);
    expect(await gzipped.text()).toBe(body);

    const etag = plain.headers.get("etag")!;
    expect(gzipped.headers.get("etag")).not.toBe(etag);
    const revalidated = await fetch(js, { headers: { "accept-encoding": "identity", "if-none-match": `"other", ${etag}` } });
    expect(revalidated.status).toBe(304);
    expect((await fetch(js, { headers: { "accept-encoding": "gzip", "if-none-match": etag } })).status).toBe(200);
    const head = await fetch(js, { method: "HEAD", headers: { "accept-encoding": "identity" } });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBe(Buffer.byteLength(body));
    // Only the URL of the current content may be kept for good.
    const unversioned = await fetch(`${s.url}${js.pathname}?v=old`);
    expect(unversioned.status).toBe(200);
    expect(unversioned.headers.get("cache-control")).toBe("no-cache");
    await unversioned.arrayBuffer();

    const unknown = await fetch(`${s.url}/graphiql/react.js`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: "not_found", status: 404 });
    const post = await fetch(js, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect(await post.json()).toEqual({ code: "method_not_allowed", message: expect.any(String), status: 405 });
  });

  it("opens with example operations that run as written, the passport going in the headers", async () => {
    const { options } = (await loadPage()).settings;
    expect(options.subscriptionsProtocol).toBe("WS");
    const document: string = options.defaultQuery.replace("YOUR_APP_CODE", s.demo!.code);
    const defaultHeaders: Record<string, string> = JSON.parse(options.defaultHeaders);
    expect(Object.keys(defaultHeaders)).toEqual(["Authorization"]);
    const run = async (operationName: string, headers: Record<string, string>) => {
      const body = await gql(s, document, {}, { headers, operationName });
      expect(body.errors).toBeUndefined();
      return body.data;
    };

    // The placeholder header is harmless for the passport, and explains itself everywhere else.
    const { accessToken } = (await run("GetPassport", defaultHeaders)).passport;
    expect(accessToken).toMatch(/^ey/);
    expect((await run("CurrentApp", defaultHeaders)).currentApp).toMatchObject({ code: "unauthorized" });
    const headers = { Authorization: `Bearer ${accessToken}` };
    expect((await run("CurrentApp", headers)).currentApp).toMatchObject({ name: "appgraph demo chat", mode: "CHAT" });

    // Over graphql-ws the page sends the header editor's JSON, keys lower-cased, as connectionParams.
    const connectionParams = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    const client = gqlWs(s, { connectionParams });
    try {
      const events = await wsEvents(client, document, {}, { operationName: "Chat" });
      expect(events.at(0)?.__typename).toBe("MessageDelta");
      expect(events.at(-1)).toMatchObject({ __typename: "MessageEnd", message: { id: expect.any(String) } });
    } finally {
      await client.dispose();
    }
  });
});
