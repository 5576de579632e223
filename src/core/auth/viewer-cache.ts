// What authenticating a passport reads (app, site, end user) and what every page load asks for
// (parameters), kept in memory for a few seconds: the per-request path then touches no database.
// Apps change only through the CLI, which cannot run beside an embedded server; with PostgreSQL the
// TTL bounds how long another process's change goes unseen.
import type { Db } from "../ports/database.js";
import type { App, EndUser, Site } from "../../generated/prisma/client.js";

export type AppWithSite = App & { site: Site | null };

type Cached<T> = { expires: number; value: Promise<T> };

const MAX_END_USERS = 50_000;

export class ViewerCache {
  private apps = new Map<string, Cached<AppWithSite | null>>();
  private endUsers = new Map<string, Cached<EndUser | null>>();
  private memos = new Map<string, Cached<unknown>>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 5_000,
  ) {}

  app(appId: string): Promise<AppWithSite | null> {
    return this.get(this.apps, appId, () => this.db.app.findUnique({ where: { id: appId }, include: { site: true } }));
  }

  endUser(endUserId: string): Promise<EndUser | null> {
    if (this.endUsers.size >= MAX_END_USERS) this.endUsers.delete(this.endUsers.keys().next().value!);
    return this.get(this.endUsers, endUserId, () => this.db.endUser.findUnique({ where: { id: endUserId } }));
  }

  /** A value derived from one app (e.g. its parameters), cached and invalidated with it. */
  memo<T>(appId: string, name: string, load: () => Promise<T>): Promise<T> {
    return this.get(this.memos as Map<string, Cached<T>>, `${appId}:${name}`, load);
  }

  /** Forget an app (and what was derived from it), e.g. after changing it in this process. */
  invalidateApp(appId: string) {
    this.apps.delete(appId);
    for (const key of this.memos.keys()) if (key.startsWith(`${appId}:`)) this.memos.delete(key);
  }

  private get<T>(map: Map<string, Cached<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = map.get(key);
    if (hit && hit.expires > now) return hit.value;
    const value = load();
    map.set(key, { expires: now + this.ttlMs, value });
    // A failed load is not remembered.
    value.catch(() => map.get(key)?.value === value && map.delete(key));
    return value;
  }
}
