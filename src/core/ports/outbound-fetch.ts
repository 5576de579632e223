// Outbound HTTP to URLs that users or app files name. The adapter checks every destination against
// the outbound policy (private addresses refused unless allowed), so the core never fetches directly.
import type { Readable } from "node:stream";

export type OutboundRequest = {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
};

export type OutboundResponse = {
  status: number;
  statusText: string;
  /** Lower-case names; repeated headers (Set-Cookie included) joined with ", ". */
  headers: Record<string, string>;
  /** The final URL, after redirects, without fragment. */
  url: string;
  /** The body as received. */
  body: Buffer;
  /** Every URL a redirect sent us to, in order. */
  redirects: string[];
};

/**
 * Fetch `url` under the deployment's outbound policy. Rejects with AppErrors (`ssrf_refused`,
 * `http_request_failed`, `http_request_timeout`, `response_too_large`, ...) or an AbortError.
 */
export type OutboundFetch = (url: string, init: OutboundRequest, options?: OutboundLimits) => Promise<OutboundResponse>;

/** Caps for one request; the adapter has defaults for each. */
export type OutboundLimits = {
  /** The whole exchange: DNS, connect, every redirect hop and the full body. */
  timeoutMs?: number;
  /** The body; more is `response_too_large`, not a truncation. */
  maxBytes?: number;
};

/** A response whose body is read as it arrives (a remote file on its way to storage). */
export type OutboundStreamResponse = Omit<OutboundResponse, "body"> & {
  /** Errors with the same AppErrors as OutboundFetch (the caps apply while it is read); destroy it to stop early. */
  body: Readable;
};

/** As OutboundFetch, resolving with the response head and a body stream. */
export type OutboundStream = (url: string, init: OutboundRequest, options?: OutboundLimits) => Promise<OutboundStreamResponse>;
