// safeFetch against real node:http servers on 127.0.0.1. Nothing here ever reaches a non-loopback
// address: "public" names resolve through an injected resolver, and every refusal is asserted to
// happen before a socket is opened (a spy on net.Socket.prototype.connect counts connection attempts).
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import { AppError } from "../../src/core/errors.js";
import { parseAllowList, safeFetch, safeFetchStream, type OutboundPolicy } from "../../src/providers/http/safe-fetch.js";

type Seen = { method: string; url: string; headers: http.IncomingHttpHeaders; body: string; localAddress: string };

type TestServer = {
  port: number;
  origin: string;
  /** Requests fully received, in order. */
  seen: Seen[];
  /** TCP connections accepted. */
  connections: number;
  /** Resolves when every accepted connection has closed (and at least one was accepted). */
  allClosed(): Promise<void>;
  close(): Promise<void>;
};

const servers: TestServer[] = [];

/** A node:http server on `host`; `handler` answers after the request body has been read. */
async function startServer(handler: (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => void, host = "127.0.0.1"): Promise<TestServer> {
  const seen: Seen[] = [];
  const open = new Set<net.Socket>();
  let waiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const entry: Seen = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        localAddress: req.socket.localAddress ?? "",
      };
      seen.push(entry);
      handler(req, res, entry);
    });
  });
  const state = { connections: 0 };
  server.on("connection", (socket: net.Socket) => {
    state.connections++;
    open.add(socket);
    socket.on("close", () => {
      open.delete(socket);
      if (open.size === 0) {
        for (const w of waiters) w();
        waiters = [];
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const s: TestServer = {
    port,
    origin: `http://${host}:${port}`,
    seen,
    get connections() {
      return state.connections;
    },
    allClosed: () =>
      new Promise<void>((resolve) => {
        if (state.connections > 0 && open.size === 0) resolve();
        else waiters.push(resolve);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  servers.push(s);
  return s;
}

const ok = (body = "hello") => (_req: http.IncomingMessage, res: http.ServerResponse) => {
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(body);
};

const stall = () => {
  /* never answers */
};

/** A resolver for made-up names, recording every question. */
function fakeDns(table: Record<string, string[]>) {
  const asked: string[] = [];
  const resolve = vi.fn(async (hostname: string) => {
    asked.push(hostname);
    const answer = table[hostname];
    if (!answer) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return answer;
  });
  return { resolve, asked };
}

/** Runs `fn` and returns what it threw. */
async function caught(fn: () => Promise<unknown>): Promise<any> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a failure");
}

async function refused(url: string, policy?: OutboundPolicy, pattern?: RegExp): Promise<AppError> {
  const err = await caught(() => safeFetch(url, {}, policy));
  expect(err).toBeInstanceOf(AppError);
  expect(err.code).toBe("ssrf_refused");
  expect(err.status).toBe(400);
  if (pattern) expect(err.message).toMatch(pattern);
  return err;
}

let connects: MockInstance;
/** A resolver that must never be consulted (IP literals, refused schemes, blocked names). */
const noDns = vi.fn(async (hostname: string): Promise<string[]> => {
  throw new Error(`unexpected DNS lookup of ${hostname}`);
});

beforeEach(() => {
  connects = vi.spyOn(net.Socket.prototype, "connect");
  noDns.mockClear();
});

afterEach(async () => {
  connects.mockRestore();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe("destination checks", () => {
  it("refuses loopback by default, before connecting", async () => {
    const server = await startServer(ok());
    const err = await refused(`${server.origin}/`, { resolve: noDns }, /127\.0\.0\.1.*loopback/);
    expect(err.message).toContain("OUTBOUND_ALLOW");
    expect(server.connections).toBe(0);
    expect(connects).not.toHaveBeenCalled();
    expect(noDns).not.toHaveBeenCalled();
  });

  it("allows loopback listed by IP, by CIDR and by hostname", async () => {
    const server = await startServer(ok("from loopback"));
    const byIp = await safeFetch(`${server.origin}/a?x=1`, {}, { allow: ["127.0.0.1"] });
    expect(byIp.status).toBe(200);
    expect(byIp.body.toString()).toBe("from loopback");
    expect(byIp.url).toBe(`${server.origin}/a?x=1`);
    expect(byIp.redirects).toEqual([]);

    const byCidr = await safeFetch(`${server.origin}/b`, {}, { allow: ["10.0.0.0/8", "127.0.0.0/8"] });
    expect(byCidr.body.toString()).toBe("from loopback");

    const dns = fakeDns({ "internal.example": ["127.0.0.1"], "api.corp.example": ["127.0.0.1"] });
    const byName = await safeFetch(`http://internal.example:${server.port}/c`, {}, { allow: ["internal.example"], resolve: dns.resolve });
    expect(byName.body.toString()).toBe("from loopback");
    const bySuffix = await safeFetch(`http://api.corp.example:${server.port}/d`, {}, { allow: [".corp.example"], resolve: dns.resolve });
    expect(bySuffix.status).toBe(200);

    expect(server.seen.map((s) => s.url)).toEqual(["/a?x=1", "/b", "/c", "/d"]);
    // The Host header stays the name from the URL even though we connected to the address.
    expect(server.seen[2].headers.host).toBe(`internal.example:${server.port}`);
    expect(server.seen[3].headers.host).toBe(`api.corp.example:${server.port}`);
    expect(dns.asked).toEqual(["internal.example", "api.corp.example"]);
  });

  it("an allowed name does not allow other names or the bare address", async () => {
    const server = await startServer(ok());
    const dns = fakeDns({ "internal.example": ["127.0.0.1"], "other.example": ["127.0.0.1"], "sub.internal.example": ["127.0.0.1"] });
    const policy = { allow: ["internal.example"], resolve: dns.resolve };
    await refused(`http://other.example:${server.port}/`, policy, /other\.example.*127\.0\.0\.1.*loopback/);
    await refused(`http://127.0.0.1:${server.port}/`, policy);
    await refused(`http://sub.internal.example:${server.port}/`, policy, /loopback/);
    expect(server.connections).toBe(0);
  });

  it("refuses a public-looking name that resolves to loopback (DNS rebinding), without connecting", async () => {
    const server = await startServer(ok());
    const dns = fakeDns({ "rebind.example": ["127.0.0.1"], "mixed.example": ["93.184.215.14", "127.0.0.1"], "meta.example": ["169.254.169.254"] });
    await refused(`http://rebind.example:${server.port}/`, { resolve: dns.resolve }, /rebind\.example.*127\.0\.0\.1.*loopback/);
    // One bad address among good ones is enough to refuse: every answer must pass.
    await refused(`http://mixed.example:${server.port}/`, { resolve: dns.resolve }, /mixed\.example.*127\.0\.0\.1/);
    await refused(`http://meta.example/latest/meta-data/`, { resolve: dns.resolve }, /169\.254\.169\.254.*link-local/);
    expect(dns.asked).toEqual(["rebind.example", "mixed.example", "meta.example"]);
    expect(server.connections).toBe(0);
    expect(connects).not.toHaveBeenCalled();
  });

  it("pins the connection to the checked address: no second DNS answer is ever used", async () => {
    const server = await startServer(ok("pinned"));
    // First answer allowed, any later answer would be the cloud metadata address.
    let calls = 0;
    const resolve = vi.fn(async () => (++calls === 1 ? ["127.0.0.1"] : ["169.254.169.254"]));
    const res = await safeFetch(`http://pinned.example:${server.port}/`, {}, { allow: ["127.0.0.1"], resolve });
    expect(res.body.toString()).toBe("pinned");
    expect(resolve).toHaveBeenCalledTimes(1);
    expect(server.seen[0].headers.host).toBe(`pinned.example:${server.port}`);
    expect(server.seen[0].localAddress).toBe("127.0.0.1");
    // Node never did its own lookup of the made-up name (it would have failed with ENOTFOUND).
    expect(connects).toHaveBeenCalledTimes(1);
  });

  it("refuses IPv6 loopback, unspecified, private, link-local and IPv4-mapped/embedded forms", async () => {
    const cases: [string, RegExp][] = [
      ["http://[::1]:8080/", /loopback/],
      ["http://[0:0:0:0:0:0:0:1]/", /loopback/],
      ["http://[::]/", /unspecified/],
      ["http://[::ffff:127.0.0.1]/", /::ffff:7f00:1 \(127\.0\.0\.1\): loopback/],
      ["http://[::ffff:7f00:1]/", /\(127\.0\.0\.1\): loopback/],
      ["http://[0:0:0:0:0:ffff:a9fe:a9fe]/", /\(169\.254\.169\.254\): link-local/],
      ["http://[::ffff:10.1.2.3]/", /\(10\.1\.2\.3\): private/],
      ["http://[::127.0.0.1]/", /IPv4-compatible/],
      ["http://[64:ff9b::127.0.0.1]/", /embeds 127\.0\.0\.1, a loopback/],
      ["http://[2002:a9fe:a9fe::1]/", /embeds 169\.254\.169\.254/],
      ["http://[fe80::1]/", /link-local/],
      ["http://[fd00:ec2::254]/", /unique local/],
      ["http://[fc00::1]/", /unique local/],
      ["http://[ff02::1]/", /multicast/],
      ["http://[2001:db8::1]/", /documentation/],
    ];
    // Node's URL parser canonicalises the bracketed forms.
    expect(new URL("http://[::ffff:127.0.0.1]/").hostname).toBe("[::ffff:7f00:1]");
    for (const [url, why] of cases) await refused(url, { resolve: noDns }, why);

    const dns = fakeDns({ "v6.example": ["::1"], "mapped.example": ["::ffff:127.0.0.1"], "zone.example": ["fe80::1%eth0"] });
    await refused("http://v6.example/", { resolve: dns.resolve }, /::1\): loopback/);
    await refused("http://mapped.example/", { resolve: dns.resolve }, /127\.0\.0\.1\): loopback/);
    await refused("http://zone.example/", { resolve: dns.resolve }, /link-local/);
    expect(noDns).not.toHaveBeenCalled();
    expect(connects).not.toHaveBeenCalled();
  });

  it("an IPv4-mapped address is judged, and allowed, as the IPv4 address it is", async () => {
    const server = await startServer(ok("mapped ok"));
    const dns = fakeDns({ "mapped.example": ["::ffff:127.0.0.1"] });
    const res = await safeFetch(`http://mapped.example:${server.port}/`, {}, { allow: ["127.0.0.0/8"], resolve: dns.resolve });
    expect(res.body.toString()).toBe("mapped ok");
    const literal = await safeFetch(`http://[::ffff:127.0.0.1]:${server.port}/`, {}, { allow: ["127.0.0.1"] });
    expect(literal.body.toString()).toBe("mapped ok");
  });

  it("refuses numeric encodings of private addresses (the URL parser normalises them first)", async () => {
    const server = await startServer(ok());
    const cases: [string, string][] = [
      [`http://0x7f.1:${server.port}/`, "127.0.0.1"],
      [`http://2130706433:${server.port}/`, "127.0.0.1"],
      [`http://127.1:${server.port}/`, "127.0.0.1"],
      [`http://0177.0.0.1:${server.port}/`, "127.0.0.1"],
      [`http://127.0.0.1.:${server.port}/`, "127.0.0.1"],
      [`http://0x7f000001:${server.port}/`, "127.0.0.1"],
      ["http://0/", "0.0.0.0"],
      ["http://0xa9fea9fe/", "169.254.169.254"],
      ["http://0xA9.0376.0xa9fe/", "169.254.169.254"],
      ["http://100.100.100.200/", "100.100.100.200"], // Alibaba Cloud metadata, inside CGNAT
      ["http://192.168.1.1/", "192.168.1.1"],
      ["http://172.31.255.255/", "172.31.255.255"],
      ["http://224.0.0.1/", "224.0.0.1"],
      ["http://255.255.255.255/", "255.255.255.255"],
    ];
    for (const [url, normalised] of cases) {
      expect(new URL(url).hostname).toBe(normalised);
      const err = await refused(url, { resolve: noDns });
      expect(err.message).toContain(`Refused to connect to ${normalised}:`);
    }
    expect(noDns).not.toHaveBeenCalled();
    expect(connects).not.toHaveBeenCalled();
    expect(server.connections).toBe(0);
  });

  it("refuses localhost names and the metadata name without asking DNS", async () => {
    for (const url of ["http://localhost/", "http://LOCALHOST./", "http://app.localhost:3000/", "http://metadata.google.internal/computeMetadata/v1/"]) {
      await refused(url, { resolve: noDns }, /localhost|metadata/);
    }
    expect(noDns).not.toHaveBeenCalled();
    expect(connects).not.toHaveBeenCalled();
  });

  it("lets localhost through when the name, or every address it resolves to, is explicitly allowed", async () => {
    const server = await startServer(ok("local"));
    const dns = fakeDns({ localhost: ["127.0.0.1"], "metadata.google.internal": ["169.254.169.254"] });
    const byName = await safeFetch(`http://localhost:${server.port}/`, {}, { allow: ["localhost"], resolve: dns.resolve });
    expect(byName.body.toString()).toBe("local");
    const byAddress = await safeFetch(`http://localhost:${server.port}/`, {}, { allow: ["127.0.0.1"], resolve: dns.resolve });
    expect(byAddress.body.toString()).toBe("local");
    // A blocked name needs its addresses explicitly allowed; "public" is not enough.
    const liar = fakeDns({ "metadata.google.internal": ["93.184.215.14"] });
    await refused("http://metadata.google.internal/", { allow: ["127.0.0.1"], resolve: liar.resolve }, /cloud metadata/);
    expect(connects).toHaveBeenCalledTimes(2);
  });

  it("refuses file:, ftp:, data: and other schemes", async () => {
    for (const url of ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/plain,hello", "javascript:alert(1)", "ws://127.0.0.1/", "gopher://127.0.0.1:6379/_INFO"]) {
      await refused(url, { allow: ["127.0.0.1"], resolve: noDns }, /only http and https/);
    }
    expect(connects).not.toHaveBeenCalled();
  });

  it("refuses credentials in the URL", async () => {
    const server = await startServer(ok());
    await refused(`http://user:secret@127.0.0.1:${server.port}/`, { allow: ["127.0.0.1"] }, /credentials/);
    await refused(`http://user@127.0.0.1:${server.port}/`, { allow: ["127.0.0.1"] }, /credentials/);
    expect(server.connections).toBe(0);
  });

  it("rejects malformed URLs as invalid_param", async () => {
    const err = await caught(() => safeFetch("not a url"));
    expect(err).toMatchObject({ code: "invalid_param", status: 400, params: "url" });
  });

  it("reports DNS failures and refused connections as http_request_failed", async () => {
    const dns = fakeDns({});
    const nx = await caught(() => safeFetch("http://nowhere.example/", {}, { resolve: dns.resolve }));
    expect(nx).toMatchObject({ code: "http_request_failed", status: 400 });
    expect(nx.message).toContain("nowhere.example");
    expect(nx.message).toContain("ENOTFOUND");

    const server = await startServer(ok());
    const port = server.port;
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const down = await caught(() => safeFetch(`http://127.0.0.1:${port}/`, {}, { allow: ["127.0.0.1"] }));
    expect(down).toMatchObject({ code: "http_request_failed", status: 400 });
    expect(down.message).toContain("ECONNREFUSED");
  });
});

describe("redirects", () => {
  it("checks every hop: a redirect to a non-allowed loopback port is refused there", async () => {
    const target = await startServer(ok("should never be reached"));
    const first = await startServer((_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${target.port}/admin` });
      res.end();
    });
    const dns = fakeDns({ "allowed.example": ["127.0.0.1"] });
    const err = await refused(`http://allowed.example:${first.port}/start`, { allow: ["allowed.example"], resolve: dns.resolve }, /127\.0\.0\.1: loopback/);
    expect(err.message).not.toContain("allowed.example");
    expect(first.seen).toHaveLength(1);
    expect(target.connections).toBe(0);
  });

  it("refuses a redirect to 169.254.169.254 before opening any socket to it", async () => {
    const first = await startServer((_req, res) => {
      res.writeHead(301, { location: "http://169.254.169.254/latest/meta-data/iam/security-credentials/" });
      res.end();
    });
    const started = Date.now();
    await refused(`${first.origin}/`, { allow: ["127.0.0.1"], resolve: noDns }, /169\.254\.169\.254: link-local/);
    expect(Date.now() - started).toBeLessThan(2_000);
    // Exactly one connection attempt: the first hop, to our server.
    expect(connects).toHaveBeenCalledTimes(1);
    expect(first.connections).toBe(1);
  });

  it("refuses redirects to other schemes and to URLs with credentials", async () => {
    const server = await startServer((req, res) => {
      res.writeHead(302, { location: req.url === "/file" ? "file:///etc/passwd" : `http://u:p@127.0.0.1:1/` });
      res.end();
    });
    await refused(`${server.origin}/file`, { allow: ["127.0.0.1"] }, /only http and https/);
    await refused(`${server.origin}/creds`, { allow: ["127.0.0.1"] }, /credentials/);
  });

  it("follows up to maxRedirects, then fails with too_many_redirects", async () => {
    const server = await startServer((req, res) => {
      const n = Number(req.url!.slice(1));
      if (n < 3) {
        res.writeHead(302, { location: `/${n + 1}` });
        res.end();
      } else ok(`done after ${n}`)(req, res);
    });
    const res = await safeFetch(`${server.origin}/0`, {}, { allow: ["127.0.0.1"], maxRedirects: 3 });
    expect(res.body.toString()).toBe("done after 3");
    expect(res.url).toBe(`${server.origin}/3`);
    expect(res.redirects).toEqual([`${server.origin}/1`, `${server.origin}/2`, `${server.origin}/3`]);

    const loop = await startServer((req, res) => {
      res.writeHead(307, { location: `/${Number(req.url!.slice(1)) + 1}` });
      res.end();
    });
    const err = await caught(() => safeFetch(`${loop.origin}/0`, {}, { allow: ["127.0.0.1"], maxRedirects: 2 }));
    expect(err).toMatchObject({ code: "too_many_redirects", status: 400 });
    expect(loop.seen.map((s) => s.url)).toEqual(["/0", "/1", "/2"]);

    // Default is 5.
    const dflt = await caught(() => safeFetch(`${loop.origin}/0`, {}, { allow: ["127.0.0.1"] }));
    expect(dflt.code).toBe("too_many_redirects");
    expect(loop.seen).toHaveLength(3 + 6);
  });

  it("303 (and 302 after POST) turn a POST into a GET without body; 307 keeps both", async () => {
    const server = await startServer((req, res, seen) => {
      const [, status] = req.url!.match(/^\/r(\d+)$/) ?? [];
      if (status) {
        res.writeHead(Number(status), { location: "/echo" });
        res.end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ method: seen.method, body: seen.body, contentType: seen.headers["content-type"] ?? null, contentLength: seen.headers["content-length"] ?? null }));
    });
    const init = { method: "POST", headers: { "content-type": "application/json", "x-trace": "t1" }, body: '{"a":1}' };
    const policy = { allow: ["127.0.0.1"] };

    const see = await safeFetch(`${server.origin}/r303`, init, policy);
    expect(JSON.parse(see.body.toString())).toEqual({ method: "GET", body: "", contentType: null, contentLength: null });
    expect(see.redirects).toEqual([`${server.origin}/echo`]);
    expect(server.seen[0]).toMatchObject({ method: "POST", body: '{"a":1}' });
    expect(server.seen[1].headers["x-trace"]).toBe("t1");

    const found = await safeFetch(`${server.origin}/r302`, init, policy);
    expect(JSON.parse(found.body.toString())).toMatchObject({ method: "GET", body: "" });

    const temp = await safeFetch(`${server.origin}/r307`, init, policy);
    expect(JSON.parse(temp.body.toString())).toEqual({ method: "POST", body: '{"a":1}', contentType: "application/json", contentLength: "7" });

    const perm = await safeFetch(`${server.origin}/r308`, { ...init, method: "PUT" }, policy);
    expect(JSON.parse(perm.body.toString())).toMatchObject({ method: "PUT", body: '{"a":1}' });
  });

  it("drops Authorization and Cookie when a redirect leaves the origin", async () => {
    const other = await startServer(ok("other"));
    const server = await startServer((req, res) => {
      if (req.url === "/same") res.writeHead(302, { location: "/landing" });
      else if (req.url === "/cross") res.writeHead(302, { location: `${other.origin}/landing` });
      else return ok("same")(req, res);
      res.end();
    });
    const init = { headers: { authorization: "Bearer s3cret", cookie: "sid=1", "x-keep": "yes" } };
    await safeFetch(`${server.origin}/same`, init, { allow: ["127.0.0.1"] });
    expect(server.seen[1].headers).toMatchObject({ authorization: "Bearer s3cret", cookie: "sid=1", "x-keep": "yes" });

    await safeFetch(`${server.origin}/cross`, init, { allow: ["127.0.0.1"] });
    expect(other.seen[0].headers["x-keep"]).toBe("yes");
    expect(other.seen[0].headers.authorization).toBeUndefined();
    expect(other.seen[0].headers.cookie).toBeUndefined();
  });
});

describe("request and response", () => {
  it("passes method, headers and body through, and returns status, headers and body", async () => {
    const server = await startServer((_req, res, seen) => {
      res.writeHead(201, "Made It", { "content-type": "application/json", "x-multi": ["a", "b"] });
      res.end(JSON.stringify({ got: seen.body }));
    });
    const body = new TextEncoder().encode("payload ✓");
    const res = await safeFetch(`${server.origin}/things?id=7#frag`, { method: "put", headers: { "X-Api-Key": "k1", "Content-Type": "text/plain", Host: "evil.example" }, body }, { allow: ["127.0.0.1"] });
    expect(res.status).toBe(201);
    expect(res.statusText).toBe("Made It");
    expect(res.headers["content-type"]).toBe("application/json");
    expect(res.headers["x-multi"]).toBe("a, b");
    expect(JSON.parse(res.body.toString())).toEqual({ got: "payload ✓" });
    expect(res.url).toBe(`${server.origin}/things?id=7`);

    const seen = server.seen[0];
    expect(seen.method).toBe("PUT");
    expect(seen.url).toBe("/things?id=7");
    expect(seen.body).toBe("payload ✓");
    expect(seen.headers["x-api-key"]).toBe("k1");
    expect(seen.headers["content-type"]).toBe("text/plain");
    expect(seen.headers["content-length"]).toBe(String(body.byteLength));
    // The caller cannot point the Host header elsewhere.
    expect(seen.headers.host).toBe(`127.0.0.1:${server.port}`);
  });

  it("a connection closed before the declared body is complete fails with http_request_failed", async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial", () => res.socket?.destroy());
    });
    const err = await caught(() => safeFetch(`${server.origin}/`, {}, { allow: ["127.0.0.1"] }));
    expect(err).toMatchObject({ code: "http_request_failed", status: 400 });
  });

  it("supports HEAD and rejects methods it does not send", async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { "content-length": "999999999" });
      res.end();
    });
    const head = await safeFetch(`${server.origin}/`, { method: "HEAD" }, { allow: ["127.0.0.1"], maxBytes: 10 });
    expect(head.status).toBe(200);
    expect(head.body.byteLength).toBe(0);
    expect(server.seen[0].method).toBe("HEAD");
    for (const method of ["CONNECT", "TRACE", "BAD METHOD"]) {
      const err = await caught(() => safeFetch(`${server.origin}/`, { method }, { allow: ["127.0.0.1"] }));
      expect(err).toMatchObject({ code: "invalid_param", params: "method" });
    }
    const crlf = await caught(() => safeFetch(`${server.origin}/`, { headers: { "x-a": "1\r\nx-injected: 2" } }, { allow: ["127.0.0.1"] }));
    expect(crlf).toMatchObject({ code: "invalid_param", params: "headers" });
    expect(server.seen).toHaveLength(1);
  });
});

