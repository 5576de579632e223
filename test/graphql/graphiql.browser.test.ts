// GraphiQL in a real browser: it renders from appgraph's own assets with no failed request, and runs a
// chat subscription over graphql-ws with the passport typed into its header editor.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { startTestServer, type TestServer } from "../support/server.js";

const CHROMIUM = "/usr/bin/chromium";
// Chromium is a Debian package (`apt-get install chromium`), not an npm one: a machine without it
// skips these two tests; the asset checks in graphiql.test.ts run everywhere.
const hasChromium = fs.existsSync(CHROMIUM);

const SCREENSHOT = path.join(os.tmpdir(), "appgraph-graphiql.png");
const SUBSCRIPTION_SCREENSHOT = path.join(os.tmpdir(), "appgraph-graphiql-subscription.png");

type Watched = { page: Page; problems: string[]; requests: string[]; workers: string[]; wsFramesSent: string[] };

describe("GraphiQL in Chromium", () => {
  let s: TestServer;
  const contexts: BrowserContext[] = [];
  const dirs: string[] = [];
  beforeAll(async () => {
    s = await startTestServer("pglite");
  });
  afterAll(async () => {
    for (const c of contexts) await c.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    await s?.close();
  });

  /** A fresh browser profile, with everything that goes wrong on the page recorded. */
  async function openBrowser(): Promise<Watched> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "appgraph-chromium-"));
    dirs.push(dir);
    const context = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 720 },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    contexts.push(context);
    const page = context.pages()[0] ?? (await context.newPage());
    const w: Watched = { page, problems: [], requests: [], workers: [], wsFramesSent: [] };
    page.on("request", (r) => w.requests.push(r.url()));
    page.on("requestfailed", (r) => w.problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on("response", (r) => r.status() >= 400 && w.problems.push(`${r.status()}: ${r.url()}`));
    page.on("pageerror", (e) => w.problems.push(`page error: ${e.message}`));
    // CSP violations and failed loads are reported on the console as errors.
    page.on("console", (m) => m.type() === "error" && w.problems.push(`console: ${m.text()}`));
    page.on("worker", (worker) => w.workers.push(worker.url()));
    page.on("websocket", (ws) => ws.on("framesent", (f) => w.wsFramesSent.push(String(f.payload))));
    return w;
  }

  const queryEditorReady = (page: Page) => page.locator('.graphiql-query-editor .view-line:has-text("mutation GetPassport")').waitFor();

  /** Monaco renders spaces as no-break spaces. */
  const waitForResponse = (page: Page, text: string) =>
    page.waitForFunction((t) => document.querySelector(".graphiql-response")?.textContent?.replace(/\u00a0/g, " ").includes(t), text);

  async function runOperation(page: Page, name: string) {
    await page.locator(".graphiql-execute-button").click();
    await page.getByRole("menuitem", { name, exact: true }).click();
  }

  it.skipIf(!hasChromium)("renders the editors and their workers from appgraph alone, with no failed request", async () => {
    const w = await openBrowser();
    const workerLabels = ["editor.worker.js", "json.worker.js", "graphql.worker.js"];
    const workersStarted = Promise.all(
      workerLabels.map((name) => w.page.waitForEvent("worker", { predicate: (worker) => worker.url().includes(`/graphiql/${name}`) })),
    );
    await w.page.goto(`${s.url}/graphql`);
    await w.page.locator(".graphiql-container").first().waitFor();
    await queryEditorReady(w.page);
    await w.page.locator('.graphiql-editor-tool .view-line:has-text("Authorization")').waitFor();
    await workersStarted;
    await w.page.screenshot({ path: SCREENSHOT });

    expect(w.problems).toEqual([]);
    const origin = new URL(s.url).origin;
    const elsewhere = [...w.requests, ...w.workers].filter((u) => /^(https?|wss?):/.test(u) && new URL(u).origin !== origin);
    expect(elsewhere).toEqual([]);
    expect(w.requests.map((u) => new URL(u).pathname)).toEqual(
      expect.arrayContaining(["/graphql", "/graphiql/graphiql.css", "/graphiql/graphiql.js", "/graphiql/start.js", "/graphiql/favicon.ico"]),
    );
  });

  it.skipIf(!hasChromium)("runs the example chat subscription over graphql-ws with the passport from the header editor, also after a reload", async () => {
    const token = await s.passport(s.demo!.code);
    const w = await openBrowser();
    await w.page.goto(`${s.url}/graphql`);
    await queryEditorReady(w.page);

    // Replace the placeholder headers as a user pastes a passport. Monaco closes brackets and quotes
    // as text arrives: what it added after the cursor goes.
    await w.page.locator(".graphiql-editor-tool .monaco-editor").last().click();
    await w.page.keyboard.press("ControlOrMeta+A");
    await w.page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${token}` }));
    await w.page.keyboard.press("Shift+End");
    await w.page.keyboard.press("Delete");

    await runOperation(w.page, "CurrentApp");
    await waitForResponse(w.page, '"name": "appgraph demo chat"');
    await runOperation(w.page, "Chat");
    await waitForResponse(w.page, '"__typename": "MessageEnd"');
    const init = () => w.wsFramesSent.map((f) => JSON.parse(f)).filter((m) => m.type === "connection_init");
    expect(init()).toEqual([{ type: "connection_init", payload: { authorization: `Bearer ${token}` } }]);
    await w.page.screenshot({ path: SUBSCRIPTION_SCREENSHOT });

    // GraphiQL keeps the headers; after a reload they still reach graphql-ws without another edit.
    expect(w.problems).toEqual([]);
    await w.page.waitForFunction((t) => localStorage.getItem("graphiql:headers")?.includes(t), token);
    await w.page.reload();
    w.problems.length = 0; // the reload aborts what the old page still had in flight (its workers)
    await queryEditorReady(w.page);
    await runOperation(w.page, "Chat");
    await waitForResponse(w.page, '"__typename": "MessageEnd"');
    expect(init()).toHaveLength(2);
    expect(init()[1].payload).toEqual({ authorization: `Bearer ${token}` });
    expect(w.problems).toEqual([]);
  });
});
