import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { GatewayError } from '../errors.js';
import type { DeliveryState } from '../types.js';
import { recordEvents, type TimelineEvent } from '../observability/events.js';
import { targetAnswered, targetFailed, wakeTarget, type BreakerChange } from './breaker.js';
import type { RetryPolicy } from './policy.js';
import type { OutboxItem, Outcome, TimelineNote, Transport } from './transport.js';

/**
 * Who may record the outcome: the worker that claimed the row (while its lease holds), or, for a
 * row `waiting` for its answer, whoever received that answer (an asynchronous MDN).
 */
export type Holder = { workerId: string } | 'answer';

export interface OutcomeContext {
  log: Logger;
  policy: RetryPolicy;
  transport: Transport;
}

/**
 * Records one attempt's outcome in one transaction: the delivery's new state, the timeline, the
 * target's breaker and, for a final outcome, its effect on the message. Written once for every kind.
 */
export async function recordOutcome(knex: Knex, ctx: OutcomeContext, item: OutboxItem, outcome: Outcome, holder: Holder): Promise<void> {
  const log = ctx.log.child({ partner: item.partnerId, messageId: item.messageId, deliveryId: item.id, target: item.targetId });
  if (outcome.status === 'failed') return recordFailure(knex, { ...ctx, log }, item, outcome, holder);
  const waiting = outcome.status === 'waiting';
  const resumed = await knex.transaction(async (trx): Promise<boolean | undefined> => {
    await lockMessage(trx, item.messageId);
    const n = await held(trx, item, holder).update({
      state: outcome.status satisfies DeliveryState,
      ...(waiting ? { next_attempt_at: outcome.until } : { delivered_at: trx.fn.now() }),
      locked_at: null,
      locked_by: null,
      last_error: null,
      last_error_code: null,
      updated_at: trx.fn.now(),
    });
    if (n === 0) return undefined;
    await outcome.effects?.(trx);
    const type = waiting ? 'delivery.waiting' : 'delivered';
    await insertEvents(trx, item, [...(outcome.notes ?? []), { type, detail: `attempt ${item.attempts} to ${item.targetId}: ${outcome.detail}` }]);
    const back = await targetAnswered(trx, item.targetId);
    if (back) await insertEvents(trx, item, [{ type: 'target.resumed', detail: `${item.targetId} answered again; its paused deliveries are sent now` }]);
    if (!waiting) await ctx.transport.settle(trx, item, 'delivered');
    return back;
  });
  // If recording failed, the row stays `delivering` and is claimed again after the lease; the target
  // then sees the same idempotency key a second time, which is what the key is for.
  if (resumed === undefined) return void log.warn({ attempt: item.attempts }, `${outcome.status}, but ${lostBecause(holder)}`);
  if (resumed) log.info({ woken: await wakeTarget(knex, item.targetId) }, 'target resumed');
  log.info({ attempt: item.attempts }, waiting ? 'sent; waiting for the answer' : 'delivered');
}

interface FailureVerdict {
  state: Extract<DeliveryState, 'pending' | 'dead'>;
  exhausted: boolean;
  expired: boolean;
  /** Seconds until the next attempt (when pending). */
  next_in: number;
}

async function recordFailure(
  knex: Knex,
  ctx: OutcomeContext,
  item: OutboxItem,
  outcome: Extract<Outcome, { status: 'failed' }>,
  holder: Holder,
): Promise<void> {
  const { policy } = ctx;
  const { error, notes = [] } = outcome;
  // The error catalogue says which failures a retry cannot mend (a 4xx refusal): dead at once.
  const permanent = !error.retryable;
  const recorded = await knex.transaction(async (trx): Promise<{ v: FailureVerdict; breaker: BreakerChange } | undefined> => {
    await lockMessage(trx, item.messageId);
    const v = await failureVerdict(trx, item, error, policy, holder);
    if (!v) return undefined;
    await outcome.effects?.(trx);
    // A refusal is an answer: the target is up. Anything else counts towards pausing it.
    let breaker: BreakerChange = null;
    if (permanent) await targetAnswered(trx, item.targetId);
    else breaker = await targetFailed(trx, item.targetId, policy, { code: error.code, message: error.message });
    await insertEvents(trx, item, [...notes, ...failureEvents(item, error, policy, v, breaker)]);
    if (v.state === 'dead') await ctx.transport.settle(trx, item, 'dead');
    return { v, breaker };
  });
  const fields = { attempt: item.attempts, code: error.code, err: error.message };
  if (!recorded) return void ctx.log.warn(fields, `delivery failed, but ${lostBecause(holder)}`);
  if (recorded.breaker === 'paused') ctx.log.warn({ code: error.code, coolDownMs: policy.breakerCoolDownMs }, 'target paused');
  ctx.log.warn({ ...fields, dead: recorded.v.state === 'dead' }, 'delivery failed');
}

/**
 * Moves the row to its next attempt (backoff with jitter, capped) or to dead letter: when the error
 * is not retryable, the attempts are exhausted, or the delivery reached its maximum age.
 */
