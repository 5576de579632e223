// The one outbound HTTP client for user-controlled URLs (the workflow `http-request` node, remote files,
// anything else that fetches a URL an end user or app author typed). It is our in-process version of
// Dify's ssrf_proxy (field notes 6.4): every destination is checked AFTER DNS resolution, the socket is
// pinned to the address that was checked, and every redirect hop is checked again, so neither DNS
// rebinding nor a redirect to 169.254.169.254 gets through. Do not call fetch/http.request on such URLs
// anywhere else: a guard only helps if every call site uses it.
//
// Errors (all AppError):
//   ssrf_refused          400  destination not allowed: private/loopback/link-local/... address, a
//                              blocked name (localhost, metadata.google.internal), a non-http(s) scheme,
//                              or credentials in the URL; on the first URL or any redirect hop.
//   invalid_param         400  the URL, method or a header cannot be sent at all (params says which).
//   http_request_failed   400  DNS failure, connection refused/reset, malformed response, bad Location.
//   http_request_timeout  400  the whole exchange (DNS, connect, every hop, the full body) took longer
//                              than timeoutMs. 400 rather than 504 as in Dify, which reports any failed
//                              remote fetch as a 400.
//   response_too_large    413  the body (or its declared Content-Length) exceeds maxBytes.
//   too_many_redirects    400  more than maxRedirects redirects.
// An abort through the caller's signal is not an AppError: it rejects with an AbortError (the caller's
// reason when that is one), as the model providers do.
//
// Ports: none are blocked. The only rule is that we connect to exactly the port the URL names (or 80/443).
// Unlike Dify's strict Squid template (80/443 only), user-configured HTTP nodes legitimately call
// services on other ports; the address checks are what keeps internal services out.
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { AppError, invalidParam } from "../../core/errors.js";
import { abortError } from "../abort.js";
import { Transform } from "node:stream";
import type { OutboundRequest, OutboundResponse, OutboundStreamResponse } from "../../core/ports/outbound-fetch.js";

export type OutboundPolicy = {
  /**
   * Destinations allowed even though they are private: hostnames (`internal.example`; `.example.com`
   * for the domain and all its subdomains, as Squid's dstdomain), IP addresses or CIDRs
   * (`10.0.0.0/8`, `fd00::/8`). A matching hostname allows whatever it resolves to; otherwise every
   * resolved address must be public or match an address/CIDR entry.
   */
  allow?: string[];
  /** The whole request, every hop and the full body included. Default 10 000 ms. */
  timeoutMs?: number;
  /** Body cap in bytes; more is an error, not a truncation. Default 10 MiB. */
  maxBytes?: number;
  /** Redirects followed before giving up with too_many_redirects. Default 5; 0 refuses any redirect. */
  maxRedirects?: number;
  /** DNS for hostnames (IP literals are never resolved). Default: node:dns lookup, all addresses. */
  resolve?: (hostname: string) => Promise<string[]>;
};

export type SafeFetchInit = OutboundRequest;

export type SafeResponse = OutboundResponse;

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_REDIRECTS = 5;

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Ours to set: Node computes Host from the URL (pinning keeps it the original name) and the framing. */
const MANAGED_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer"]);
/** Not sent to another origin after a redirect (as fetch does for Authorization). */
const CREDENTIAL_HEADERS = new Set(["authorization", "cookie", "proxy-authorization"]);
/** Dropped when a redirect turns the request into a GET without body. */
const BODY_HEADERS = new Set(["content-type", "content-encoding", "content-language", "content-location"]);

const refused = (message: string) => new AppError("ssrf_refused", 400, message);
const requestFailed = (message: string) => new AppError("http_request_failed", 400, message);

/**
 * GET (or `init.method`) `url` under `policy`, following redirects ourselves. Resolves with the whole
 * body; rejects with the AppErrors listed at the top of this file, or an AbortError.
 */
export async function safeFetch(url: string, init: SafeFetchInit = {}, policy: OutboundPolicy = {}): Promise<SafeResponse> {
  const opened = await open(url, init, policy);
  const { res, run, final } = opened;
  try {
    return { ...head(opened), body: await readBody(res, opened.method, opened.maxBytes, final, run) };
  } catch (err) {
    throw run.translate(err, final);
  } finally {
    run.dispose();
  }
}

