/**
 * Answers of secret verifications (API keys, client secrets), keyed by the SHA-256 of the presented
 * secret, kept for a short time so that a partner's every request does not cost a database round
 * trip. Trusted only while the gateway hears credential changes from every process (LISTEN/NOTIFY,
 * src/store/signals.ts): any change empties it, and while notifications may be missed it keeps
 * nothing. Revocation therefore takes effect on every replica as soon as the notification arrives,
 * and never later than `ttlMs` even if one were lost.
 * @see docs/decisions/0022-credential-cache-and-signals.md
 */
export class VerificationCache<T> {
  private readonly entries = new Map<string, { value: T; at: number }>();
  private trusted = false;
  /** Bumped by every change, so an answer read before a change is never kept after it. */
  private generation = 0;

  constructor(
    private readonly ttlMs = 10_000,
    private readonly maxEntries = 10_000,
  ) {}

  /** The cached answer for `key`, or undefined when there is none that may be used. */
  get(key: string, now = Date.now()): { value: T } | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (now - e.at <= this.ttlMs) return e;
    this.entries.delete(key);
    return undefined;
  }

  /** The generation to pass to `set`: read it before asking the database. */
  begin(): number {
    return this.generation;
  }

  /** Keeps an answer read since `begin()` returned `generation`, unless something changed meanwhile. */
  set(key: string, value: T, generation: number, now = Date.now()): void {
    if (!this.trusted || generation !== this.generation) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { value, at: now });
  }

  /** A credential changed somewhere: nothing cached may be used any more. */
  invalidate(): void {
    this.generation++;
    this.entries.clear();
  }

  /** Whether changes are heard from every process (false: keep nothing). */
  trust(trusted: boolean): void {
    this.trusted = trusted;
    this.invalidate();
  }

  get size(): number {
    return this.entries.size;
  }
}
