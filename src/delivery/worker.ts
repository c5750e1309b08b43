import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { isGatewayError } from '../errors.js';
import { targetAnswered, targetFailed, wakeTarget, type BreakerChange } from './breaker.js';
import { claimDeliveries, renewLeases, type Claimed } from './claim.js';
import type { RetryPolicy } from './policy.js';
import { send, type DeliveryEnvelope } from './targets.js';

export interface DeliveryOptions {
  workerId: string;
  batchSize: number;
  /**
   * A row left `delivering` longer than this is claimed again. The live worker renews it every
   * third of it while the send is in flight, so it only lapses when the worker is gone.
   */
  leaseMs: number;
  /** The retry policy and breaker settings for a delivery (the route's, over the defaults). */
  policy: (d: { partnerId: string; targetId: string; type: string }) => RetryPolicy;
  /** The secrets HTTP deliveries are signed with (X-Gateway-Signature); two during a rotation. */
  signingSecrets?: () => Promise<string[]>;
}

/**
 * Claims due deliveries, sends them concurrently while a heartbeat renews their lease, and records
 * each outcome. Returns the number claimed.
 */
export async function deliverBatch(knex: Knex, log: Logger, opts: DeliveryOptions): Promise<number> {
  const claimed = await claimDeliveries(knex, opts);
  if (!claimed.length) return 0;
  const secrets = claimed.some((d) => d.target.kind === 'http') && opts.signingSecrets ? await opts.signingSecrets() : [];
  const inFlight = new Set(claimed.map((d) => d.id));
  let beating = false;
  const heartbeat = setInterval(
    () => {
      if (beating) return;
      beating = true;
      renewLeases(knex, opts.workerId, [...inFlight])
        .catch((err: Error) => log.warn({ err: err.message, deliveries: inFlight.size }, 'delivery: cannot renew leases'))
        .finally(() => (beating = false));
    },
    Math.max(10, Math.floor(opts.leaseMs / 3)),
  );
  try {
    const outcomes = await Promise.allSettled(claimed.map((d) => deliverOne(knex, log, opts, d, secrets).finally(() => inFlight.delete(d.id))));
    // A failure to record an outcome (the store is down) leaves the row to be claimed again after the lease.
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    clearInterval(heartbeat);
  }
  return claimed.length;
}

async function deliverOne(knex: Knex, log: Logger, opts: DeliveryOptions, d: Claimed, secrets: string[]): Promise<void> {
  const dlog = log.child({ partner: d.partner_id, messageId: d.message_id, correlationId: d.correlation_id, deliveryId: d.id, target: d.target_id });
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
    await recordFailure(knex, dlog, opts, d, err);
    return;
  }
  await recordSuccess(knex, dlog, opts, d, outcome);
}

/**
 * Sibling deliveries of one message finish concurrently. Each takes the message row lock first, so
 * the last one sees all the others; NO KEY UPDATE does not conflict with the KEY SHARE locks that
 * inserting events (foreign key to messages) takes, which FOR UPDATE would turn into deadlocks.
 */
async function lockMessage(trx: Knex.Transaction, messageId: string): Promise<void> {
  await trx('messages').select('id').where('id', messageId).forNoKeyUpdate();
}

/** Our claim on the row, unless its lease lapsed and another worker took it over. */
const ours = (trx: Knex.Transaction, d: Claimed, workerId: string) => trx('deliveries').where({ id: d.id, locked_by: workerId, state: 'delivering' });

async function recordSuccess(knex: Knex, log: Logger, opts: DeliveryOptions, d: Claimed, outcome: string): Promise<void> {
  // If recording fails, the row stays `delivering` and is claimed again after the lease; the ERP
  // then sees the same idempotency key a second time, which is what the key is for.
  const recorded = await knex.transaction(async (trx) => {
    await lockMessage(trx, d.message_id);
    const n = await ours(trx, d, opts.workerId).update({
      state: 'delivered',
      delivered_at: trx.fn.now(),
      locked_at: null,
      locked_by: null,
      last_error: null,
      last_error_code: null,
      updated_at: trx.fn.now(),
    });
    if (n === 0) return { lost: true, resumed: false };
    await trx('events').insert({
      message_id: d.message_id,
      document_id: d.document_id,
      delivery_id: d.id,
      type: 'delivered',
      detail: `attempt ${d.attempts} to ${d.target_id}: ${outcome}`,
    });
    const resumed = await targetAnswered(trx, d.target_id);
    if (resumed)
      await trx('events').insert({
        message_id: d.message_id,
        document_id: d.document_id,
        delivery_id: d.id,
        type: 'target.resumed',
        detail: `${d.target_id} answered again; its paused deliveries are sent now`,
      });
    // The message is delivered once none of its deliveries is outstanding.
    await trx.raw(
      `UPDATE messages SET state = 'delivered', updated_at = now()
        WHERE id = ? AND state = 'routed'
          AND NOT EXISTS (SELECT 1 FROM deliveries WHERE message_id = ? AND state <> 'delivered')`,
      [d.message_id, d.message_id],
    );
    return { lost: false, resumed };
  });
  if (recorded.lost)
    return log.warn({ attempt: d.attempts }, 'delivered, but the lease had lapsed and another worker owns the delivery now; it sends the same idempotency key');
  if (recorded.resumed) {
    const woken = await wakeTarget(knex, d.target_id);
    log.info({ woken }, 'target resumed');
  }
  log.info({ attempt: d.attempts }, 'delivered');
}