describe("limits", () => {
  it("caps the body: an endless stream fails with response_too_large and its socket is destroyed", async () => {
    let writes = 0;
    const server = await startServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      const chunk = Buffer.alloc(16 * 1024, 0x61);
      const pump = () => {
        while (!res.destroyed && (writes++, res.write(chunk)));
        if (!res.destroyed) res.once("drain", pump);
      };
      pump();
    });
    const err = await caught(() => safeFetch(`${server.origin}/`, {}, { allow: ["127.0.0.1"], maxBytes: 100_000 }));
    expect(err).toMatchObject({ code: "response_too_large", status: 413 });
    expect(err.message).toContain("100000 bytes");
    await server.allClosed();
    expect(writes).toBeGreaterThan(0);
  });

  it("refuses a declared Content-Length over the cap without reading, and accepts exactly the cap", async () => {
    const server = await startServer((req, res) => {
      const size = Number(req.url!.slice(1));
      res.writeHead(200, { "content-length": String(size) });
      res.end(Buffer.alloc(size, 0x62));
    });
    const over = await caught(() => safeFetch(`${server.origin}/1001`, {}, { allow: ["127.0.0.1"], maxBytes: 1000 }));
    expect(over).toMatchObject({ code: "response_too_large", status: 413 });
    const exact = await safeFetch(`${server.origin}/1000`, {}, { allow: ["127.0.0.1"], maxBytes: 1000 });
    expect(exact.body.byteLength).toBe(1000);
  });

  it("times out a server that never answers, and closes the connection", async () => {
    const server = await startServer(stall);
    const started = Date.now();
    const err = await caught(() => safeFetch(`${server.origin}/`, {}, { allow: ["127.0.0.1"], timeoutMs: 200 }));
    const elapsed = Date.now() - started;
    expect(err).toMatchObject({ code: "http_request_timeout", status: 400 });
    expect(err.message).toContain("200 ms");
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(2_000);
    await server.allClosed();
  });

  it("the timeout covers the body: a response that stalls halfway times out", async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("only half");
    });
    const err = await caught(() => safeFetch(`${server.origin}/`, {}, { allow: ["127.0.0.1"], timeoutMs: 250 }));
    expect(err).toMatchObject({ code: "http_request_timeout" });
    await server.allClosed();
  });

  it("the timeout covers DNS and is one budget for every redirect hop", async () => {
    const hang = vi.fn(() => new Promise<string[]>(() => {}));
    const dnsErr = await caught(() => safeFetch("http://slow-dns.example/", {}, { resolve: hang, timeoutMs: 100 }));
    expect(dnsErr).toMatchObject({ code: "http_request_timeout" });

    // Each hop answers in ~80 ms: fine alone, but four of them exceed a 250 ms budget.
    const server = await startServer((req, res) => {
      setTimeout(() => {
        res.writeHead(302, { location: `/${Number(req.url!.slice(1)) + 1}` });
        res.end();
      }, 80);
    });
    const err = await caught(() => safeFetch(`${server.origin}/0`, {}, { allow: ["127.0.0.1"], timeoutMs: 250, maxRedirects: 10 }));
    expect(err).toMatchObject({ code: "http_request_timeout" });
    expect(server.seen.length).toBeGreaterThanOrEqual(3);
    expect(server.seen.length).toBeLessThanOrEqual(4);
  });

  it("aborting through the caller's signal rejects with an AbortError and destroys the socket", async () => {
    const server = await startServer(stall);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await caught(() => safeFetch(`${server.origin}/`, { signal: controller.signal }, { allow: ["127.0.0.1"] }));
    expect(err.name).toBe("AbortError");
    expect(err).not.toBeInstanceOf(AppError);
    await server.allClosed();
    expect(server.connections).toBe(1);

    // Mid-body.
    const half = await startServer((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
      setTimeout(() => controller2.abort(new DOMException("stop", "AbortError")), 30);
    });
    const controller2 = new AbortController();
    const mid = await caught(() => safeFetch(`${half.origin}/`, { signal: controller2.signal }, { allow: ["127.0.0.1"] }));
    expect(mid.name).toBe("AbortError");
    expect(mid.message).toBe("stop");
    await half.allClosed();

    // Already aborted: nothing is sent.
    const before = connects.mock.calls.length;
    const pre = await caught(() => safeFetch(`${server.origin}/`, { signal: AbortSignal.abort() }, { allow: ["127.0.0.1"] }));
    expect(pre.name).toBe("AbortError");
    expect(connects.mock.calls.length).toBe(before);
  });
});

