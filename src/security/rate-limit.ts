/**
 * Token buckets per key (a partner, or an address at the token endpoint), held in this process:
 * with N replicas a partner gets up to N times its limit. Returns the seconds to wait, 0 to go.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  take(key: string, perMinute: number, now = Date.now()): number {
    const b = this.refilled(key, perMinute, now);
    if (this.buckets.size > 10_000) this.evict(now);
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return secondsUntilOne(b.tokens, perMinute);
  }

  /** The seconds `take` would ask to wait, without taking anything: 0 while the budget lasts. */
  peek(key: string, perMinute: number, now = Date.now()): number {
    const b = this.refilled(key, perMinute, now);
    return b.tokens >= 1 ? 0 : secondsUntilOne(b.tokens, perMinute);
  }

  private refilled(key: string, perMinute: number, now: number): Bucket {
    const b = this.buckets.get(key) ?? { tokens: perMinute, at: now, perMinute };
    // A limit changed by a reload applies at once, in proportion: a partner raised from 5 to 600 a
    // minute with 3 requests left may make 360 more, not wait for its old bucket to refill.
    if (b.perMinute !== perMinute) {
      b.tokens = (b.tokens * perMinute) / b.perMinute;
      b.perMinute = perMinute;
    }
    b.tokens = Math.min(perMinute, b.tokens + (now - b.at) * (perMinute / 60_000));
    b.at = now;
    return b;
  }

  /** Drops buckets that have refilled (they hold nothing a new bucket would not). */
  private evict(now: number): void {
    for (const [k, b] of this.buckets) if (now - b.at > 60_000) this.buckets.delete(k);
  }
}

interface Bucket {
  tokens: number;
  at: number;
  /** The limit the tokens were counted under. */
  perMinute: number;
}

function secondsUntilOne(tokens: number, perMinute: number): number {
  return Math.max(1, Math.ceil(((1 - tokens) * 60) / perMinute));
}
