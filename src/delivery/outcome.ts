import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { GatewayError } from '../errors.js';
import type { GatewayMetrics } from '../observability/metrics.js';
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
  /** Outcomes are counted once their transaction committed. */
  metrics?: GatewayMetrics;
}

/** One attempt to record: the claimed row, what came of it, and the policy and transport of its kind. */
export interface Attempt {
  item: OutboxItem;
  outcome: Outcome;
  ctx: OutcomeContext;
}

/** What to log (and wake) once the transaction that recorded an attempt has committed. */
type AfterCommit = (knex: Knex) => Promise<void>;

/**
 * Records the outcomes of a batch of attempts in one transaction, so a batch costs one commit: each
 * delivery's new state, the timeline, the breaker of each target (its row locked once per batch) and,
 * for a final outcome, its effect on the message. Written once for every kind. If the transaction
 * fails, the rows stay `delivering` and are claimed again after their lease; the targets then see the
 * same idempotency keys a second time, which is what the keys are for.
 */
export async function recordOutcomes(knex: Knex, attempts: readonly Attempt[], holder: Holder): Promise<void> {
  if (!attempts.length) return;
  const after = await knex.transaction(async (trx) => {
    await lockMessages(
      trx,
      attempts.map((a) => a.item.messageId),
    );
    const withLog = attempts.map((a) => ({
      ...a,
      ctx: { ...a.ctx, log: a.ctx.log.child(deliveryLogFields(a.item)) },
    }));
    const done = [await recordAnswers(trx, withLog.filter(isAnswer), holder)];
    for (const a of withLog.filter((x) => !isAnswer(x))) done.push(await recordFailure(trx, a, holder));
    return done;
  });
  for (const log of after) await log(knex);
}

/** Records one attempt's outcome (an answer that came on its own: an asynchronous MDN). */
export function recordOutcome(knex: Knex, ctx: OutcomeContext, item: OutboxItem, outcome: Outcome, holder: Holder): Promise<void> {
  return recordOutcomes(knex, [{ item, outcome, ctx }], holder);
}

type Answer = Attempt & { outcome: Exclude<Outcome, { status: 'failed' }> };
const isAnswer = (a: Attempt): a is Answer => a.outcome.status !== 'failed';

/**
 * The attempts that were answered (delivered, or sent and waiting for the answer), in a few
 * statements for the whole batch: their rows, the transports' own records, one insert of their
 * timeline lines, each target's breaker closed once, and what delivery means for their messages.
 */
async function recordAnswers(trx: Knex.Transaction, answers: readonly Answer[], holder: Holder): Promise<AfterCommit> {
  if (!answers.length) return async () => undefined;
  const held = await markAnswered(trx, answers, holder);
  const mine = answers.filter((a) => held.has(a.item.id));
  const resumed = new Set<string>();
  for (const target of new Set(mine.map((a) => a.item.targetId))) if (await targetAnswered(trx, target)) resumed.add(target);
  // A resumed target's line goes on the timeline of the first of its deliveries in the batch.
  const toldResumed = new Set<string>();
  const lines: { item: OutboxItem; notes: TimelineNote[] }[] = [];
  for (const { item, outcome } of mine) {
    await outcome.effects?.(trx);
    const type = outcome.status === 'waiting' ? 'delivery.waiting' : 'delivered';
    const notes: TimelineNote[] = [...(outcome.notes ?? []), { type, detail: `attempt ${item.attempts} to ${item.targetId}: ${outcome.detail}` }];
    if (resumed.has(item.targetId) && !toldResumed.has(item.targetId)) {
      toldResumed.add(item.targetId);
      notes.push({ type: 'target.resumed', detail: `${item.targetId} answered again; its paused deliveries are sent now` });
    }
    lines.push({ item, notes });
  }
  await insertEventsOf(trx, lines);
  const delivered = mine.filter((a) => a.outcome.status === 'delivered');
  for (const transport of new Set(delivered.map((a) => a.ctx.transport)))
    await transport.settle(
      trx,
      delivered.filter((a) => a.ctx.transport === transport).map((a) => a.item),
      'delivered',
    );
  return async (knex) => {
    for (const a of answers.filter((x) => !held.has(x.item.id)))
      a.ctx.log.warn({ attempt: a.item.attempts }, `${a.outcome.status}, but ${lostBecause(holder)}`);
    for (const target of resumed) answers[0]?.ctx.log.info({ target, woken: await wakeTarget(knex, target) }, 'target resumed');
    for (const a of mine) {
      if (a.outcome.status === 'waiting') a.ctx.log.debug({ attempt: a.item.attempts }, 'sent; waiting for the answer');
      else {
        a.ctx.metrics?.deliveryDelivered({ targetId: a.item.targetId, kind: a.item.target.kind }, a.item.receivedAt);
        a.ctx.log.info({ attempt: a.item.attempts, ...latencyOf(a.item) }, 'delivered');
      }
    }
    if (mine.length) answers[0]?.ctx.log.debug({ delivered: delivered.length, waiting: mine.length - delivered.length }, 'deliveries recorded');
  };
}

