import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { DeliveryState, PartnerProfile, Route } from '../types.js';
import { COPY_FROM_ROWS, copyRows } from '../store/copy.js';
import type { EventEnvelope, OutboxTarget } from './transport.js';

/*
 * The outbox: the `deliveries` table. Everything that leaves the gateway is queued here, by the
 * functions below, and nothing else writes the table but the worker recording outcomes
 * (outcome.ts, claim.ts) and the breaker (breaker.ts).
 */

/** The columns a document's delivery is queued with; the others keep their defaults. */
const DELIVERY_COLUMNS = ['id', 'document_id', 'message_id', 'partner_id', 'target_id', 'target', 'idempotency_key', 'max_attempts', 'queued_at'] as const;

/** A delivery of one accepted document to one route's target, queued with the document. */
export interface DocumentDelivery {
  id: string;
  documentId: string;
  messageId: string;
  partnerId: string;
  route: Route;
  idempotencyKey: string;
}

/**
 * Queues document deliveries in the transaction that routed them, with one COPY (their keys are
 * the message's own: only the transaction that claimed it queues them, and a second copy would
 * fail the unique idempotency key). Their maximum age counts from now (the database's clock
 * time), not from the start of the transaction, which opened before the message was interpreted.
 */
export async function queueDocumentDeliveries(trx: Knex.Transaction, rows: readonly DocumentDelivery[]): Promise<void> {
  if (!rows.length) return;
  const clock = await trx.raw<{ rows: { now: string }[] }>('SELECT clock_timestamp()::text AS now');
  const now = clock.rows[0]?.now;
  const targets = new Map<Route, string>();
  const target = (route: Route) => targets.get(route) ?? (targets.set(route, JSON.stringify(route.target)).get(route) as string);
  const values = rows.map((r) => [
    r.id,
    r.documentId,
    r.messageId,
    r.partnerId,
    r.route.target.id,
    target(r.route),
    r.idempotencyKey,
    r.route.maxAttempts ?? null,
    now,
  ]);
  if (rows.length < COPY_FROM_ROWS) await trx('deliveries').insert(values.map((v) => Object.fromEntries(DELIVERY_COLUMNS.map((column, i) => [column, v[i]]))));
  else await copyRows(trx, `COPY deliveries (${DELIVERY_COLUMNS.join(', ')}) FROM STDIN`, values);
}

/** One event to one subscription (decision 0037); `envelope` is what is posted. */
export interface EventDelivery {
  subscriptionId: string;
  /** The message the event is about: the delivery shows on its timeline. */
  messageId: string | null;
  envelope: EventEnvelope;
}

/** Rows per INSERT of event deliveries (PostgreSQL takes at most 65,535 bind parameters per statement). */
const EVENT_INSERT_BATCH = 1000;

/**
 * Queues event deliveries in the caller's transaction. Each row's key is `event:<subscription>:<event
 * id>`: an event published twice (a stable id) is queued once. Returns how many were queued.
 */
export async function queueEventDeliveries(trx: Knex.Transaction, rows: readonly EventDelivery[]): Promise<number> {
  let queued = 0;
  for (let i = 0; i < rows.length; i += EVENT_INSERT_BATCH) {
    const inserted: unknown[] = await trx('deliveries')
      .insert(
        rows.slice(i, i + EVENT_INSERT_BATCH).map((r) => {
          const target: OutboxTarget = { kind: 'event', id: `event:${r.subscriptionId}`, subscription: r.subscriptionId };
          return {
            id: randomUUID(),
            message_id: r.messageId,
            partner_id: r.envelope.partnerId,
            target_id: target.id,
            target: JSON.stringify(target),
            idempotency_key: `event:${r.subscriptionId}:${r.envelope.id}`,
            event: JSON.stringify(r.envelope),
          };
        }),
      )
      .onConflict('idempotency_key')
      .ignore()
      .returning('id');
    queued += inserted.length;
  }
  return queued;
}