/**
 * As safeFetch, but resolves once the response head is in, its body a stream: read at the reader's pace
 * and never held whole (a remote file on its way to storage). The stream errors with the same AppErrors:
 * past `maxBytes` (response_too_large), past `timeoutMs` counted from the start (http_request_timeout), a
 * connection lost mid-body (http_request_failed), or with the caller's abort. Destroying it ends the exchange.
 */
export async function safeFetchStream(url: string, init: SafeFetchInit = {}, policy: OutboundPolicy = {}): Promise<OutboundStreamResponse> {
  const opened = await open(url, init, policy);
  const { res, run, final, maxBytes } = opened;
  const tooLarge = () => new AppError("response_too_large", 413, `Response from ${final.host} is larger than ${maxBytes} bytes.`);
  const declared = Number(res.headers["content-length"]);
  const bodyless = opened.method === "HEAD" || res.statusCode === 204 || res.statusCode === 304;
  if (!bodyless && Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    run.dispose();
    throw tooLarge();
  }
  let size = 0;
  const body = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.byteLength;
      done(size > maxBytes ? tooLarge() : null, chunk);
    },
  });
  const fail = (err: unknown) => body.destroy(run.translate(err, final) as Error);
  const onAbort = () => fail(run.signal.reason);
  run.signal.addEventListener("abort", onAbort, { once: true });
  res.on("error", fail);
  res.on("close", () => {
    if (!res.complete) fail(requestFailed(`Connection to ${final.host} closed before the response body was complete.`));
  });
  res.pipe(body);
  body.on("close", () => {
    run.signal.removeEventListener("abort", onAbort);
    run.dispose();
    res.destroy(); // a reader that stopped early ends the exchange
  });
  return { ...head(opened), body };
}

/** `OUTBOUND_ALLOW="127.0.0.1,10.0.0.0/8,internal.example"` → normalised entries; throws on a bad one. */
export function parseAllowList(text: string | undefined): string[] {
  if (!text) return [];
  const entries = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return entries.map((entry) => compileEntry(entry).normalized);
}

type Opened = { res: http.IncomingMessage; run: Run; final: URL; redirects: string[]; method: string; maxBytes: number };

const head = (o: Opened) => ({
  status: o.res.statusCode ?? 0,
  statusText: o.res.statusMessage ?? "",
  headers: responseHeaders(o.res),
  url: hrefOf(o.final),
  redirects: o.redirects,
});

/** Checks every hop and follows redirects: resolves with the final response's head, its run still going. */
async function open(url: string, init: SafeFetchInit, policy: OutboundPolicy): Promise<Opened> {
  const allow = compileAllowList(policy.allow ?? []);
  const timeoutMs = positive(policy.timeoutMs, DEFAULT_TIMEOUT_MS, "timeoutMs");
  const maxBytes = positive(policy.maxBytes, DEFAULT_MAX_BYTES, "maxBytes");
  const maxRedirects = policy.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0) throw new TypeError(`safeFetch: maxRedirects must be a non-negative integer`);
  const resolve = policy.resolve ?? defaultResolve;

  let method = (init.method ?? "GET").toUpperCase();
  if (!METHODS.has(method)) throw invalidParam(`Unsupported HTTP method "${init.method}".`, "method");
  let headers = requestHeaders(init.headers ?? {});
  let body: Buffer | undefined =
    init.body === undefined ? undefined : typeof init.body === "string" ? Buffer.from(init.body, "utf8") : Buffer.from(init.body.buffer, init.body.byteOffset, init.body.byteLength);
  let current = target(url);

  if (init.signal?.aborted) throw abortError(init.signal);
  const run = new Run(timeoutMs, init.signal);
  try {
    const redirects: string[] = [];
    for (;;) {
      const addresses = await run.race(checkDestination(current, allow, resolve));
      const res = await exchange(current, addresses, method, headers, body, run);
      const location = res.headers.location;
      if (REDIRECTS.has(res.statusCode ?? 0) && location) {
        res.destroy();
        if (redirects.length >= maxRedirects) {
          throw new AppError("too_many_redirects", 400, `Too many redirects (more than ${maxRedirects}) starting from ${hrefOf(new URL(url))}.`);
        }
        let next: URL;
        try {
          next = new URL(location, current);
        } catch {
          throw requestFailed(`${current.host} redirected to an invalid URL: ${JSON.stringify(location)}.`);
        }
        next = target(next.href);
        const status = res.statusCode!;
        if ((status === 303 && method !== "GET" && method !== "HEAD") || ((status === 301 || status === 302) && method === "POST")) {
          method = "GET";
          body = undefined;
          headers = without(headers, BODY_HEADERS);
        }
        if (next.origin !== current.origin) headers = without(headers, CREDENTIAL_HEADERS);
        current = next;
        redirects.push(hrefOf(current));
        continue;
      }
      return { res, run, final: current, redirects, method, maxBytes };
    }
  } catch (err) {
    run.dispose();
    throw run.translate(err, current);
  }
}

