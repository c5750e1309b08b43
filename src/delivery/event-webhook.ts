import { GatewayError } from '../errors.js';
import type { MasterKeys } from '../security/secrets.js';
import type { AllowedUrl } from '../types.js';
import { SIGNATURE_HEADER, signatureHeader } from '../security/webhooks.js';
import type { Knex } from 'knex';
import { type EventPublishers, isBrokerSubscription, publishEventToBroker } from './event-broker.js';
import { post, PostFailed, type PostAnswer } from './http-post.js';
import { loginFor, subscriptionForSending, urlAllowed, type Subscription } from './subscriptions.js';
import type { EventTarget, OutboxItem, Outcome, Transport } from './transport.js';

export interface EventTransportDeps {
  knex: Knex;
  keys: MasterKeys;
  /** The allow-list a subscription's URL must be on now (it may have shrunk since it registered). */
  allowListOf: (s: Subscription) => readonly AllowedUrl[];
  /** How long a subscriber may take to answer (a broker, to confirm). */
  timeoutMs: number;
  /** The broker publishers of route targets, which broker subscriptions share. */
  brokers: EventPublishers;
}

/** HTTP statuses after which the same request may succeed later. */
const RETRYABLE_STATUS = new Set([408, 425, 429]);

/**
 * The transport of event subscriptions (decision 0037): a POST of the event's envelope, signed
 * with the subscription's secret as ERP deliveries are (X-Gateway-Signature), carrying the event
 * id as its idempotency key; or, for a broker subscription, a publish (event-broker.ts). The URL
 * and secret are read at send time; a redirect is a failure (GW_EVENT_REDIRECT), never followed.
 * An event means nothing for a message when it settles.
 */
export function eventWebhookTransport(d: EventTransportDeps): Transport {
  return { send: (item) => sendEvent(d, item), settle: async () => undefined };
}

async function sendEvent(d: EventTransportDeps, item: OutboxItem): Promise<Outcome> {
  const { subscription: id } = item.target as EventTarget;
  if (!item.event) throw new GatewayError('GW_INTERNAL', `delivery ${item.id} to ${item.targetId} carries no event`);
  const sub = await subscriptionForSending(d.knex, d.keys, id);
  if (!sub) throw new GatewayError('GW_EVENT_SUBSCRIPTION_GONE', `subscription ${id} was removed; event ${item.event.id} is not sent`);
  const allowed = d.allowListOf(sub);
  if (!urlAllowed(sub.url, allowed))
    throw new GatewayError('GW_EVENT_SUBSCRIPTION_GONE', `${sub.url} is no longer on the allow-list of subscription ${id}; event ${item.event.id} is not sent`);
  if (isBrokerSubscription(sub))
    return { status: 'delivered', detail: await publishEventToBroker(d.brokers, sub, item, d.timeoutMs, loginFor(sub.url, allowed)) };
  const body = JSON.stringify(item.event);
  const headers = {
    [SIGNATURE_HEADER]: signatureHeader([sub.secret], body),
    'content-type': 'application/json',
    'idempotency-key': item.event.id,
    'x-gateway-event-type': item.event.type,
    'x-gateway-delivery': item.id,
  };
  let res: PostAnswer;
  try {
    res = await post(sub.url, headers, body, d.timeoutMs, 300);
  } catch (err) {
    const why = err instanceof PostFailed ? err.reason : (err as Error).message;
    throw new GatewayError('GW_DELIVERY_NETWORK', `POST ${sub.url} failed: ${why}`, { cause: err });
  }
  return { status: 'delivered', detail: answered(sub.url, res, item.event.type) };
}

/** The detail of a 2xx; throws the failure any other status is. */
function answered(url: string, res: PostAnswer, type: string): string {
  if (res.status >= 200 && res.status < 300) return `${type}: HTTP ${res.status}`;
  if (res.status >= 300 && res.status < 400)
    throw new GatewayError('GW_EVENT_REDIRECT', `POST ${url} answered HTTP ${res.status} (a redirect); redirects are not followed: register the final URL`);
  const refused = res.status >= 400 && res.status < 500 && !RETRYABLE_STATUS.has(res.status);
  throw new GatewayError(refused ? 'GW_DELIVERY_REFUSED' : 'GW_DELIVERY_HTTP', `POST ${url} answered HTTP ${res.status}${res.text ? `: ${res.text}` : ''}`);
}
