import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { isGatewayError } from '../errors.js';
import type { Target } from '../types.js';
import { send, type DeliveryEnvelope } from './targets.js';

export interface DeliveryOptions {
  workerId: string;
  batchSize: number;
  /** First retry delay; each attempt doubles it, with ±25 % jitter, up to `backoffMaxMs`. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A row left `delivering` longer than this (a crashed worker) is claimed again. */
  leaseMs: number;
  /** The secrets HTTP deliveries are signed with (X-Gateway-Signature); two during a rotation. */
  signingSecrets?: () => Promise<string[]>;
}

interface Claimed {
  id: string;
  message_id: string;
  document_id: string;
  partner_id: string;
  target: Target;
  idempotency_key: string;
  attempts: number;
  max_attempts: number;
  canonical: unknown;
  type: string;
  schema_version: number;
  profile_id: string;
  profile_version: number;
  document_number: string | null;
  correlation_id: string;
}

/**
 * Claims due deliveries in one statement (FOR UPDATE SKIP LOCKED), sends them concurrently and
 * records each outcome. Returns the number claimed.
 */
export async function deliverBatch(knex: Knex, log: Logger, opts: DeliveryOptions): Promise<number> {
  const claimed: Claimed[] = (
    await knex.raw(
      `WITH due AS (
         SELECT id FROM deliveries
          WHERE (state = 'pending' AND next_attempt_at <= now())
             OR (state = 'delivering' AND locked_at < now() - make_interval(secs => ?::float8 / 1000))
          ORDER BY next_attempt_at
          LIMIT ? FOR UPDATE SKIP LOCKED)
       UPDATE deliveries d
          SET state = 'delivering', locked_at = now(), locked_by = ?, attempts = d.attempts + 1, updated_at = now()
         FROM due, documents doc, messages m
        WHERE d.id = due.id AND doc.id = d.document_id AND m.id = d.message_id
       RETURNING d.id, d.message_id, d.document_id, d.partner_id, d.target, d.idempotency_key, d.attempts, d.max_attempts,
                 doc.canonical, doc.type, doc.schema_version, doc.profile_id, doc.profile_version, doc.document_number, m.correlation_id`,
      [opts.leaseMs, opts.batchSize, opts.workerId],
    )
  ).rows;
  const secrets = claimed.some((d) => d.target.kind === 'http') && opts.signingSecrets ? await opts.signingSecrets() : [];
  await Promise.all(claimed.map((d) => deliverOne(knex, log, opts, d, secrets)));
  return claimed.length;
}

async function deliverOne(knex: Knex, log: Logger, opts: DeliveryOptions, d: Claimed, secrets: string[]): Promise<void> {
  const dlog = log.child({ partner: d.partner_id, messageId: d.message_id, correlationId: d.correlation_id, deliveryId: d.id, target: d.target.id });
  const envelope: DeliveryEnvelope = {
    deliveryId: d.id,
    idempotencyKey: d.idempotency_key,
    correlationId: d.correlation_id,
    messageId: d.message_id,
    documentId: d.document_id,
    partner: d.partner_id,
    type: d.type,
    schemaVersion: d.schema_version,
    profile: { id: d.profile_id, version: d.profile_version },
    documentNumber: d.document_number,
    document: d.canonical,
  };
  let outcome: string;
  try {
    outcome = await send(d.target, envelope, secrets);
  } catch (err) {
    await recordFailure(knex, opts, d, err);
    dlog.warn({ attempt: d.attempts, code: isGatewayError(err) ? err.code : 'GW_INTERNAL', err: (err as Error).message }, 'delivery failed');
    return;
  }
  // Sent. If recording that fails, the row stays `delivering` and is claimed again after the lease;
  // the ERP then sees the same idempotency key a second time, which is what the key is for.
  await knex.transaction(async (trx) => {
    await lockMessage(trx, d.message_id);
    await trx('deliveries').where('id', d.id).update({ state: 'delivered', delivered_at: trx.fn.now(), locked_at: null, locked_by: null, last_error: null, last_error_code: null, updated_at: trx.fn.now() });
    await trx('events').insert({ message_id: d.message_id, document_id: d.document_id, delivery_id: d.id, type: 'delivered', detail: `attempt ${d.attempts} to ${d.target.id}: ${outcome}` });
    // The message is delivered once none of its deliveries is outstanding.
    await trx.raw(
      `UPDATE messages SET state = 'delivered', updated_at = now()
        WHERE id = ? AND state = 'routed'
          AND NOT EXISTS (SELECT 1 FROM deliveries WHERE message_id = ? AND state <> 'delivered')`,
      [d.message_id, d.message_id],
    );
  });
  dlog.info({ attempt: d.attempts }, 'delivered');
}

/**
 * Sibling deliveries of one message finish concurrently. Each takes the message row lock first, so
 * the last one sees all the others; NO KEY UPDATE does not conflict with the KEY SHARE locks that
 * inserting events (foreign key to messages) takes, which FOR UPDATE would turn into deadlocks.
 */
async function lockMessage(trx: Knex.Transaction, messageId: string): Promise<void> {
  await trx('messages').select('id').where('id', messageId).forNoKeyUpdate();
}

async function recordFailure(knex: Knex, opts: DeliveryOptions, d: Claimed, err: unknown): Promise<void> {
  const code = isGatewayError(err) ? err.code : 'GW_INTERNAL';
  const message = (err as Error).message;
  const permanent = Boolean((err as { permanent?: boolean }).permanent);
  const dead = permanent || d.attempts >= d.max_attempts;
  await knex.transaction(async (trx) => {
    await lockMessage(trx, d.message_id);
    if (dead) {
      await trx('deliveries').where('id', d.id).update({ state: 'dead', locked_at: null, locked_by: null, last_error: message, last_error_code: code, updated_at: trx.fn.now() });
      await trx('messages').where('id', d.message_id).update({ state: 'dead', updated_at: trx.fn.now() });
    } else {
      await trx.raw(
        `UPDATE deliveries SET state = 'pending', locked_at = NULL, locked_by = NULL, last_error = ?, last_error_code = ?, updated_at = now(),
                next_attempt_at = now() + make_interval(secs => least(?::float8 * power(2, attempts - 1), ?::float8) * (0.75 + random() * 0.5) / 1000)
          WHERE id = ?`,
        [message, code, opts.backoffBaseMs, opts.backoffMaxMs, d.id],
      );
    }
    await trx('events').insert({
      message_id: d.message_id,
      document_id: d.document_id,
      delivery_id: d.id,
      type: dead ? 'delivery.dead' : 'delivery.failed',
      code,
      detail: `attempt ${d.attempts} of ${d.max_attempts} to ${d.target.id}: ${message}${dead ? (permanent ? ' (not retryable)' : ' (attempts exhausted)') : ''}`,
    });
  });
}