// ---------------------------------------------------------------------------------------------------
// Destinations

/** Parses `href` as a destination we may talk to at all (before any DNS). */
function target(href: string): URL {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    throw invalidParam(`Invalid URL: ${JSON.stringify(href)}.`, "url");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw refused(`Refused ${JSON.stringify(url.protocol)} URL: only http and https are allowed.`);
  }
  if (url.username !== "" || url.password !== "") {
    throw refused(`Refused URL for ${url.hostname}: credentials in the URL (user:password@) are not allowed.`);
  }
  if (url.hostname === "") throw invalidParam(`Invalid URL (no host): ${JSON.stringify(href)}.`, "url");
  return url;
}

type Address = { address: string; family: 4 | 6 };

/** The addresses `url` may be reached at, all checked; throws ssrf_refused otherwise. No connection is made. */
async function checkDestination(url: URL, allow: AllowList, resolve: (hostname: string) => Promise<string[]>): Promise<Address[]> {
  const host = bareHost(url.hostname);
  const literal = parseIp(host);
  if (literal) {
    const reason = allowedAddress(literal, allow) ? undefined : blockedReason(literal);
    const shown = literal.text === host.toLowerCase() ? host : `${host} (${literal.text})`;
    if (reason) throw refused(`Refused to connect to ${shown}: ${reason}.${HINT}`);
    return [{ address: literal.text, family: literal.family }];
  }

  const name = host.toLowerCase().replace(/\.$/, "");
  const nameAllowed = allow.matchesName(name);
  const blockedName = nameAllowed ? undefined : blockedNameReason(name);
  // A blocked name can only pass through explicitly allowed addresses: don't even ask DNS otherwise.
  if (blockedName && !allow.hasAddresses) throw refused(`Refused to connect to ${host}: ${blockedName}.${HINT}`);

  let answers: string[];
  try {
    answers = await resolve(host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException)?.code;
    throw requestFailed(`Could not resolve host ${host}${code ? ` (${code})` : ""}.`);
  }
  if (!Array.isArray(answers) || answers.length === 0) throw requestFailed(`Could not resolve host ${host} (no addresses).`);

  const addresses: Address[] = [];
  for (const answer of answers) {
    const ip = typeof answer === "string" ? parseIp(answer) : undefined;
    if (!ip) throw refused(`Refused to connect to ${host}: it resolved to ${JSON.stringify(answer)}, which is not an IP address.`);
    if (!nameAllowed) {
      const explicit = allowedAddress(ip, allow);
      const reason = blockedName && !explicit ? blockedName : explicit ? undefined : blockedReason(ip);
      if (reason) throw refused(`Refused to connect to ${host} (resolves to ${ip.text}): ${reason}.${HINT}`);
    }
    addresses.push({ address: ip.text, family: ip.family });
  }
  return addresses;
}

const HINT = " Add it to OUTBOUND_ALLOW if this destination is intended.";

function blockedNameReason(name: string): string | undefined {
  if (name === "localhost" || name.endsWith(".localhost")) return "localhost names are loopback";
  if (name === "metadata.google.internal" || name === "metadata") return "cloud metadata service";
  return undefined;
}

/** URL.hostname keeps IPv6 brackets. */
function bareHost(hostname: string): string {
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}

