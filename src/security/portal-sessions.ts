import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * Portal sessions (decision 0023). The cookie holds 32 random bytes; the table holds only their
 * SHA-256, so a copy of the table (a backup, a read replica) signs nobody in. A session ends when
 * idle too long, at its absolute end, at sign-out, or when its user is disabled.
 */

export interface SessionTimes {
  idleMs: number;
  maxMs: number;
}

export interface SessionRow {
  idSha256: string;
  userId: string;
  csrfToken: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
}

function sha256(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/** Starts a session for a user; returns the cookie value (never stored) and the row. */
export async function createSession(knex: Knex, userId: string, now: Date, times: SessionTimes): Promise<{ id: string; row: SessionRow }> {
  const id = randomBytes(32).toString('base64url');
  const row = {
    id_sha256: sha256(id),
    user_id: userId,
    csrf_token: randomBytes(32).toString('base64url'),
    created_at: now,
    last_seen_at: now,
    expires_at: new Date(now.getTime() + times.maxMs),
  };
  await knex('portal_sessions').insert(row);
  return { id, row: rowOf(row) };
}

/**
 * The live session a cookie value names, its last activity moved to now; undefined when there is
 * none, or it is idle past the limit or past its absolute end (then it is deleted).
 */
export async function resumeSession(knex: Knex, id: string, now: Date, times: SessionTimes): Promise<SessionRow | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
  const idSha256 = sha256(id);
  const row = await knex('portal_sessions').where({ id_sha256: idSha256 }).first();
  if (!row) return undefined;
  const s = rowOf(row);
  if (now >= s.expiresAt || now.getTime() - s.lastSeenAt.getTime() >= times.idleMs) {
    await knex('portal_sessions').where({ id_sha256: idSha256 }).del();
    return undefined;
  }
  await knex('portal_sessions').where({ id_sha256: idSha256 }).update({ last_seen_at: now });
  return { ...s, lastSeenAt: now };
}

export async function endSession(knex: Knex, idSha256: string): Promise<void> {
  await knex('portal_sessions').where({ id_sha256: idSha256 }).del();
}

/** Ends every session of a user (disabled, or a new password set); returns how many there were. */
export async function endUserSessions(db: Knex | Knex.Transaction, userId: string): Promise<number> {
  return db('portal_sessions').where({ user_id: userId }).del();
}

function rowOf(r: Record<string, unknown>): SessionRow {
  return {
    idSha256: r.id_sha256 as string,
    userId: String(r.user_id),
    csrfToken: r.csrf_token as string,
    createdAt: r.created_at as Date,
    lastSeenAt: r.last_seen_at as Date,
    expiresAt: r.expires_at as Date,
  };
}
