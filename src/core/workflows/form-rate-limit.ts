// 30 form requests a minute per client IP, counted apart for GET and POST (Dify's
// WEB_FORM_SUBMIT_RATE_LIMIT_*). Per instance: behind several instances each keeps its own count.
import { AppError } from "../errors.js";

const WINDOW_MS = 60_000;
const MAX_ATTEMPTS = 30;

export class FormRateLimiter {
  private hits = new Map<string, number[]>();

  check(ip: string, kind: "get" | "post", now = Date.now()) {
    const key = `${kind}:${ip}`;
    const recent = (this.hits.get(key) ?? []).filter((t) => t > now - WINDOW_MS);
    if (recent.length >= MAX_ATTEMPTS) {
      this.hits.set(key, recent);
      throw new AppError("web_form_rate_limit_exceeded", 429, "Too many requests, please try again later.");
    }
    recent.push(now);
    this.hits.set(key, recent);
    if (this.hits.size > 100_000) this.hits.clear(); // bounded; a reset only forgives
  }
}