function defaultResolve(hostname: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    dns.lookup(hostname, { all: true, verbatim: true }, (err, addresses) => {
      if (err) reject(err);
      else resolve(addresses.map((a) => a.address));
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// IP addresses

type Ip = { family: 4 | 6; value: bigint; text: string };

/** An IP in canonical form; IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes the IPv4 address it is. */
function parseIp(text: string): Ip | undefined {
  if (net.isIPv4(text)) return { family: 4, value: v4Value(text), text };
  const zoneless = text.includes("%") ? text.slice(0, text.indexOf("%")) : text;
  if (!net.isIPv6(zoneless)) return undefined;
  const value = v6Value(zoneless);
  if (value >> 32n === 0xffffn) {
    const v4 = value & 0xffffffffn;
    return { family: 4, value: v4, text: v4Text(v4) };
  }
  return { family: 6, value, text: zoneless.toLowerCase() };
}

function v4Value(text: string): bigint {
  return text.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v4Text(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
}

/** Assumes net.isIPv6(text). */
function v6Value(text: string): bigint {
  let s = text;
  const lastColon = s.lastIndexOf(":");
  const tail = s.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = v4Value(tail);
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, rest] = s.split("::");
  const groups = (part: string | undefined) => (part ? part.split(":") : []);
  const before = groups(head);
  const after = rest === undefined ? [] : groups(rest);
  const all = rest === undefined ? before : [...before, ...Array<string>(8 - before.length - after.length).fill("0"), ...after];
  return all.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}

type Range = { family: 4 | 6; net: bigint; prefix: number };

function inRange(ip: Ip, range: Range): boolean {
  if (ip.family !== range.family) return false;
  const shift = BigInt((ip.family === 4 ? 32 : 128) - range.prefix);
  return ip.value >> shift === range.net >> shift;
}

function cidr(text: string): Range {
  const [addr, prefix] = text.split("/");
  const ip = parseIp(addr)!;
  return { family: ip.family, net: ip.value, prefix: Number(prefix) };
}

const V4_BLOCKED: [Range, string][] = (
  [
    ["0.0.0.0/8", "unspecified address (this network)"],
    ["10.0.0.0/8", "private address"],
    ["100.64.0.0/10", "carrier-grade NAT address"],
    ["127.0.0.0/8", "loopback address"],
    ["169.254.0.0/16", "link-local address (cloud metadata lives here)"],
    ["172.16.0.0/12", "private address"],
    ["192.0.0.0/24", "reserved address (IETF protocol assignments)"],
    ["192.0.2.0/24", "reserved address (documentation)"],
    ["192.88.99.0/24", "reserved address (6to4 relay anycast)"],
    ["192.168.0.0/16", "private address"],
    ["198.18.0.0/15", "reserved address (benchmarking)"],
    ["198.51.100.0/24", "reserved address (documentation)"],
    ["203.0.113.0/24", "reserved address (documentation)"],
    ["224.0.0.0/4", "multicast address"],
    ["240.0.0.0/4", "reserved address"],
  ] as const
).map(([range, reason]) => [cidr(range), reason]);

const V6_BLOCKED: [Range, string][] = (
  [
    ["::/128", "unspecified address"],
    ["::1/128", "loopback address"],
    ["::/96", "IPv4-compatible IPv6 address (deprecated)"],
    ["64:ff9b:1::/48", "local-use NAT64 address"],
    ["100::/64", "discard-only address"],
    ["2001::/32", "Teredo tunnel address"],
    ["2001:db8::/32", "reserved address (documentation)"],
    ["3fff::/20", "reserved address (documentation)"],
    ["fc00::/7", "private address (unique local)"],
    ["fe80::/10", "link-local address"],
    ["fec0::/10", "site-local address (deprecated)"],
    ["ff00::/8", "multicast address"],
  ] as const
).map(([range, reason]) => [cidr(range), reason]);

const NAT64 = cidr("64:ff9b::/96");
const SIX_TO_FOUR = cidr("2002::/16");
const GLOBAL_UNICAST = cidr("2000::/3");

/** Why `ip` is not a public destination, or undefined when it is. */
function blockedReason(ip: Ip): string | undefined {
  if (ip.family === 4) return V4_BLOCKED.find(([range]) => inRange(ip, range))?.[1];
  // Addresses that carry an IPv4 address are judged by it.
  const embedded = inRange(ip, NAT64) ? ip.value & 0xffffffffn : inRange(ip, SIX_TO_FOUR) ? (ip.value >> 80n) & 0xffffffffn : undefined;
  if (embedded !== undefined) {
    const v4: Ip = { family: 4, value: embedded, text: v4Text(embedded) };
    const reason = blockedReason(v4);
    return reason && `embeds ${v4.text}, a ${reason}`;
  }
  const listed = V6_BLOCKED.find(([range]) => inRange(ip, range))?.[1];
  if (listed) return listed;
  return inRange(ip, GLOBAL_UNICAST) ? undefined : "reserved address (not global unicast)";
}

// ---------------------------------------------------------------------------------------------------
// Allow list

type AllowList = { matchesName(name: string): boolean; hasAddresses: boolean; ranges: Range[] };
type AllowEntry = { normalized: string } & ({ kind: "name"; name: string } | { kind: "suffix"; suffix: string } | { kind: "range"; range: Range });

function compileAllowList(entries: string[]): AllowList {
  const compiled = entries.map(compileEntry);
  const names = new Set<string>();
  const suffixes: string[] = [];
  const ranges: Range[] = [];
  for (const entry of compiled) {
    if (entry.kind === "name") names.add(entry.name);
    else if (entry.kind === "suffix") suffixes.push(entry.suffix);
    else ranges.push(entry.range);
  }
  return {
    matchesName: (name) => names.has(name) || suffixes.some((s) => name === s || name.endsWith(`.${s}`)),
    hasAddresses: ranges.length > 0,
    ranges,
  };
}

function allowedAddress(ip: Ip, allow: AllowList): boolean {
  return allow.ranges.some((range) => inRange(ip, range));
}

function compileEntry(raw: string): AllowEntry {
  const entry = raw.trim().toLowerCase();
  const bad = (why: string) => new Error(`Invalid allow-list entry ${JSON.stringify(raw)}: ${why}`);

  if (entry.includes("/")) {
    const [addr, prefixText, extra] = entry.split("/");
    const ip = parseIp(bareHost(addr));
    if (!ip || extra !== undefined || !/^\d{1,3}$/.test(prefixText)) throw bad("expected an IP address or CIDR such as 10.0.0.0/8");
    // An IPv4-mapped CIDR (::ffff:10.0.0.0/104) is the IPv4 CIDR it covers.
    const v6Prefix = Number(prefixText);
    const prefix = ip.family === 4 && net.isIPv6(bareHost(addr)) ? v6Prefix - 96 : v6Prefix;
    const bits = ip.family === 4 ? 32 : 128;
    if (prefix < 0 || prefix > bits) throw bad(`prefix length must be 0-${bits}`);
    return { kind: "range", range: { family: ip.family, net: ip.value, prefix }, normalized: `${ip.text}/${prefix}` };
  }

  const ip = parseIp(bareHost(entry));
  if (ip) return { kind: "range", range: { family: ip.family, net: ip.value, prefix: ip.family === 4 ? 32 : 128 }, normalized: ip.text };

  if (entry.startsWith("*.")) throw bad(`write ".${entry.slice(2)}" for a domain and its subdomains`);
  const suffix = entry.startsWith(".");
  const name = suffix ? entry.slice(1) : entry;
  if (!/^[a-z0-9_\-.\u0080-\uffff]+$/.test(name) || name.startsWith(".") || name.includes("..")) {
    throw bad("expected a hostname, IP address or CIDR (no scheme, port or path)");
  }
  // The WHATWG parser is what turns URLs into hostnames, so let it normalise entries too (IDN →
  // punycode, a trailing dot, and "127.1"-style numbers, which must be written as real addresses).
  let normalized: string;
  try {
    normalized = new URL(`http://${name}/`).hostname.replace(/\.$/, "");
  } catch {
    throw bad("not a valid hostname");
  }
  if (parseIp(bareHost(normalized))) throw bad(`write the address as ${normalized}`);
  return suffix ? { kind: "suffix", suffix: normalized, normalized: `.${normalized}` } : { kind: "name", name: normalized, normalized };
}

// ---------------------------------------------------------------------------------------------------
// The exchange

/** The timeout and the caller's signal, as one internal signal every step listens to. */
class Run {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onCallerAbort?: () => void;
  timedOut = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly callerSignal: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error("timeout"));
    }, timeoutMs);
    if (callerSignal) {
      this.onCallerAbort = () => this.controller.abort(callerSignal.reason);
      callerSignal.addEventListener("abort", this.onCallerAbort, { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** `promise`, or a rejection as soon as the run is cancelled. */
  race<T>(promise: Promise<T>): Promise<T> {
    const signal = this.controller.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        (err) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      );
    });
  }

  /** What a failure surfaces as. */
  translate(err: unknown, url: URL): unknown {
    if (this.callerSignal?.aborted) return abortError(this.callerSignal, err);
    if (this.timedOut) return new AppError("http_request_timeout", 400, `Request to ${url.host} timed out after ${this.timeoutMs} ms.`);
    if (err instanceof AppError) return err;
    const code = (err as NodeJS.ErrnoException)?.code;
    if (typeof code === "string") return requestFailed(`Request to ${url.host} failed: ${code} ${(err as Error).message}`.trim());
    return err;
  }

  dispose(): void {
    clearTimeout(this.timer);
    if (this.onCallerAbort) this.callerSignal?.removeEventListener("abort", this.onCallerAbort);
  }
}

