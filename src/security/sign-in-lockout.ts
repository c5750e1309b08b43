import type { Knex } from 'knex';

/**
 * The portal's lockout (decision 0023): N failed sign-ins within the window, for one username or
 * from one address, refuse further attempts for the window after the Nth. Failures are rows, so
 * every replica counts the same ones. Attempts refused while locked are not recorded: the lock
 * ends a window after it began, not a window after the last impatient retry.
 */

export interface LockoutRule {
  userFailures: number;
  addressFailures: number;
  windowMs: number;
}

/** Milliseconds until this username and address may try again; 0 when neither is locked. */
export async function lockedForMs(knex: Knex, username: string, source: string, now: Date, rule: LockoutRule): Promise<number> {
  const [byUser, byAddress] = await Promise.all([
    lockEnd(knex, 'username', username, rule.userFailures, now, rule.windowMs),
    lockEnd(knex, 'source', source, rule.addressFailures, now, rule.windowMs),
  ]);
  return Math.max(0, byUser - now.getTime(), byAddress - now.getTime());
}

/**
 * When the lock on one key ends (ms since the epoch), from its newest `limit` failures: they lock
 * when all fall within one window, until a window after the newest.
 */
async function lockEnd(knex: Knex, column: 'username' | 'source', value: string, limit: number, now: Date, windowMs: number): Promise<number> {
  const recent: { at: Date }[] = await knex('portal_sign_in_failures')
    .select('at')
    .where(column, value)
    .where('at', '>', new Date(now.getTime() - 2 * windowMs))
    .orderBy('at', 'desc')
    .limit(limit);
  if (recent.length < limit) return 0;
  const [newest, oldest] = [recent[0]!.at.getTime(), recent[recent.length - 1]!.at.getTime()];
  return newest - oldest < windowMs ? newest + windowMs : 0;
}

/** Records a failed sign-in; forgets this username's failures older than two windows (nothing reads them). */
export async function recordFailure(knex: Knex, username: string, source: string, now: Date, rule: LockoutRule): Promise<void> {
  await knex('portal_sign_in_failures').insert({ username, source, at: now });
  await knex('portal_sign_in_failures')
    .where('at', '<', new Date(now.getTime() - 2 * rule.windowMs))
    .andWhere((q) => q.where({ username }).orWhere({ source }))
    .del();
}

/** A successful sign-in clears the username's failures (not the address's: others may share it). */
export async function clearUserFailures(knex: Knex, username: string): Promise<void> {
  await knex('portal_sign_in_failures').where({ username }).del();
}