/** Takes back the deliveries of documents that were rejected after all (or are interpreted again). */
export async function dropDocumentDeliveries(trx: Knex.Transaction, messageId: string, documentIds: Knex.QueryBuilder): Promise<void> {
  await trx('deliveries').where('message_id', messageId).whereIn('document_id', documentIds).del();
}

/** True when one of these documents already reached its target. */
export async function anyDelivered(trx: Knex.Transaction, documentIds: Knex.QueryBuilder): Promise<boolean> {
  return Boolean(
    await trx('deliveries')
      .whereIn('document_id', documentIds)
      .andWhere('state', 'delivered' satisfies DeliveryState)
      .first('id'),
  );
}

/**
 * How mailbox documents reach a partner that takes them by push: AS2 when the agreement has
 * `as2.send`, else its own SFTP server when `sftp.remote.delivery` is set; undefined when the partner
 * collects them itself (REST, our SFTP server).
 */
export function pushTargetOf(partner: Readonly<PartnerProfile>): OutboxTarget | undefined {
  if (partner.as2?.send) return { kind: 'as2', id: `as2:${partner.id}` };
  if (partner.sftp?.remote?.delivery) return { kind: 'sftp', id: `sftp:${partner.id}` };
  return undefined;
}

const pushKey = (target: OutboxTarget, messageId: string) => `${target.kind}:${messageId}`;

/** Queues the push of a mailbox document, in the transaction that placed it there. */
export async function queuePush(
  trx: Knex.Transaction,
  partner: Readonly<PartnerProfile>,
  messageId: string,
): Promise<{ id: string; targetId: string } | undefined> {
  const target = pushTargetOf(partner);
  if (!target) return undefined;
  const id = randomUUID();
  await trx('deliveries').insert({
    id,
    message_id: messageId,
    partner_id: partner.id,
    target_id: target.id,
    target: JSON.stringify(target),
    idempotency_key: pushKey(target, messageId),
  });
  return { id, targetId: target.id };
}

/**
 * Queues pushes for mailbox documents no push was queued for yet: documents placed before the
 * partner's push was configured, or before this version of the gateway. Run at start and on reload.
 */
export async function queueMailboxPushes(knex: Knex, partners: Iterable<Readonly<PartnerProfile>>): Promise<number> {
  let queued = 0;
  for (const partner of partners) {
    const target = pushTargetOf(partner);
    if (!target) continue;
    const { rowCount } = await knex.raw(
      `INSERT INTO deliveries (id, message_id, partner_id, target_id, target, idempotency_key)
       SELECT gen_random_uuid(), m.id, m.partner_id, :targetId, :target::jsonb, :kind || ':' || m.id
         FROM messages m
        WHERE m.partner_id = :partner AND m.direction = 'outbound' AND m.state = 'ready' AND m.collected_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id)
       ON CONFLICT (idempotency_key) DO NOTHING`,
      { targetId: target.id, target: JSON.stringify(target), kind: target.kind, partner: partner.id },
    );
    queued += rowCount ?? 0;
  }
  return queued;
}

/** Queues an asynchronous MDN we owe the partner (`record`: the as2_messages row holding it). */
export async function queueOwedMdn(trx: Knex.Transaction, m: { partnerId: string; messageId: string; record: string; url: string }): Promise<void> {
  const target: OutboxTarget = { kind: 'as2-mdn', id: `as2-mdn:${m.partnerId}`, url: m.url, record: m.record };
  await trx('deliveries').insert({
    id: randomUUID(),
    message_id: m.messageId,
    partner_id: m.partnerId,
    target_id: target.id,
    target: JSON.stringify(target),
    idempotency_key: `as2-mdn:${m.record}`,
  });
}

/** Sends an owed MDN again (the partner repeated its message), unless it is being sent right now. */
export async function requeueOwedMdn(trx: Knex.Transaction, record: string): Promise<void> {
  await trx('deliveries')
    .where('idempotency_key', `as2-mdn:${record}`)
    .whereNot('state', 'delivering' satisfies DeliveryState)
    .update({ state: 'pending' satisfies DeliveryState, attempts: 0, next_attempt_at: trx.fn.now(), queued_at: trx.fn.now(), updated_at: trx.fn.now() });
}

