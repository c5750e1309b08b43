import type { Knex } from 'knex';
import type { CanonicalDocument } from '../canonical/index.js';
import type { EventEnvelope, OutboxItem, OutboxTarget } from './transport.js';

/** A claimed row as the claim returns it. */
interface ClaimedRow {
  id: string;
  message_id: string | null;
  document_id: string | null;
  partner_id: string | null;
  target_id: string;
  target: OutboxTarget;
  idempotency_key: string;
  attempts: number;
  max_attempts: number | null;
  canonical: CanonicalDocument | null;
  type: string | null;
  schema_version: number | null;
  profile_id: string | null;
  profile_version: number | null;
  document_number: string | null;
  correlation_id: string | null;
  event: EventEnvelope | null;
  received_at: Date | null;
  probe: boolean;
}

function itemOf(r: ClaimedRow): OutboxItem {
  return {
    id: r.id,
    messageId: r.message_id ?? '',
    partnerId: r.partner_id ?? '',
    targetId: r.target_id,
    target: r.target,
    idempotencyKey: r.idempotency_key,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    correlationId: r.correlation_id ?? '',
    ...(r.received_at ? { receivedAt: r.received_at } : {}),
    probe: r.probe,
    event: r.event,
    document: r.document_id
      ? {
          id: r.document_id,
          type: r.type ?? '',
          schemaVersion: r.schema_version ?? 0,
          profile: { id: r.profile_id ?? '', version: r.profile_version ?? 0 },
          documentNumber: r.document_number,
          canonical: r.canonical as CanonicalDocument,
        }
      : null,
  };
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
export async function claimDeliveries(knex: Knex, opts: { workerId: string; batchSize: number; leaseMs: number }): Promise<OutboxItem[]> {
  const { rows } = await knex.raw<{ rows: ClaimedRow[] }>(
    // probe_targets: paused targets due for a probe, locked so that one worker probes each; a
    // `probing` target whose probe is no longer in flight (its worker died) is probed again.
    `WITH probe_targets AS (
         SELECT t.target_id FROM delivery_targets t
          WHERE (t.state = 'open' AND t.open_until <= now())
             OR (t.state = 'probing' AND NOT EXISTS (
                   SELECT 1 FROM deliveries d WHERE d.target_id = t.target_id AND d.state = 'delivering' AND NOT ${LAPSED}))
          FOR UPDATE SKIP LOCKED),
       due AS (
         SELECT d.id, d.message_id, d.document_id FROM deliveries d
          WHERE (d.state IN ('pending', 'waiting') AND d.next_attempt_at <= now() OR ${LAPSED})
            AND NOT EXISTS (SELECT 1 FROM delivery_targets t WHERE t.target_id = d.target_id AND t.state <> 'closed')
          ORDER BY d.next_attempt_at
          LIMIT :limit FOR UPDATE SKIP LOCKED),
       probe AS (
         SELECT p.* FROM probe_targets pt
           CROSS JOIN LATERAL (
             SELECT d.id, d.message_id, d.document_id FROM deliveries d
              WHERE d.target_id = pt.target_id AND (d.state IN ('pending', 'waiting') OR ${LAPSED})
              ORDER BY d.next_attempt_at
              LIMIT 1 FOR UPDATE SKIP LOCKED) p),
       picked AS (SELECT *, false AS probe FROM due UNION ALL SELECT *, true FROM probe),
       claimed AS (
         UPDATE deliveries d
            SET state = 'delivering', locked_at = now(), locked_by = :workerId, attempts = d.attempts + 1, updated_at = now()
           FROM picked LEFT JOIN messages m ON m.id = picked.message_id LEFT JOIN documents doc ON doc.id = picked.document_id
          WHERE d.id = picked.id
         RETURNING d.id, d.message_id, d.document_id, d.partner_id, d.target_id, d.target, d.idempotency_key, d.attempts, d.max_attempts,
                   doc.canonical, doc.type, doc.schema_version, doc.profile_id, doc.profile_version, doc.document_number, m.correlation_id, d.event,
                   m.received_at, picked.probe),
       probing AS (
         UPDATE delivery_targets SET state = 'probing', updated_at = now()
          WHERE target_id IN (SELECT target_id FROM claimed WHERE probe))
       SELECT * FROM claimed`,
    { lease: opts.leaseMs, limit: opts.batchSize, workerId: opts.workerId },
  );
  return rows.map(itemOf);
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

/** The delivery with this idempotency key as a transport sees it, if it is waiting for its answer. */
export async function waitingDelivery(knex: Knex, idempotencyKey: string): Promise<OutboxItem | undefined> {
  const row: ClaimedRow | undefined = await knex('deliveries as d')
    .leftJoin('messages as m', 'm.id', 'd.message_id')
    .leftJoin('documents as doc', 'doc.id', 'd.document_id')
    .first(
      'd.id',
      'd.message_id',
      'd.document_id',
      'd.partner_id',
      'd.target_id',
      'd.target',
      'd.idempotency_key',
      'd.attempts',
      'd.max_attempts',
      'doc.canonical',
      'doc.type',
      'doc.schema_version',
      'doc.profile_id',
      'doc.profile_version',
      'doc.document_number',
      'm.correlation_id',
      'd.event',
      'm.received_at',
      knex.raw('false AS probe'),
    )
    .where({ 'd.idempotency_key': idempotencyKey, 'd.state': 'waiting' });
  return row && itemOf(row);
}
