/**
 * Slows down and then locks out repeated login failures, per user name at one client address and per
 * address (whichever is worse); a name is not locked for everyone, so nobody can lock a partner out
 * from elsewhere. Each failure within the window adds delay before the refusal is sent;
 * `maxFailures` failures lock the name (or address) out for `lockMs`, even with right credentials.
 *
 * Kept in memory per gateway process: a lockout holds on the replica that saw the failures.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; first: number; lockedUntil: number }>();

  constructor(private readonly opts: { maxFailures: number; windowMs: number; lockMs: number; baseDelayMs: number; now?: () => number }) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private entry(key: string) {
    const now = this.now();
    let e = this.failures.get(key);
    if (e && e.lockedUntil <= now && now - e.first > this.opts.windowMs) {
      this.failures.delete(key);
      e = undefined;
    }
    return e;
  }

  /** Milliseconds until the user or address may try again; 0 when not locked. */
  lockedFor(user: string, address: string): number {
    const now = this.now();
    return Math.max(0, ...[`p:${user}|${address}`, `a:${address}`].map((k) => (this.entry(k)?.lockedUntil ?? 0) - now));
  }

  /** Records a failure; returns how long to wait before answering it. */
  failure(user: string, address: string): number {
    const now = this.now();
    let worst = 0;
    for (const key of [`p:${user}|${address}`, `a:${address}`]) {
      const e = this.entry(key) ?? { count: 0, first: now, lockedUntil: 0 };
      e.count++;
      if (e.count >= this.opts.maxFailures) e.lockedUntil = now + this.opts.lockMs;
      this.failures.set(key, e);
      worst = Math.max(worst, e.count);
    }
    return Math.min(this.opts.baseDelayMs * 2 ** (worst - 1), 5_000);
  }

  success(user: string, address: string): void {
    this.failures.delete(`p:${user}|${address}`);
  }
}
