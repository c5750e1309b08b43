import type { Knex } from 'knex';
import type { RetryPolicy } from './policy.js';

/**
 * The circuit breaker of each target, one `delivery_targets` row per target id (shared by every
 * partner whose routes name that id). `closed`: deliveries flow. `open`: paused until `open_until`;
 * none of its deliveries is attempted. `probing`: the cool-down is over and one delivery is in flight
 * (src/delivery/claim.ts picks it); its success closes the breaker, its failure opens it again.
 */
export type BreakerState = 'closed' | 'open' | 'probing';

/** What a failure did to the breaker: paused the target, kept it paused after a probe, or nothing. */
export type BreakerChange = 'paused' | 'probe-failed' | null;

/** Counts a retryable failure of `targetId`; call inside the transaction that records the attempt. */
export async function targetFailed(
  trx: Knex.Transaction,
  targetId: string,
  policy: RetryPolicy,
  error: { code: string; message: string },
): Promise<BreakerChange> {
  await trx.raw('INSERT INTO delivery_targets (target_id) VALUES (?) ON CONFLICT (target_id) DO NOTHING', [targetId]);
  const row: { state: BreakerState; failures: number } = await trx('delivery_targets')
    .select('state', 'failures')
    .where('target_id', targetId)
    .forUpdate()
    .first();
  const failures = row.failures + 1;
  // A straggler that was in flight when the breaker opened does not prolong the pause.
  const change: BreakerChange = row.state === 'probing' ? 'probe-failed' : row.state === 'closed' && failures >= policy.breakerFailures ? 'paused' : null;
  await trx('delivery_targets')
    .where('target_id', targetId)
    .update({
      failures,
      last_error: error.message,
      last_error_code: error.code,
      updated_at: trx.fn.now(),
      ...(change ? { state: 'open', open_until: trx.raw('now() + make_interval(secs => ?::float8 / 1000)', [policy.breakerCoolDownMs]) } : {}),
      ...(change === 'paused' ? { opened_at: trx.fn.now() } : {}),
    });
  return change;
}

/**
 * The target answered (delivered, or refused the document for good): the failure streak ends and a
 * paused breaker closes. Returns true when it was paused.
 */
export async function targetAnswered(trx: Knex.Transaction, targetId: string): Promise<boolean> {
  const before: { state: BreakerState }[] = await trx
    .raw(
      `UPDATE delivery_targets t SET state = 'closed', failures = 0, open_until = NULL, updated_at = now()
       FROM (SELECT target_id, state FROM delivery_targets WHERE target_id = ? FOR UPDATE) old
      WHERE t.target_id = old.target_id AND (t.state <> 'closed' OR t.failures > 0)
     RETURNING old.state`,
      [targetId],
    )
    .then((r: { rows: { state: BreakerState }[] }) => r.rows);
  return before.some((b) => b.state !== 'closed');
}

/** After a target resumes, its deliveries waiting out their own backoff are due at once. */
export async function wakeTarget(knex: Knex, targetId: string): Promise<number> {
  return knex('deliveries')
    .where({ target_id: targetId, state: 'pending' })
    .andWhere('next_attempt_at', '>', knex.fn.now())
    .update({ next_attempt_at: knex.fn.now() });
}

export interface TargetView {
  targetId: string;
  state: BreakerState;
  failures: number;
  openedAt: Date | null;
  openUntil: Date | null;
  lastError: { code: string | null; message: string | null };
  /** Deliveries waiting (pending) or in flight (delivering) for this target. */
  pending: number;
  delivering: number;
}

/** A row of the listing below, as PostgreSQL returns it. */
interface TargetRow {
  target_id: string;
  state: TargetView['state'];
  failures: number;
  opened_at: Date | null;
  open_until: Date | null;
  last_error: string | null;
  last_error_code: string | null;
  pending: number;
  delivering: number;
}

/** Every target that has deliveries outstanding or a breaker row, paused ones first. */
export async function listTargets(knex: Knex): Promise<TargetView[]> {
  const rows = (
    await knex.raw(
      `WITH load AS (
         SELECT target_id, count(*) FILTER (WHERE state = 'pending') AS pending, count(*) FILTER (WHERE state = 'delivering') AS delivering
           FROM deliveries WHERE state IN ('pending', 'delivering') GROUP BY target_id)
       SELECT coalesce(t.target_id, l.target_id) AS target_id, coalesce(t.state, 'closed') AS state, coalesce(t.failures, 0) AS failures,
              t.opened_at, t.open_until, t.last_error, t.last_error_code, coalesce(l.pending, 0)::int AS pending, coalesce(l.delivering, 0)::int AS delivering
         FROM delivery_targets t FULL JOIN load l ON l.target_id = t.target_id
        ORDER BY (coalesce(t.state, 'closed') = 'closed'), 1`,
    )
  ).rows as TargetRow[];
  return rows.map((r) => ({
    targetId: r.target_id,
    state: r.state,
    failures: r.failures,
    openedAt: r.opened_at,
    openUntil: r.open_until,
    lastError: { code: r.last_error_code, message: r.last_error },
    pending: r.pending,
    delivering: r.delivering,
  }));
}