/** Puts a message's dead deliveries back in the queue with fresh attempts and a fresh maximum age; same idempotency keys. */
export async function redeliverDead(trx: Knex.Transaction, messageId: string): Promise<number> {
  return trx('deliveries')
    .where({ message_id: messageId, state: 'dead' satisfies DeliveryState })
    .whereNotExists((q) => q.select(trx.raw('1')).from('deliveries as r').whereRaw('r.redelivery_of = deliveries.id'))
    .update({ state: 'pending' satisfies DeliveryState, attempts: 0, next_attempt_at: trx.fn.now(), queued_at: trx.fn.now(), updated_at: trx.fn.now() });
}

/**
 * Hands a stopping worker's claimed deliveries back (those claimed before `lockedBefore`, when given):
 * due again at once, the attempt not counted. Sent again, they carry the same idempotency key.
 */
export async function releaseClaims(knex: Knex, workerId: string, lockedBefore?: Date): Promise<number> {
  return knex('deliveries')
    .where({ state: 'delivering' satisfies DeliveryState, locked_by: workerId })
    .andWhere('locked_at', '<=', lockedBefore ?? knex.fn.now())
    .update({
      state: 'pending' satisfies DeliveryState,
      locked_at: null,
      locked_by: null,
      next_attempt_at: knex.fn.now(),
      attempts: knex.raw('greatest(attempts - 1, 0)'),
      updated_at: knex.fn.now(),
    });
}

/** A row no redelivery has replaced yet: the one that counts for its document and target. */
export const CURRENT_DELIVERY = 'NOT EXISTS (SELECT 1 FROM deliveries r WHERE r.redelivery_of = d.id)';

/** The suffix of a redelivery's key: `<the first delivery's key>:redelivery-<n>`. */
const REDELIVERY_SUFFIX = ':redelivery-';

/**
 * Sends a message's documents again (decision 0030): for each document delivery in `state`
 * (delivered or dead) not sent again yet, a new row to the same target, naming the row it
 * sends again, with the key `<first key>:redelivery-<n>` (n: the rows for that document and
 * target before it). Returns the new rows; none when nothing ended. Document deliveries only: a
 * push or an MDN we owe is queued again by a replay.
 */
export async function queueRedeliveries(
  trx: Knex.Transaction,
  messageId: string,
  state: Extract<DeliveryState, 'delivered' | 'dead'>,
): Promise<{ id: string; idempotencyKey: string }[]> {
  const { rows } = await trx.raw<{ rows: { id: string; idempotency_key: string }[] }>(
    `INSERT INTO deliveries (id, document_id, message_id, partner_id, target_id, target, idempotency_key, max_attempts, redelivery_of)
     SELECT gen_random_uuid(), d.document_id, d.message_id, d.partner_id, d.target_id, d.target,
            regexp_replace(d.idempotency_key, ?, '') || ? ||
              (SELECT count(*) FROM deliveries s WHERE s.document_id = d.document_id AND s.target_id = d.target_id),
            d.max_attempts, d.id
       FROM deliveries d
      WHERE d.message_id = ? AND d.document_id IS NOT NULL AND d.state = ? AND ${CURRENT_DELIVERY}
      ORDER BY d.created_at
     RETURNING id, idempotency_key`,
    [`${REDELIVERY_SUFFIX}\\d+$`, REDELIVERY_SUFFIX, messageId, state],
  );
  return rows.map((r) => ({ id: r.id, idempotencyKey: r.idempotency_key }));
}

/**
 * How many of a message's current deliveries are still on their way (queued, being sent, awaiting an
 * answer); events to subscribers about the message are not among them.
 */
export async function deliveriesUnderWay(trx: Knex.Transaction, messageId: string): Promise<number> {
  const { rows } = await trx.raw<{ rows: { n: string }[] }>(
    `SELECT count(*) AS n FROM deliveries d
      WHERE d.message_id = ? AND d.state IN ('pending', 'delivering', 'waiting') AND d.target->>'kind' <> 'event' AND ${CURRENT_DELIVERY}`,
    [messageId],
  );
  return Number(rows[0]?.n ?? 0);
}