/** Moves the answered rows the holder still holds to `delivered` (one statement) or `waiting` (until their answer's time); returns their ids. */
async function markAnswered(trx: Knex.Transaction, answers: readonly Answer[], holder: Holder): Promise<Set<string>> {
  const cleared = { locked_at: null, locked_by: null, last_error: null, last_error_code: null, updated_at: trx.fn.now() };
  const held = new Set<string>();
  const delivered = answers.filter((a) => a.outcome.status === 'delivered').map((a) => a.item.id);
  if (delivered.length) {
    const rows: { id: string }[] = await heldRows(trx, delivered, holder)
      .update({ state: 'delivered' satisfies DeliveryState, delivered_at: trx.fn.now(), ...cleared })
      .returning('id');
    for (const r of rows) held.add(r.id);
  }
  for (const { item, outcome } of answers) {
    if (outcome.status !== 'waiting') continue;
    const n = await heldRows(trx, [item.id], holder).update({ state: 'waiting' satisfies DeliveryState, next_attempt_at: outcome.until, ...cleared });
    if (n) held.add(item.id);
  }
  return held;
}

interface FailureVerdict {
  state: Extract<DeliveryState, 'pending' | 'dead'>;
  exhausted: boolean;
  expired: boolean;
  /** Seconds until the next attempt (when pending). */
  next_in: number;
}

async function recordFailure(trx: Knex.Transaction, a: Attempt, holder: Holder): Promise<AfterCommit> {
  const { item, outcome, ctx } = a;
  if (outcome.status !== 'failed') throw new Error('not a failure');
  const { policy } = ctx;
  const { error, notes = [] } = outcome;
  const fields = { attempt: item.attempts, code: error.code, err: error.message };
  const v = await failureVerdict(trx, item, error, policy, holder);
  if (!v) return async () => void ctx.log.warn(fields, `delivery failed, but ${lostBecause(holder)}`);
  await outcome.effects?.(trx);
  // A refusal is an answer: the target is up. Anything else counts towards pausing it.
  let breaker: BreakerChange = null;
  if (!error.retryable) await targetAnswered(trx, item.targetId);
  else breaker = await targetFailed(trx, item.targetId, policy, { code: error.code, message: error.message });
  await insertEventsOf(trx, [{ item, notes: [...notes, ...failureEvents(item, error, policy, v, breaker)] }]);
  if (v.state === 'dead') await ctx.transport.settle(trx, [item], 'dead');
  return async () => {
    const dead = v.state === 'dead';
    ctx.metrics?.deliveryFailed({ targetId: item.targetId, kind: item.target.kind }, error.code, dead);
    if (breaker === 'paused') ctx.log.warn({ code: error.code, coolDownMs: policy.breakerCoolDownMs }, 'target paused');
    if (dead) ctx.log.warn({ ...fields, exhausted: v.exhausted, expired: v.expired }, 'delivery dead-lettered');
    else ctx.log.warn({ ...fields, nextInSeconds: Math.round(v.next_in) }, 'delivery failed; retrying');
  };
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

/** What every log line of a delivery names: whose, which message and delivery, where to, and the business number when it carries a document. */
function deliveryLogFields(item: OutboxItem): Record<string, unknown> {
  return {
    partner: item.partnerId,
    messageId: item.messageId,
    correlationId: item.correlationId,
    deliveryId: item.id,
    target: item.targetId,
    ...(item.document ? { documentType: item.document.type, documentNumber: item.document.documentNumber } : {}),
  };
}

/** Milliseconds from the message's receipt to now (its delivery), when known. */
function latencyOf(item: OutboxItem): { latencyMs?: number } {
  return item.receivedAt ? { latencyMs: Date.now() - item.receivedAt.getTime() } : {};
}

const HOLDER_SQL = { worker: `locked_by = :workerId AND state = 'delivering'`, answer: `state = 'waiting'` } as const;

/** The rows the holder still holds (a lapsed lease means another worker owns them now). */
function heldRows(trx: Knex.Transaction, ids: readonly string[], holder: Holder) {
  const q = trx('deliveries').whereIn('id', ids);
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
 * Sibling deliveries of one message finish concurrently. Each batch takes its messages' row locks
 * first, so the last one sees all the others; NO KEY UPDATE does not conflict with the KEY SHARE locks that
 * inserting events (foreign key to messages) takes, which FOR UPDATE would turn into deadlocks.
 */
async function lockMessages(trx: Knex.Transaction, messageIds: readonly string[]): Promise<void> {
  // In one order for every worker, so that two batches sharing messages cannot deadlock.
  const ids = [...new Set(messageIds)].filter(Boolean);
  if (ids.length) await trx.raw('SELECT id FROM messages WHERE id = ANY(?::uuid[]) ORDER BY id FOR NO KEY UPDATE', [ids]);
}

/**
 * Every outcome line is written on the delivery's message with the delivery (and the document, for
 * ERP deliveries); an event about no message goes on its partner's timeline, or carries only the
 * delivery. The catalogue lists `delivery_id` for each type a delivery writes, and `message_id` at
 * least sometimes, which test/unit/events.test.ts checks; the types are checked here by TimelineNote.
 */
async function insertEventsOf(trx: Knex.Transaction, lines: readonly { item: OutboxItem; notes: readonly TimelineNote[] }[]): Promise<void> {
  const rows = lines.flatMap(({ item, notes }) =>
    notes.map((n) => ({
      ...(item.messageId ? { message_id: item.messageId } : item.partnerId ? { partner_id: item.partnerId } : {}),
      ...(item.document ? { document_id: item.document.id } : {}),
      delivery_id: item.id,
      type: n.type,
      ...(n.code ? { code: n.code } : {}),
      detail: n.detail,
    })),
  );
  await recordEvents(trx, rows as TimelineEvent[]);
}
