import type { Knex } from 'knex';
import type { Target } from '../types.js';

/** A delivery claimed by a worker, with what its envelope needs. */
export interface Claimed {
  id: string;
  message_id: string;
  document_id: string;
  partner_id: string;
  target_id: string;
  target: Target;
  idempotency_key: string;
  attempts: number;
  max_attempts: number | null;
  canonical: unknown;
  type: string;
  schema_version: number;
  profile_id: string;
  profile_version: number;
  document_number: string | null;
  correlation_id: string;
  /** This delivery probes a paused target (the breaker is half-open). */
  probe: boolean;
}

/** Rows whose lease has lapsed: the worker that claimed them stopped renewing it (it crashed). */
const LAPSED = `(d.state = 'delivering' AND d.locked_at < now() - make_interval(secs => :lease::float8 / 1000))`;

/**
 * Claims due deliveries for `workerId` in one statement (FOR UPDATE SKIP LOCKED, so any number of
 * workers share the queue): up to `batchSize` of targets whose breaker is closed, plus one delivery
 * for each paused target whose cool-down is over (its probe), which turns that target `probing`.
 * Rows left `delivering` by a worker whose lease lapsed are claimed again. Each claim counts as an
 * attempt.
 */
export async function claimDeliveries(knex: Knex, opts: { workerId: string; batchSize: number; leaseMs: number }): Promise<Claimed[]> {
  return (
    await knex.raw(
      // probe_targets: paused targets due for a probe, locked so that one worker probes each; a
      // `probing` target whose probe is no longer in flight (its worker died) is probed again.
      `WITH probe_targets AS (
         SELECT t.target_id FROM delivery_targets t
          WHERE (t.state = 'open' AND t.open_until <= now())
             OR (t.state = 'probing' AND NOT EXISTS (
                   SELECT 1 FROM deliveries d WHERE d.target_id = t.target_id AND d.state = 'delivering' AND NOT ${LAPSED}))
          FOR UPDATE SKIP LOCKED),
       due AS (
         SELECT d.id FROM deliveries d
          WHERE ((d.state = 'pending' AND d.next_attempt_at <= now()) OR ${LAPSED})
            AND NOT EXISTS (SELECT 1 FROM delivery_targets t WHERE t.target_id = d.target_id AND t.state <> 'closed')
          ORDER BY d.next_attempt_at
          LIMIT :limit FOR UPDATE SKIP LOCKED),
       probe AS (
         SELECT p.id FROM probe_targets pt
           CROSS JOIN LATERAL (
             SELECT d.id FROM deliveries d
              WHERE d.target_id = pt.target_id AND (d.state = 'pending' OR ${LAPSED})
              ORDER BY d.next_attempt_at
              LIMIT 1 FOR UPDATE SKIP LOCKED) p),
       picked AS (SELECT id, false AS probe FROM due UNION ALL SELECT id, true FROM probe),
       claimed AS (
         UPDATE deliveries d
            SET state = 'delivering', locked_at = now(), locked_by = :workerId, attempts = d.attempts + 1, updated_at = now()
           FROM picked, documents doc, messages m
          WHERE d.id = picked.id AND doc.id = d.document_id AND m.id = d.message_id
         RETURNING d.id, d.message_id, d.document_id, d.partner_id, d.target_id, d.target, d.idempotency_key, d.attempts, d.max_attempts,
                   doc.canonical, doc.type, doc.schema_version, doc.profile_id, doc.profile_version, doc.document_number, m.correlation_id, picked.probe),
       probing AS (
         UPDATE delivery_targets SET state = 'probing', updated_at = now()
          WHERE target_id IN (SELECT target_id FROM claimed WHERE probe))
       SELECT * FROM claimed`,
      { lease: opts.leaseMs, limit: opts.batchSize, workerId: opts.workerId },
    )
  ).rows;
}

/**
 * The heartbeat: a live worker renews the lease of the deliveries it is still sending, so a short
 * lease only lapses when the worker is gone. A row another worker took over is left alone, and so is
 * one locked at this moment (its outcome is being recorded): the heartbeat never waits.
 */
export async function renewLeases(knex: Knex, workerId: string, ids: readonly string[]): Promise<number> {
  if (!ids.length) return 0;
  const { rowCount } = await knex.raw(
    `UPDATE deliveries SET locked_at = now()
      WHERE id IN (SELECT id FROM deliveries WHERE id = ANY(?::uuid[]) AND locked_by = ? AND state = 'delivering' FOR UPDATE SKIP LOCKED)`,
    [[...ids], workerId],
  );
  return rowCount ?? 0;
}