async function failureVerdict(
  trx: Knex.Transaction,
  item: OutboxItem,
  error: GatewayError,
  policy: RetryPolicy,
  holder: Holder,
): Promise<FailureVerdict | undefined> {
  const { rows } = await trx.raw<{ rows: FailureVerdict[] }>(
    `WITH v AS (
       SELECT id, (coalesce(max_attempts, :maxAttempts::int) IS NOT NULL AND attempts >= coalesce(max_attempts, :maxAttempts::int)) AS exhausted,
              now() >= queued_at + make_interval(secs => :maxAge::float8 / 1000) AS expired
         FROM deliveries WHERE id = :id AND ${HOLDER_SQL[holder === 'answer' ? 'answer' : 'worker']})
     UPDATE deliveries d
        SET state = CASE WHEN :permanent::boolean OR v.exhausted OR v.expired THEN 'dead' ELSE 'pending' END,
            next_attempt_at = now() + make_interval(secs => least(:base::float8 * power(2, d.attempts - 1), :cap::float8) * (0.75 + random() * 0.5) / 1000),
            locked_at = NULL, locked_by = NULL, last_error = :message, last_error_code = :code, updated_at = now()
       FROM v WHERE d.id = v.id
     RETURNING d.state, v.exhausted, v.expired, extract(epoch FROM d.next_attempt_at - now())::float8 AS next_in`,
    {
      maxAttempts: policy.maxAttempts ?? null,
      maxAge: policy.maxAgeMs,
      id: item.id,
      workerId: holder === 'answer' ? null : holder.workerId,
      permanent: !error.retryable,
      base: policy.backoffMs,
      cap: policy.backoffMaxMs,
      message: error.message,
      code: error.code,
    },
  );
  return rows[0];
}

function failureEvents(item: OutboxItem, error: GatewayError, policy: RetryPolicy, v: FailureVerdict, breaker: BreakerChange): TimelineNote[] {
  const dead = v.state === 'dead';
  const maxAttempts = item.maxAttempts ?? policy.maxAttempts;
  const why = !dead
    ? `; next attempt in ${Math.max(0, Math.round(v.next_in))} s`
    : !error.retryable
      ? ' (not retryable)'
      : v.exhausted
        ? ' (attempts exhausted)'
        : ` (maximum age ${policy.maxAgeMs / 1000} s reached)`;
  const probe = item.probe
    ? ` (probe of paused ${item.targetId}${breaker === 'probe-failed' ? `; paused again for ${policy.breakerCoolDownMs / 1000} s` : ''})`
    : '';
  const events: TimelineNote[] = [
    {
      type: dead ? 'delivery.dead' : 'delivery.failed',
      code: error.code,
      detail: `attempt ${item.attempts}${maxAttempts ? ` of ${maxAttempts}` : ''} to ${item.targetId}: ${error.message}${why}${probe}`,
    },
  ];
  if (breaker === 'paused')
    events.push({
      type: 'target.paused',
      code: error.code,
      detail:
        `${item.targetId} failed ${policy.breakerFailures} times in a row; its deliveries ` +
        `wait ${policy.breakerCoolDownMs / 1000} s, then one delivery probes it`,
    });
  return events;
}

const HOLDER_SQL = { worker: `locked_by = :workerId AND state = 'delivering'`, answer: `state = 'waiting'` } as const;

/** The row, if the holder still holds it (a lapsed lease means another worker owns it now). */
function held(trx: Knex.Transaction, item: OutboxItem, holder: Holder) {
  const q = trx('deliveries').where('id', item.id);
  return holder === 'answer'
    ? q.andWhere('state', 'waiting' satisfies DeliveryState)
    : q.andWhere({ locked_by: holder.workerId, state: 'delivering' satisfies DeliveryState });
}

function lostBecause(holder: Holder): string {
  return holder === 'answer'
    ? 'the delivery was no longer waiting for this answer (it was sent again, or settled)'
    : 'the lease had lapsed and another worker owns the delivery now; it sends the same idempotency key';
}

/**
 * Sibling deliveries of one message finish concurrently. Each takes the message row lock first, so
 * the last one sees all the others; NO KEY UPDATE does not conflict with the KEY SHARE locks that
 * inserting events (foreign key to messages) takes, which FOR UPDATE would turn into deadlocks.
 */
async function lockMessage(trx: Knex.Transaction, messageId: string): Promise<void> {
  await trx('messages').select('id').where('id', messageId).forNoKeyUpdate();
}

/**
 * Every outcome line is written on the delivery's message with the delivery (and the document, for
 * ERP deliveries). The catalogue lists `message_id` and `delivery_id` for each type a delivery
 * writes, which test/unit/events.test.ts checks; the types are checked here by TimelineNote.
 */
async function insertEvents(trx: Knex.Transaction, item: OutboxItem, notes: readonly TimelineNote[]): Promise<void> {
  const rows = notes.map((n) => ({
    message_id: item.messageId,
    ...(item.document ? { document_id: item.document.id } : {}),
    delivery_id: item.id,
    type: n.type,
    ...(n.code ? { code: n.code } : {}),
    detail: n.detail,
  }));
  await recordEvents(trx, rows as TimelineEvent[]);
}
