import type { Knex } from 'knex';

/** One line of the audit log: who did what to what, from where, and how it ended. */
export interface AuditEntry {
  actor: string;
  action: string;
  target?: string;
  source?: string;
  outcome: 'ok' | 'denied' | 'failed';
  details?: Record<string, unknown>;
}

/**
 * Appends to the audit log. The table refuses updates and deletes (a trigger), so what is written
 * stays. A failure to write is returned to the caller: an action that must be audited does not
 * proceed unaudited when the caller writes in the same transaction.
 */
export async function audit(db: Knex | Knex.Transaction, e: AuditEntry): Promise<void> {
  await db('audit_log').insert({ actor: e.actor, action: e.action, target: e.target ?? null, source: e.source ?? null, outcome: e.outcome, details: e.details ? JSON.stringify(e.details) : null });
}

export interface AuditRow extends Omit<AuditEntry, 'details'> {
  id: string;
  at: Date;
  details: Record<string, unknown> | null;
}

export async function readAudit(knex: Knex, q: { action?: string; actor?: string; since?: Date; limit?: number }): Promise<AuditRow[]> {
  const query = knex('audit_log').select('*').orderBy('id', 'desc').limit(Math.min(q.limit ?? 100, 1000));
  if (q.action) query.where('action', 'like', `${q.action.replace(/[%_]/g, '\\$&')}%`);
  if (q.actor) query.where('actor', q.actor);
  if (q.since) query.where('at', '>=', q.since);
  return query;
}
