// Which address a request comes from, for rate limits. Forwarding headers are anyone's to write, so
// they are believed only as far as the deployment says proxies stand in front (TRUST_PROXY).
import type { IncomingMessage } from "node:http";

/**
 * `trustProxy` 0: the peer address. n > 0: CF-Connecting-IP when present (Cloudflare sets it), else the
 * address n hops back along X-Forwarded-For + peer, as Express's `trust proxy` counts hops; a client
 * that prepends its own X-Forwarded-For entries only adds hops further back than we look.
 */
export function clientAddress(req: IncomingMessage, trustProxy: number): string {
  const peer = req.socket.remoteAddress ?? "unknown";
  if (trustProxy <= 0) return peer;
  const cf = req.headers["cf-connecting-ip"];
  if (typeof cf === "string" && cf.trim()) return cf.trim();
  const forwarded = req.headers["x-forwarded-for"];
  const hops = [
    ...(typeof forwarded === "string" ? forwarded.split(",") : []).map((s) => s.trim()).filter(Boolean),
    peer,
  ];
  return hops[Math.max(0, hops.length - 1 - trustProxy)];
}