/** Sends one request to one of the checked `addresses` and resolves with the response head. */
function exchange(url: URL, addresses: Address[], method: string, headers: Record<string, string>, body: Buffer | undefined, run: Run): Promise<http.IncomingMessage> {
  const hostname = bareHost(url.hostname);
  const outgoing: Record<string, string> = { ...headers };
  if (body !== undefined) outgoing["content-length"] = String(body.byteLength);
  else if (method === "POST" || method === "PUT" || method === "PATCH") outgoing["content-length"] = "0";

  return new Promise<http.IncomingMessage>((resolve, reject) => {
    const signal = run.signal;
    if (signal.aborted) return reject(signal.reason);
    let req: http.ClientRequest;
    try {
      req = (url.protocol === "https:" ? https : http).request({
        protocol: url.protocol,
        host: hostname, // Host header and TLS servername/certificate check use the original name...
        port: url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method,
        headers: outgoing,
        // ...while the socket goes only to the addresses we checked: no second DNS answer can sneak in.
        lookup: pinnedLookup(hostname, addresses),
        // A fresh connection every time: a pooled socket could belong to an address checked under
        // another policy (or another DNS answer).
        agent: false,
      });
    } catch (err) {
      return reject(invalidParam(`Cannot send this request: ${(err as Error).message}`, "headers"));
    }
    const onAbort = () => req.destroy();
    signal.addEventListener("abort", onAbort, { once: true });
    req.on("response", (res) => {
      res.on("close", () => signal.removeEventListener("abort", onAbort));
      // Destroying the request from now on also destroys the response (and the socket).
      resolve(res);
    });
    req.on("error", (err) => {
      signal.removeEventListener("abort", onAbort);
      reject(signal.aborted ? signal.reason : err);
    });
    req.end(body);
  });
}