interface FailureVerdict {
  state: 'pending' | 'dead';
  exhausted: boolean;
  expired: boolean;
}

async function recordFailure(knex: Knex, log: Logger, opts: DeliveryOptions, d: Claimed, err: unknown): Promise<void> {
  const code = isGatewayError(err) ? err.code : 'GW_INTERNAL';
  const message = (err as Error).message;
  // The error catalogue says which failures a retry cannot mend (a 4xx refusal): dead at once.
  const permanent = isGatewayError(err) && !err.retryable;
  const policy = opts.policy({ partnerId: d.partner_id, targetId: d.target_id, type: d.type });
  const recorded = await knex.transaction(async (trx): Promise<{ v: FailureVerdict; breaker: BreakerChange } | undefined> => {
    await lockMessage(trx, d.message_id);
    const v: FailureVerdict | undefined = (
      await trx.raw(
        `WITH v AS (
           SELECT id, (max_attempts IS NOT NULL AND attempts >= max_attempts) AS exhausted,
                  now() >= queued_at + make_interval(secs => :maxAge::float8 / 1000) AS expired
             FROM deliveries WHERE id = :id AND locked_by = :workerId AND state = 'delivering')
         UPDATE deliveries d
            SET state = CASE WHEN :permanent::boolean OR v.exhausted OR v.expired THEN 'dead' ELSE 'pending' END,
                next_attempt_at = now() + make_interval(secs => least(:base::float8 * power(2, d.attempts - 1), :cap::float8) * (0.75 + random() * 0.5) / 1000),
                locked_at = NULL, locked_by = NULL, last_error = :message, last_error_code = :code, updated_at = now()
           FROM v WHERE d.id = v.id
         RETURNING d.state, v.exhausted, v.expired`,
        { maxAge: policy.maxAgeMs, id: d.id, workerId: opts.workerId, permanent, base: policy.backoffMs, cap: policy.backoffMaxMs, message, code },
      )
    ).rows[0];
    if (!v) return undefined;
    if (v.state === 'dead') await trx('messages').where('id', d.message_id).update({ state: 'dead', updated_at: trx.fn.now() });
    // A refusal is an answer: the target is up. Anything else counts towards pausing it.
    let breaker: BreakerChange = null;
    if (permanent) await targetAnswered(trx, d.target_id);
    else breaker = await targetFailed(trx, d.target_id, policy, { code, message });
    const dead = v.state === 'dead';
    const why = !dead ? '' : permanent ? ' (not retryable)' : v.exhausted ? ' (attempts exhausted)' : ` (maximum age ${policy.maxAgeMs / 1000} s reached)`;
    const probe = d.probe
      ? ` (probe of paused ${d.target_id}${breaker === 'probe-failed' ? `; paused again for ${policy.breakerCoolDownMs / 1000} s` : ''})`
      : '';
    const events: Record<string, unknown>[] = [
      {
        type: dead ? 'delivery.dead' : 'delivery.failed',
        code,
        detail: `attempt ${d.attempts}${d.max_attempts ? ` of ${d.max_attempts}` : ''} to ${d.target_id}: ${message}${why}${probe}`,
      },
    ];
    if (breaker === 'paused') {
      events.push({
        type: 'target.paused',
        code,
        detail:
          `${d.target_id} failed ${policy.breakerFailures} times in a row; its deliveries ` +
          `wait ${policy.breakerCoolDownMs / 1000} s, then one delivery probes it`,
      });
    }
    await trx('events').insert(events.map((e) => ({ message_id: d.message_id, document_id: d.document_id, delivery_id: d.id, ...e })));
    return { v, breaker };
  });
  if (!recorded)
    return log.warn({ attempt: d.attempts, code, err: message }, 'delivery failed, but the lease had lapsed and another worker owns the delivery now');
  if (recorded.breaker === 'paused') log.warn({ code, coolDownMs: policy.breakerCoolDownMs }, 'target paused');
  log.warn({ attempt: d.attempts, code, err: message, dead: recorded.v.state === 'dead' }, 'delivery failed');
}
