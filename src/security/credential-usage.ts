import type { Knex } from 'knex';

/**
 * When each credential was last used to authenticate, for the security pages ("is this old key
 * still in use before I revoke it?"). Authentication is the hot path of every door, so a use is
 * only noted in memory; `flush` writes what was noted since the last one in a single statement,
 * every CREDENTIAL_USAGE_FLUSH_MS and at shutdown. A reading is therefore at most that old on
 * another process (this process adds what it has not written yet). Kept by kind and reference,
 * so profile credentials (which have no row in `credentials`) have a last use too.
 * @see docs/decisions/0042-credential-last-use.md
 */
export class CredentialUsage {
  private pending = new Map<string, { kind: string; ref: string; at: Date }>();

  note(kind: string, ref: string, at = new Date()): void {
    this.pending.set(`${kind} ${ref}`, { kind, ref, at });
  }

  /** The newest use noted here and not yet written. */
  unwritten(kind: string, ref: string): Date | undefined {
    return this.pending.get(`${kind} ${ref}`)?.at;
  }

  /** Writes the uses noted since the last flush (never moving a last use backwards); how many. */
  async flush(knex: Knex): Promise<number> {
    if (!this.pending.size) return 0;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    try {
      await knex.raw(
        `INSERT INTO credential_usage (kind, ref, last_used_at)
         SELECT * FROM unnest(?::text[], ?::text[], ?::timestamptz[])
         ON CONFLICT (kind, ref) DO UPDATE SET last_used_at = GREATEST(credential_usage.last_used_at, EXCLUDED.last_used_at)`,
        [batch.map((u) => u.kind), batch.map((u) => u.ref), batch.map((u) => u.at)],
      );
    } catch (err) {
      // Keep what could not be written for the next flush, unless a newer use replaced it meanwhile.
      for (const u of batch) if (!this.pending.has(`${u.kind} ${u.ref}`)) this.pending.set(`${u.kind} ${u.ref}`, u);
      throw err;
    }
    return batch.length;
  }

  /** Last uses as written, merged with this process's unwritten ones. */
  async lastUses(knex: Knex, keys: readonly { kind: string; ref: string }[]): Promise<Map<string, Date>> {
    const out = new Map<string, Date>();
    if (!keys.length) return out;
    const rows: { kind: string; ref: string; last_used_at: Date }[] = await knex('credential_usage').whereIn(
      ['kind', 'ref'],
      keys.map((k) => [k.kind, k.ref]) as [string, string][],
    );
    for (const r of rows) out.set(`${r.kind} ${r.ref}`, r.last_used_at);
    for (const k of keys) {
      const mine = this.unwritten(k.kind, k.ref);
      const written = out.get(`${k.kind} ${k.ref}`);
      if (mine && (!written || mine > written)) out.set(`${k.kind} ${k.ref}`, mine);
    }
    return out;
  }
}
