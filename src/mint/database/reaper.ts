import type { Logger } from "../../observability/log.ts";
import type { Clock } from "../../util/clock.ts";
import { classifyDatabaseError } from "./errors.ts";
import type { LeaseEvents } from "./lease-events.ts";
import type { LeaseDatabase } from "./leases.ts";

export interface ReaperOptions {
  databases: ReadonlyArray<LeaseDatabase<unknown>>;
  intervalMs: number;
  clock: Clock;
  events: LeaseEvents;
  logger: Logger;
  newRequestId: () => string;
  /** Leases revoked per transaction. */
  batch?: number;
}

/**
 * Revokes expired leases (CONTRACT §8), in every broker instance, every `reapInterval`, and once at start so a
 * lease that expired while every broker was down goes at the next start. Which instance revokes a lease is decided
 * by the database (`FOR UPDATE SKIP LOCKED`): a lease another instance is revoking is skipped silently. An
 * unreachable database is a warning (at most one line per database per minute) and retried next round.
 */
export class LeaseReaper {
  readonly #o: ReaperOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  readonly #lastWarning = new Map<string, number>();

  constructor(options: ReaperOptions) {
    this.#o = options;
  }

  start(): void {
    this.#schedule(0);
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce().finally(() => {
        this.#running = undefined;
        this.#schedule(this.#o.intervalMs);
      });
    }, delay);
  }

  /** One round over every database; resolves with the number of leases revoked. Never rejects. */
  async runOnce(): Promise<void> {
    await Promise.all(this.#o.databases.map((db) => this.#reap(db)));
  }

  async #reap(db: LeaseDatabase<unknown>): Promise<void> {
    const { clock, events } = this.#o;
    const batch = this.#o.batch ?? 100;
    try {
      for (;;) {
        const now = clock();
        const { revoked, failed } = await db.reapExpired(now, batch);
        const requestId = this.#o.newRequestId();
        for (const lease of revoked) events.revoked(db, lease, "expired", requestId);
        if (revoked.length > 0)
          events.lag(db, Math.max(0, (now - Math.min(...revoked.map((l) => l.expiresAt))) / 1000));
        if (failed > 0) {
          for (let i = 0; i < failed; i++) events.failed(db, "reap");
          this.#warn(db, "reap", "some expired leases could not be revoked; retrying next round");
        }
        if (revoked.length + failed < batch || this.#stopped) break;
      }
      events.active(db, await db.activeLeases());
    } catch (e) {
      if (this.#stopped) return;
      events.failed(db, "reap");
      this.#warn(db, classifyDatabaseError(e).code, "lease reaper cannot reach the database; retrying");
    }
  }

  #warn(db: LeaseDatabase<unknown>, code: string, msg: string): void {
    const key = `${db.engine}/${db.connection}`;
    const now = Date.now();
    if (now - (this.#lastWarning.get(key) ?? 0) < 60_000) return;
    this.#lastWarning.set(key, now);
    this.#o.logger.warn({ engine: db.engine, connection: db.connection, code }, msg);
  }

  /** Stops scheduling and waits for a round in flight (so pools can close under it without errors). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}