describe("safeFetchStream", () => {
  /** Reads the stream to its end: its bytes, or what it errored with. */
  const drain = async (body: NodeJS.ReadableStream) => {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of body) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    } catch (err) {
      return err as AppError;
    }
  };
  const chunked = (count: number, size: number) => (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { "content-type": "application/octet-stream" });
    for (let i = 0; i < count; i++) res.write(Buffer.alloc(size, i));
    res.end();
  };

  it("resolves with the head, then gives the body as it arrives, under the same destination checks", async () => {
    const server = await startServer(chunked(8, 64 * 1024));
    const res = await safeFetchStream(`${server.origin}/file`, {}, { allow: ["127.0.0.1"], maxBytes: 1 << 20 });
    expect(res).toMatchObject({ status: 200, url: `${server.origin}/file`, headers: expect.objectContaining({ "content-type": "application/octet-stream" }) });
    const body = (await drain(res.body)) as Buffer;
    expect(body.byteLength).toBe(8 * 64 * 1024);
    expect(body[64 * 1024 * 7]).toBe(7);
    const refusedErr = await caught(() => safeFetchStream(`${server.origin}/file`));
    expect(refusedErr).toMatchObject({ code: "ssrf_refused" });
  });

  it("errors the stream past maxBytes (no length declared), refuses a declared length over it at once, and closes the connection", async () => {
    const server = await startServer(chunked(8, 64 * 1024));
    const res = await safeFetchStream(`${server.origin}/`, {}, { allow: ["127.0.0.1"], maxBytes: 100_000 });
    expect(await drain(res.body)).toMatchObject({ code: "response_too_large", status: 413 });
    await server.allClosed();
    const declared = await startServer((_req, res2) => {
      res2.writeHead(200, { "content-length": "5000" });
      res2.end(Buffer.alloc(5000));
    });
    expect(await caught(() => safeFetchStream(`${declared.origin}/`, {}, { allow: ["127.0.0.1"], maxBytes: 4000 }))).toMatchObject({ code: "response_too_large" });
  });

  it("errors the stream when the body stalls past the timeout, or the connection drops mid-body", async () => {
    const stalls = await startServer((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("only half");
    });
    const slow = await safeFetchStream(`${stalls.origin}/`, {}, { allow: ["127.0.0.1"], timeoutMs: 250 });
    expect(await drain(slow.body)).toMatchObject({ code: "http_request_timeout" });
    const drops = await startServer((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("only half", () => res.destroy());
    });
    const cut = await safeFetchStream(`${drops.origin}/`, {}, { allow: ["127.0.0.1"] });
    expect(await drain(cut.body)).toMatchObject({ code: "http_request_failed" });
  });

  it("a reader that stops early ends the exchange: destroying the body closes the connection", async () => {
    let writes = 0;
    const server = await startServer((_req, res) => {
      res.writeHead(200);
      const pump = () => {
        while (!res.destroyed && (writes++, res.write(Buffer.alloc(16 * 1024))));
        if (!res.destroyed) res.once("drain", pump);
      };
      pump();
    });
    const res = await safeFetchStream(`${server.origin}/`, {}, { allow: ["127.0.0.1"], maxBytes: 1 << 30 });
    await new Promise((resolve) => res.body.once("data", resolve));
    res.body.destroy();
    await server.allClosed();
    expect(writes).toBeGreaterThan(0);
  });
});

