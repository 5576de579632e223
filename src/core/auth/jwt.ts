// HS256 JSON Web Tokens, as Dify's passports are (libs/passport.py). Small enough to own.
import crypto from "node:crypto";

const header = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");

export function signJwt(claims: Record<string, unknown>, secret: string): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
  const signature = crypto.createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${signature}`;
}

export type JwtFailure = "malformed" | "signature" | "expired";

// Tokens already verified, by their exact text: a passport is presented on every request, and the
// HMAC and JSON parsing would otherwise be repeated each time. Bounded; expiring tokens are re-checked.
const verified = new Map<string, { secret: string; claims: Record<string, unknown> }>();
const MAX_VERIFIED = 20_000;

/** The claims of a token signed with `secret`, or why it is refused. */
export function verifyJwt(token: string, secret: string): { claims: Record<string, unknown> } | { failure: JwtFailure } {
  const hit = verified.get(token);
  if (hit && hit.secret === secret && hit.claims.exp === undefined) return { claims: hit.claims };
  const result = verifyUncached(token, secret);
  if ("claims" in result) {
    if (verified.size >= MAX_VERIFIED) verified.delete(verified.keys().next().value!);
    verified.set(token, { secret, claims: result.claims });
  }
  return result;
}

function verifyUncached(token: string, secret: string): { claims: Record<string, unknown> } | { failure: JwtFailure } {
  const parts = token.split(".");
  if (parts.length !== 3) return { failure: "malformed" };
  const [h, p, s] = parts;
  let head: any;
  let claims: any;
  try {
    head = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
    claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
  } catch {
    return { failure: "malformed" };
  }
  if (!head || head.alg !== "HS256" || !claims || typeof claims !== "object" || Array.isArray(claims)) {
    return { failure: "malformed" };
  }
  const expected = crypto.createHmac("sha256", secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, "base64url");
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return { failure: "signature" };
  if (typeof claims.exp === "number" && claims.exp * 1000 <= Date.now()) return { failure: "expired" };
  return { claims };
}
