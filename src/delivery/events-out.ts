import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { notify } from '../store/signals.js';
import { queueEventDeliveries, type EventDelivery } from './outbox.js';
import type { EventEnvelope } from './transport.js';
import { subscriptionView, type EventOutType, type Subscription } from './subscriptions.js';

/*
 * Events out (decision 0037): a business event becomes one outbox row per subscription it
 * matches, written in the transaction of the change it reports.
 */

/** An event to publish: its envelope's fields, and the message whose timeline shows its deliveries. */
export interface BusinessEvent {
  /** Default: a new UUID. Give a stable one (`stableEventId`) when the same fact may be published twice. */
  id?: string;
  type: EventOutType;
  occurredAt?: Date;
  partnerId: string | null;
  /** The message the event is about, if any: its deliveries appear on that message's timeline. */
  messageId?: string | null;
  /** Facts of this event's partner only: a partner's subscription receives them. */
  data: Record<string, unknown>;
}

/** A UUID derived from the fact an event reports, so that publishing the fact again is a no-op (its rows' keys repeat). */
export function stableEventId(...fact: readonly string[]): string {
  const h = createHash('sha256').update(fact.join('\u0000')).digest('hex');
  // Shaped as a version-5 UUID (name-based), with its variant bits.
  const variant = ((Number.parseInt(h.slice(16, 17), 16) & 3) | 8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Whether a subscription may receive an event: a partner's only its own partner's events; the
 * ERP's every partner's, or the one partner it names (and then not the gateway's own events).
 */
export function receives(s: Subscription, event: Pick<BusinessEvent, 'type' | 'partnerId'>): boolean {
  if (!s.types.includes(event.type)) return false;
  if (s.owner === 'partner') return event.partnerId !== null && s.partnerId === event.partnerId;
  return s.partnerId === null || s.partnerId === event.partnerId;
}

/**
 * Publishes an event: queues a signed delivery for each subscription that receives it, in the
 * caller's transaction (so it is sent only if the change it reports commits). With no matching
 * subscription it reads nothing and writes nothing. Returns the number of deliveries queued.
 */
export function publishEvent(trx: Knex.Transaction, event: BusinessEvent): Promise<number> {
  return publishEvents(trx, [event]);
}

/** publishEvent for many events at once (one insert for all their deliveries). */
export async function publishEvents(trx: Knex.Transaction, events: readonly BusinessEvent[]): Promise<number> {
  const rows: EventDelivery[] = [];
  for (const event of events) {
    const subscribers = (await subscriptionView.of(trx, event.type)).filter((s) => receives(s, event));
    if (!subscribers.length) continue;
    const envelope = envelopeOf(event);
    for (const s of subscribers) rows.push({ subscriptionId: s.id, messageId: event.messageId ?? null, envelope });
  }
  if (!rows.length) return 0;
  const queued = await queueEventDeliveries(trx, rows);
  if (queued) await notify(trx, 'deliveries');
  return queued;
}

/** Whether any subscription names one of these types: lets a caller skip gathering the facts of events nobody receives. */
export async function anySubscribed(db: Knex | Knex.Transaction, types: readonly EventOutType[]): Promise<boolean> {
  for (const type of types) if ((await subscriptionView.of(db, type)).length) return true;
  return false;
}

function envelopeOf(event: BusinessEvent): EventEnvelope {
  return {
    id: event.id ?? randomUUID(),
    type: event.type,
    occurredAt: (event.occurredAt ?? new Date()).toISOString(),
    partnerId: event.partnerId,
    data: event.data,
  };
}