describe("parseAllowList", () => {
  it("parses the comma-separated variable into normalised entries", () => {
    expect(parseAllowList(undefined)).toEqual([]);
    expect(parseAllowList("")).toEqual([]);
    expect(parseAllowList(" 127.0.0.1 , 10.0.0.0/8,Internal.Example., .corp.example,[::1],fd00::/8,::ffff:10.0.0.0/104 ,")).toEqual([
      "127.0.0.1",
      "10.0.0.0/8",
      "internal.example",
      ".corp.example",
      "::1",
      "fd00::/8",
      "10.0.0.0/8",
    ]);
  });

  it("rejects entries it cannot use, naming them", () => {
    for (const bad of ["10.0.0.0/33", "::1/129", "10.0.0.0/x", "http://internal.example", "internal.example:8080", "*.corp.example", "127.1", "a b", "10.0.0.1/8/1"]) {
      expect(() => parseAllowList(`127.0.0.1,${bad}`), bad).toThrow(new RegExp(`Invalid allow-list entry "${bad.replace(/[.*/\\[\]]/g, "\\$&")}"`));
    }
  });

  it("invalid policy.allow entries are a programming error, thrown before any request", async () => {
    await expect(safeFetch("http://127.0.0.1:1/", {}, { allow: ["10.0.0.0/99"] })).rejects.toThrow(/Invalid allow-list entry/);
    expect(connects).not.toHaveBeenCalled();
  });
});
