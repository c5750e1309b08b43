import type { Knex } from 'knex';
import { GatewayError } from '../errors.js';

/**
 * Token buckets per key (a partner, or an address at the token endpoint or the webhook door), kept
 * in PostgreSQL (`rate_buckets`, decision 0041) so that every replica draws on the same budget: a
 * bucket holds up to `perMinute` tokens and refills at `perMinute` a minute.
 *
 * One upsert per call, or fewer: while a key's statement is in flight, the calls for that key wait
 * and then go as one statement that takes as many tokens as there are calls ("group takes", as the
 * receiver groups commits). An idle door pays one round trip; a busy one pays one per round trip,
 * however many requests arrive meanwhile.
 */
export class RateLimiter {
  /** Calls waiting for their key's next statement. */
  private readonly waiting = new Map<string, Waiter[]>();
  /** Keys with a statement in flight. */
  private readonly draining = new Set<string>();
  private nextPruneAt = 0;

  constructor(
    private readonly knex: Knex,
    /** Told when forgetting idle buckets fails; the next prune tries again. */
    private readonly onPruneError: (err: Error) => void = () => {},
  ) {}

  /** Takes one request from the bucket `key`: resolves to 0 to go, or to the seconds to wait. */
  take(key: string, perMinute: number, now = Date.now()): Promise<number> {
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(key);
      if (queue) queue.push({ perMinute, now, resolve, reject });
      else this.waiting.set(key, [{ perMinute, now, resolve, reject }]);
      if (!this.draining.has(key)) void this.drain(key);
    });
  }

  /** The seconds `take` would ask to wait, without taking anything: 0 while the budget lasts. */
  async peek(key: string, perMinute: number, now = Date.now()): Promise<number> {
    const row: BucketRow | undefined = await reachable(this.knex('rate_buckets').where({ key }).first('tokens', 'per_minute', 'at_ms'));
    if (!row) return 0;
    const tokens = refilled(row.tokens, row.per_minute, Number(row.at_ms), perMinute, now);
    return tokens >= 1 ? 0 : secondsUntilOne(tokens, perMinute);
  }

  private async drain(key: string): Promise<void> {
    this.draining.add(key);
    try {
      for (let batch = this.waiting.get(key); batch?.length; batch = this.waiting.get(key)) {
        this.waiting.delete(key);
        await this.settle(key, batch);
      }
    } finally {
      this.draining.delete(key);
    }
  }

  /** One statement for the calls in `batch`, in arrival order: the first ones get the tokens there are. */
  private async settle(key: string, batch: Waiter[]): Promise<void> {
    const perMinute = (batch[batch.length - 1] as Waiter).perMinute;
    const now = Math.max(...batch.map((w) => w.now));
    try {
      const { granted, tokens } = await takeTokens(this.knex, key, perMinute, now, batch.length);
      const wait = granted < batch.length ? secondsUntilOne(tokens, perMinute) : 0;
      for (const [i, w] of batch.entries()) w.resolve(i < granted ? 0 : wait);
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    if (now >= this.nextPruneAt) {
      this.nextPruneAt = now + 60_000;
      this.knex('rate_buckets')
        .where('at_ms', '<', now - 60_000)
        .del()
        .catch(this.onPruneError);
    }
  }
}

interface Waiter {
  perMinute: number;
  now: number;
  resolve: (wait: number) => void;
  reject: (err: unknown) => void;
}

interface BucketRow {
  tokens: number;
  per_minute: number;
  at_ms: string;
}

/**
 * The bucket's tokens now, in SQL and in `refilled` alike: a limit changed by a reload applies at
 * once, in proportion (a partner raised from 5 to 600 a minute with 3 requests left may make 360
 * more, not wait for its old bucket to refill); then the time since the last take refills it, up to
 * the limit. A replica whose clock lags another's refills nothing rather than going back in time.
 */
const REFILLED_SQL = `least(excluded.per_minute,
  b.tokens * excluded.per_minute / b.per_minute + greatest(0, excluded.at_ms - b.at_ms) * excluded.per_minute / 60000.0)`;

function refilled(tokens: number, was: number, atMs: number, perMinute: number, now: number): number {
  return Math.min(perMinute, (tokens * perMinute) / was + (Math.max(0, now - atMs) * perMinute) / 60_000);
}

/**
 * Takes up to `n` tokens in one statement; answers how many it got and how many are left. A bucket
 * idle for a minute is full, so a missing row (new, or pruned) starts full.
 */
async function takeTokens(knex: Knex, key: string, perMinute: number, now: number, n: number): Promise<{ granted: number; tokens: number }> {
  const { rows } = await reachable(
    knex.raw(
      `INSERT INTO rate_buckets AS b (key, tokens, per_minute, at_ms, granted)
       SELECT :key, pm - least(n, floor(pm)), pm, at_ms, least(n, floor(pm))
         FROM (SELECT CAST(:pm AS float8) AS pm, CAST(:n AS integer) AS n, CAST(:now AS bigint) AS at_ms) AS given
       ON CONFLICT (key) DO UPDATE SET
         tokens = ${REFILLED_SQL} - least(CAST(:n AS integer), floor(${REFILLED_SQL})),
         granted = least(CAST(:n AS integer), floor(${REFILLED_SQL})),
         per_minute = excluded.per_minute,
         at_ms = greatest(b.at_ms, excluded.at_ms)
       RETURNING granted, tokens`,
      { key, pm: perMinute, n, now },
    ),
  );
  return rows[0] as { granted: number; tokens: number };
}

function secondsUntilOne(tokens: number, perMinute: number): number {
  return Math.max(1, Math.ceil(((1 - tokens) * 60) / perMinute));
}

/** The limiter fails closed: with the database down the caller hears 503 (retry), not a free pass. */
async function reachable<T>(p: PromiseLike<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw new GatewayError('GW_STORE_UNAVAILABLE', 'The rate-limit counters are not reachable; nothing was accepted. Retry later.', { cause: err });
  }
}
