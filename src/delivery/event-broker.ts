import { GatewayError } from '../errors.js';
import { SIGNATURE_HEADER, signatureHeader } from '../security/webhooks.js';
import type { AmqpTarget, BrokerLogin, NatsTarget } from '../types.js';
import type { AmqpPublisher } from './amqp.js';
import type { BrokerMessage } from './broker-message.js';
import type { NatsPublisher } from './nats.js';
import type { Subscription } from './subscriptions.js';
import type { EventEnvelope, OutboxItem } from './transport.js';

/** The publishers the route targets use: one connection per broker, shared. */
export interface EventPublishers {
  amqpPublisher: AmqpPublisher;
  natsPublisher: NatsPublisher;
}

/** Whether a subscription publishes to a broker rather than posting to a webhook. */
export const isBrokerSubscription = (s: Subscription): boolean => s.subject !== undefined || s.routingKey !== undefined;

/**
 * Publishes an event to a broker subscriber (decisions 0037, 0038): the envelope as body, signed as
 * a webhook is (the `x-gateway-signature` header), done on the broker's confirmation. The message
 * id is the delivery's idempotency key (`event:<subscription>:<event id>`), stable across retries
 * and replays: JetStream de-duplicates by it, and being the subscription's own it never collides
 * with another subscription's copy of the event in the same stream. `login` comes from the
 * allow-list entry (configuration), never from the subscriber (decision 0038, "Broker subscribers").
 */
export async function publishEventToBroker(
  p: EventPublishers,
  sub: Subscription & { secret: string },
  item: OutboxItem,
  timeoutMs: number,
  login: BrokerLogin,
): Promise<string> {
  const msg = eventMessage(sub.secret, item);
  const common = { id: item.targetId, timeoutMs, ...login };
  if (sub.subject !== undefined) {
    const target = { ...common, kind: 'nats', servers: [sub.url], subject: sub.subject, ...(sub.stream ? { stream: sub.stream } : {}) } as NatsTarget;
    return `${(item.event as EventEnvelope).type}: ${await p.natsPublisher.publish(target, msg)}`;
  }
  if (sub.routingKey === undefined || sub.exchange === undefined) throw new GatewayError('GW_INTERNAL', `subscription ${sub.id} names no broker place`);
  const target: AmqpTarget = { ...common, kind: 'amqp', url: sub.url, exchange: sub.exchange, routingKey: sub.routingKey };
  return `${(item.event as EventEnvelope).type}: ${await p.amqpPublisher.publish(target, msg)}`;
}

/** The event as a broker message, with the webhook's headers (signature, event type, delivery id) as message headers. */
function eventMessage(secret: string, item: OutboxItem): BrokerMessage {
  const event = item.event as EventEnvelope;
  const body = JSON.stringify(event);
  const correlationId = typeof event.data.correlationId === 'string' ? event.data.correlationId : event.id;
  return {
    id: item.idempotencyKey,
    body: Buffer.from(body),
    contentType: 'application/json',
    type: event.type,
    correlationId,
    headers: {
      [SIGNATURE_HEADER]: signatureHeader([secret], body),
      'x-gateway-event-id': event.id,
      'x-gateway-event-type': event.type,
      'x-gateway-delivery': item.id,
      ...(event.partnerId ? { 'x-gateway-partner': event.partnerId } : {}),
    },
  };
}
