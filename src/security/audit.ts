import type { Knex } from 'knex';
import { GatewayError } from '../errors.js';

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
  await db('audit_log').insert({
    actor: storable(e.actor),
    action: storable(e.action),
    target: e.target === undefined ? null : storable(e.target),
    source: e.source === undefined ? null : storable(e.source),
    outcome: e.outcome,
    details: e.details ? JSON.stringify(e.details).replaceAll('\\u0000', '\\ufffd') : null,
  });
}

/**
 * Text as PostgreSQL can store it: a NUL (which text and jsonb refuse) becomes U+FFFD. What a
 * refused client sent is recorded even when it carried one; the refusal is never left unaudited.
 */
function storable(text: string): string {
  return text.replaceAll('\u0000', '\ufffd');
}

export interface AuditRow extends Omit<AuditEntry, 'details'> {
  id: string;
  at: Date;
  details: Record<string, unknown> | null;
}

/** The most entries one read returns. */
export const AUDIT_READ_MAX = 1000;

export interface AuditQuery {
  /** Actions starting with this text (`credential.` for every credential change). */
  action?: string;
  actor?: string;
  /** Targets starting with this text (`api-key:` for every API key). */
  target?: string;
  /** The partner a change concerned (its details' `partner`). */
  partner?: string;
  since?: Date;
  /** Entries before this time. */
  until?: Date;
  /** Keyset paging: entries older than the one of this id (the last id of the previous page). */
  beforeId?: string;
  limit?: number;
}

/**
 * The newest audit entries, filtered, newest first; page on with `beforeId`, the last id read. A
 * limit outside 1-1000 or an invalid date or id is refused with GW_REQUEST_INVALID before any SQL
 * runs (the admin API, the portal and the CLI pass what people typed).
 */
export async function readAudit(knex: Knex, q: AuditQuery): Promise<AuditRow[]> {
  const limit = q.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > AUDIT_READ_MAX)
    throw new GatewayError('GW_REQUEST_INVALID', `The audit limit must be a whole number from 1 to ${AUDIT_READ_MAX} (found ${limit}).`);
  for (const [name, d] of [
    ['since', q.since],
    ['until', q.until],
  ] as const)
    if (d && !(d.getTime() >= 0 && d.getFullYear() <= 9999))
      throw new GatewayError('GW_REQUEST_INVALID', `The audit ${name} must be a date between 1970 and 9999, such as 2026-11-30T12:00:00Z.`);
  if (q.beforeId !== undefined && !/^[1-9][0-9]{0,17}$/.test(q.beforeId))
    throw new GatewayError('GW_REQUEST_INVALID', 'The audit page cursor (before) must be the id of an audit entry.');
  const query = knex('audit_log').select('*').orderBy('id', 'desc').limit(limit);
  if (q.action) query.where('action', 'like', `${likePrefix(q.action)}%`);
  if (q.actor) query.where('actor', q.actor);
  if (q.target) query.where('target', 'like', `${likePrefix(q.target)}%`);
  if (q.partner) query.whereRaw("details->>'partner' = ?", [q.partner]);
  if (q.since) query.where('at', '>=', q.since);
  if (q.until) query.where('at', '<', q.until);
  if (q.beforeId) query.where('id', '<', q.beforeId);
  return query;
}

const likePrefix = (text: string) => text.replace(/[\\%_]/g, '\\$&');