/** A `lookup` for net.connect that answers only `hostname`, only with the checked addresses. */
function pinnedLookup(hostname: string, addresses: Address[]): net.LookupFunction {
  return (name, options, callback) => {
    if (name !== hostname) {
      const err: NodeJS.ErrnoException = new Error(`safeFetch: unexpected lookup of ${name}`);
      err.code = "ENOTFOUND";
      return callback(err, "", 4);
    }
    const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
    if (wanted.length === 0) {
      const err: NodeJS.ErrnoException = new Error(`safeFetch: no IPv${options.family} address for ${name}`);
      err.code = "ENOTFOUND";
      return callback(err, "", 4);
    }
    if (options.all) return callback(null, wanted.map((a) => ({ address: a.address, family: a.family })));
    callback(null, wanted[0].address, wanted[0].family);
  };
}

/** The whole body, or response_too_large as soon as it passes `maxBytes` (the socket is destroyed). */
function readBody(res: http.IncomingMessage, method: string, maxBytes: number, url: URL, run: Run): Promise<Buffer> {
  const tooLarge = () => new AppError("response_too_large", 413, `Response from ${url.host} is larger than ${maxBytes} bytes.`);
  const declared = Number(res.headers["content-length"]);
  const bodyless = method === "HEAD" || res.statusCode === 204 || res.statusCode === 304;
  if (!bodyless && Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    return Promise.reject(tooLarge());
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const signal = run.signal;
    const finish = (err: unknown, value?: Buffer) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      if (err) {
        res.destroy();
        reject(err);
      } else resolve(value!);
    };
    const onAbort = () => finish(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    res.on("data", (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > maxBytes) return finish(tooLarge());
      chunks.push(chunk);
    });
    res.on("end", () => finish(undefined, Buffer.concat(chunks, size)));
    res.on("error", (err) => finish(signal.aborted ? signal.reason : err));
    res.on("close", () => {
      if (!res.complete) finish(requestFailed(`Connection to ${url.host} closed before the response body was complete.`));
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

function requestHeaders(input: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(input)) {
    const lower = name.toLowerCase();
    if (MANAGED_HEADERS.has(lower)) continue;
    if (typeof value !== "string") throw invalidParam(`Header ${JSON.stringify(name)} must be a string.`, "headers");
    out[lower] = value;
  }
  return out;
}

function without(headers: Record<string, string>, names: Set<string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.has(name)));
}

function responseHeaders(res: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function hrefOf(url: URL): string {
  const copy = new URL(url.href);
  copy.hash = "";
  return copy.href;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(value > 0) || !Number.isFinite(value)) throw new TypeError(`safeFetch: ${name} must be a positive number`);
  return value;
}
