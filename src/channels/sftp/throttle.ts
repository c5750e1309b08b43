import type { Knex } from 'knex';

/**
 * Slows down and then locks out repeated login failures, per user name at one client address and per
 * address (whichever is worse); a name is not locked for everyone, so nobody can lock a partner out
 * from elsewhere. Each failure within the window adds delay before the refusal is sent;
 * `maxFailures` failures lock the name (or address) out for `lockMs`, even with right credentials.
 *
 * Failures are rows (`sftp_login_failures`), so a lockout holds on every replica behind a load
 * balancer, whichever one saw the failures (decision 0041).
 */
export class LoginThrottle {
  private nextPruneAt = 0;

  constructor(
    private readonly knex: Knex,
    private readonly opts: { maxFailures: number; windowMs: number; lockMs: number; baseDelayMs: number; now?: () => number },
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Milliseconds until the user or address may try again; 0 when not locked. */
  async lockedFor(user: string, address: string): Promise<number> {
    const now = this.now();
    const row = await this.knex('sftp_login_failures').whereIn('key', keysOf(user, address)).max<{ until: string | null }>('locked_until_ms as until').first();
    return Math.max(0, Number(row?.until ?? 0) - now);
  }

  /** Records a failure; returns how long to wait before answering it. */
  async failure(user: string, address: string): Promise<number> {
    const now = this.now();
    const { maxFailures, windowMs, lockMs } = this.opts;
    const [userKey, addressKey] = keysOf(user, address);
    const [at, window, max, lock] = ['CAST(:now AS bigint)', 'CAST(:windowMs AS bigint)', 'CAST(:maxFailures AS integer)', 'CAST(:lockMs AS bigint)'];
    // A row whose lock is over and whose window has passed starts again from this failure.
    const stale = `f.locked_until_ms <= ${at} AND ${at} - f.first_at_ms > ${window}`;
    const count = `CASE WHEN ${stale} THEN 1 ELSE f.count + 1 END`;
    const { rows } = await this.knex.raw<{ rows: { count: number }[] }>(
      `INSERT INTO sftp_login_failures AS f (key, count, first_at_ms, locked_until_ms)
       SELECT key, 1, ${at}, CASE WHEN 1 >= ${max} THEN ${at} + ${lock} ELSE 0 END FROM (VALUES (CAST(:userKey AS text)), (:addressKey)) AS given (key)
       ON CONFLICT (key) DO UPDATE SET
         count = ${count},
         first_at_ms = CASE WHEN ${stale} THEN ${at} ELSE f.first_at_ms END,
         locked_until_ms = CASE WHEN ${count} >= ${max} THEN ${at} + ${lock} WHEN ${stale} THEN 0 ELSE f.locked_until_ms END
       RETURNING count`,
      { userKey, addressKey, now, windowMs, maxFailures, lockMs },
    );
    await this.pruneNow(now);
    const worst = Math.max(...rows.map((r) => r.count));
    return Math.min(this.opts.baseDelayMs * 2 ** (worst - 1), 5_000);
  }

  async success(user: string, address: string): Promise<void> {
    await this.knex('sftp_login_failures')
      .where({ key: keysOf(user, address)[0] })
      .del();
  }

  /** At most once a minute, forgets rows whose lock is over and whose window has passed. */
  private async pruneNow(now: number): Promise<void> {
    if (now < this.nextPruneAt) return;
    this.nextPruneAt = now + 60_000;
    await this.knex('sftp_login_failures')
      .where('locked_until_ms', '<=', now)
      .andWhere('first_at_ms', '<', now - this.opts.windowMs)
      .del();
  }
}

/** The user name at this address, and the address. */
function keysOf(user: string, address: string): [string, string] {
  return [`p:${user}|${address}`, `a:${address}`];
}
