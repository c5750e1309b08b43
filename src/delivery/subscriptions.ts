import { randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { GatewayError } from '../errors.js';
import type { MasterKeys, Sealed } from '../security/secrets.js';
import { notify } from '../store/signals.js';
import type { AllowedUrl, BrokerLogin } from '../types.js';

/*
 * Event subscriptions (decision 0037): who receives which events, where. This module owns the
 * `event_subscriptions` table and keeps the per-process view of it that publishing reads, so that
 * an event nobody subscribed to costs no query.
 */

/** The event types a subscription may name (docs/events.md, "Events out"). */
export const EVENT_TYPES = [
  'document.received',
  'document.rejected',
  'document.delivered',
  'ack.overdue',
  'exception.raised',
  'exception.resolved',
  'po.status-changed',
  'credential.expiring',
] as const;

export type EventOutType = (typeof EVENT_TYPES)[number];

/**
 * Who registered a subscription: the ERP (every partner's events, or one partner's when it names
 * one) or a partner (its own events only).
 */
export type SubscriptionOwner = { kind: 'erp'; partnerId?: string } | { kind: 'partner'; partnerId: string };

/** Where on a broker a subscription publishes (its URL is `amqp(s)://…` or `nats://…`): an exchange and routing key, or a JetStream subject. */
export type BrokerPlace = { exchange: string; routingKey: string } | { subject: string; stream?: string };

/** A subscription as publishing matches it (no secret); a broker subscription has its place's fields too. */
export type Subscription = {
  id: string;
  owner: 'erp' | 'partner';
  /** The owning partner, or the partner an ERP subscription is narrowed to; null: every partner. */
  partnerId: string | null;
  url: string;
  types: EventOutType[];
  description: string | null;
  createdAt: Date;
} & Partial<{ exchange: string; routingKey: string; subject: string; stream: string }>;

interface SubscriptionRow {
  id: string;
  owner: 'erp' | 'partner';
  partner_id: string | null;
  url: string;
  types: EventOutType[];
  description: string | null;
  created_at: Date;
  broker: BrokerPlace | null;
  secret?: Sealed;
}

const VIEW = ['id', 'owner', 'partner_id', 'url', 'types', 'description', 'created_at', 'broker'] as const;

function subscriptionOf(r: SubscriptionRow): Subscription {
  const s = { id: r.id, owner: r.owner, partnerId: r.partner_id, url: r.url, types: r.types, description: r.description, createdAt: r.created_at };
  return r.broker ? { ...s, ...r.broker } : s;
}

/**
 * True when `url` is on the allow-list: equal to an entry, or below an entry that ends in `/`
 * (the same rule as AS2's asynchronous MDN addresses). Compared as the HTTP client will request it
 * (WHATWG-normalized: `..` and `%2e%2e` segments resolved), so a path cannot climb out of an
 * entry; a URL with a user name or password is never allowed.
 */
export function urlAllowed(url: string, allowed: readonly AllowedUrl[]): boolean {
  return allowingEntry(url, allowed) !== undefined;
}

/** The first entry that allows `url` (see urlAllowed). */
function allowingEntry(url: string, allowed: readonly AllowedUrl[]): AllowedUrl | undefined {
  let href: string;
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) return undefined;
    href = parsed.href;
  } catch {
    return undefined;
  }
  return allowed.find((e) => {
    const entry = typeof e === 'string' ? e : e.url;
    return url === entry || href === entry || (entry.endsWith('/') && href.startsWith(entry));
  });
}

/** The login the gateway uses at a broker subscription's URL: the allowing entry's, from configuration; none for a plain entry. */
export function loginFor(url: string, allowed: readonly AllowedUrl[]): BrokerLogin {
  const entry = allowingEntry(url, allowed);
  if (!entry || typeof entry === 'string') return {};
  return { ...(entry.username ? { username: entry.username } : {}), ...(entry.passwordEnv ? { passwordEnv: entry.passwordEnv } : {}) };
}

export interface NewSubscription {
  url: string;
  types: readonly string[];
  description?: string;
  /** For an `amqp(s)://` URL. */
  exchange?: string;
  routingKey?: string;
  /** For a `nats://` URL. */
  subject?: string;
  stream?: string;
}

/** The URL schemes of broker subscribers, and the registration fields each takes. */
const BROKER_FIELDS: Record<string, readonly (keyof NewSubscription)[]> = {
  'amqp:': ['exchange', 'routingKey'],
  'amqps:': ['exchange', 'routingKey'],
  'nats:': ['subject', 'stream'],
};
const ALL_BROKER_FIELDS = ['exchange', 'routingKey', 'subject', 'stream'] as const;

/** A NATS subject to publish to (no wildcards, no spaces) and a stream name, as route targets take them. */
const SUBJECT = /^[^\s*>]{1,255}$/;
const STREAM = /^[^\s.*>/\\]{1,255}$/;

/**
 * Where on the broker a registration with this URL publishes; null for a webhook. The URL is the
 * broker's address only (no query, no fragment: its options are the gateway's, not the
 * subscriber's). Throws GW_REQUEST_INVALID.
 */
function brokerPlaceOf(s: NewSubscription, url: URL): BrokerPlace | null {
  const fields = BROKER_FIELDS[url.protocol];
  const given = ALL_BROKER_FIELDS.filter((f) => s[f] !== undefined);
  const wrong = given.filter((f) => !fields?.includes(f));
  if (wrong.length) throw new GatewayError('GW_REQUEST_INVALID', `${wrong.join(', ')} do${wrong.length > 1 ? '' : 'es'} not go with a ${url.protocol} url.`);
  if (!fields) return null;
  if (url.search || url.hash) throw new GatewayError('GW_REQUEST_INVALID', 'A broker url has no query or fragment.');
  if (url.protocol === 'nats:') {
    if (url.pathname && url.pathname !== '/') throw new GatewayError('GW_REQUEST_INVALID', 'A nats url is nats://host:port, without a path.');
    if (!s.subject || !SUBJECT.test(s.subject))
      throw new GatewayError('GW_REQUEST_INVALID', 'A nats url needs a subject to publish to (no wildcards, no spaces).');
    if (s.stream !== undefined && !STREAM.test(s.stream))
      throw new GatewayError('GW_REQUEST_INVALID', `stream ${JSON.stringify(s.stream)} is not a stream name.`);
    return { subject: s.subject, ...(s.stream ? { stream: s.stream } : {}) };
  }
  if (typeof s.exchange !== 'string' || !s.routingKey)
    throw new GatewayError('GW_REQUEST_INVALID', 'An amqp url needs an exchange ("" is the default exchange) and a routingKey.');
  return { exchange: s.exchange, routingKey: s.routingKey };
}

/**
 * Checks a registration: known event types, an http(s), amqp(s) or nats URL on the owner's
 * allow-list, with the broker fields its scheme takes. Returns the types and the broker place.
 * Throws GW_REQUEST_INVALID or GW_EVENT_URL_NOT_ALLOWED.
 */
function checkRegistration(s: NewSubscription, allowed: readonly AllowedUrl[]): { types: EventOutType[]; broker: BrokerPlace | null } {
  const unknown = s.types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
  if (!s.types.length || unknown.length)
    throw new GatewayError(
      'GW_REQUEST_INVALID',
      `types must name one or more of ${EVENT_TYPES.join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}.`,
    );
  let parsed: URL;
  try {
    parsed = new URL(s.url);
  } catch {
    throw new GatewayError('GW_REQUEST_INVALID', `url ${JSON.stringify(s.url)} is not a URL.`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:' && !BROKER_FIELDS[parsed.protocol])
    throw new GatewayError('GW_REQUEST_INVALID', 'url must be http(s), amqp(s) or nats.');
  const broker = brokerPlaceOf(s, parsed);
  if (!urlAllowed(s.url, allowed)) {
    const list = allowed.length ? `(${allowed.map((e) => (typeof e === 'string' ? e : e.url)).join(', ')})` : '(it is empty)';
    throw new GatewayError('GW_EVENT_URL_NOT_ALLOWED', `${s.url} is not on the allow-list of this subscriber ${list}; ask the gateway's operators to add it.`);
  }
  return { types: [...new Set(s.types as EventOutType[])], broker };
}

/**
 * Registers a subscription for `owner`; returns it with its signing secret, which is stored sealed
 * and never shown again.
 */
export async function createSubscription(
  knex: Knex,
  keys: MasterKeys,
  owner: SubscriptionOwner,
  s: NewSubscription,
  allowed: readonly AllowedUrl[],
): Promise<Subscription & { secret: string }> {
  const { types, broker } = checkRegistration(s, allowed);
  const secret = `whsec_${randomBytes(32).toString('base64url')}`;
  const rows: SubscriptionRow[] = await knex('event_subscriptions')
    .insert({
      id: randomUUID(),
      owner: owner.kind,
      partner_id: owner.partnerId ?? null,
      url: s.url,
      types,
      secret: JSON.stringify(keys.seal(secret)),
      description: s.description ?? null,
      broker: broker ? JSON.stringify(broker) : null,
    })
    .returning([...VIEW]);
  await changed(knex);
  return { ...subscriptionOf(rows[0] as SubscriptionRow), secret };
}

/** The owner's subscriptions (an ERP owner sees the ERP's), oldest first. */
export async function listSubscriptions(knex: Knex, owner: SubscriptionOwner): Promise<Subscription[]> {
  const q = knex('event_subscriptions')
    .select([...VIEW])
    .where('owner', owner.kind)
    .orderBy('created_at');
  if (owner.kind === 'partner') q.andWhere('partner_id', owner.partnerId);
  return (await q).map(subscriptionOf);
}

/** Removes one of the owner's subscriptions; false when it has none of that id. Its queued events fail with GW_EVENT_SUBSCRIPTION_GONE. */
export async function deleteSubscription(knex: Knex, owner: SubscriptionOwner, id: string): Promise<boolean> {
  const q = knex('event_subscriptions').where({ id, owner: owner.kind });
  if (owner.kind === 'partner') q.andWhere('partner_id', owner.partnerId);
  const n = await q.del();
  if (n) await changed(knex);
  return n > 0;
}

/** A subscription with its signing secret opened, as the transport signs with it; undefined when it is gone. */
export async function subscriptionForSending(knex: Knex, keys: MasterKeys, id: string): Promise<(Subscription & { secret: string }) | undefined> {
  const row: SubscriptionRow | undefined = await knex('event_subscriptions')
    .first([...VIEW, 'secret'])
    .where('id', id);
  if (!row?.secret) return undefined;
  return { ...subscriptionOf(row), secret: keys.open(row.secret).toString('utf8') };
}

/** Re-wraps every subscription's sealed secret (a master-key rotation, in its transaction); returns how many. */
export async function rewrapSubscriptionSecrets(trx: Knex.Transaction, rewrap: (s: Sealed) => Sealed): Promise<number> {
  const rows: { id: string; secret: Sealed }[] = await trx('event_subscriptions').select('id', 'secret').forUpdate();
  for (const r of rows)
    await trx('event_subscriptions')
      .where('id', r.id)
      .update({ secret: JSON.stringify(rewrap(r.secret)) });
  return rows.length;
}

/** Tells every process (this one through its own listener too) that the subscriptions changed; this process forgets its view now. */
async function changed(knex: Knex): Promise<void> {
  subscriptionView.invalidate();
  await notify(knex, 'subscriptions');
}

/** How long the view is kept when change signals may have been missed (the listening connection was lost). */
const UNTRUSTED_TTL_MS = 5_000;
/** How long it is kept at most, signals or not. */
const TRUSTED_TTL_MS = 60_000;

/**
 * The subscriptions as publishing matches them, per event type, read once and kept until a change
 * is signalled (or a minute passes). An event type no subscription names is answered from memory.
 */
class SubscriptionView {
  private loaded: { at: number; byType: Map<string, Subscription[]> } | undefined;
  private loading: Promise<Map<string, Subscription[]>> | undefined;
  private generation = 0;
  private trusted = false;

  invalidate(): void {
    this.generation++;
    this.loaded = undefined;
    this.loading = undefined;
  }

  /** Whether change signals are being heard (see SignalHandlers.onListening). */
  trust(listening: boolean): void {
    this.trusted = listening;
    if (!listening) this.invalidate();
  }

  async of(db: Knex | Knex.Transaction, type: string): Promise<readonly Subscription[]> {
    const ttl = this.trusted ? TRUSTED_TTL_MS : UNTRUSTED_TTL_MS;
    if (this.loaded && Date.now() - this.loaded.at < ttl) return this.loaded.byType.get(type) ?? [];
    this.loading ??= this.load(db);
    return (await this.loading).get(type) ?? [];
  }

  private async load(db: Knex | Knex.Transaction): Promise<Map<string, Subscription[]>> {
    const generation = this.generation;
    try {
      const rows: SubscriptionRow[] = await db('event_subscriptions').select([...VIEW]);
      const byType = new Map<string, Subscription[]>();
      for (const s of rows.map(subscriptionOf)) for (const t of s.types) byType.set(t, [...(byType.get(t) ?? []), s]);
      if (generation === this.generation) this.loaded = { at: Date.now(), byType };
      return byType;
    } finally {
      // A failed read is not kept: the next event reads again.
      if (generation === this.generation) this.loading = undefined;
    }
  }
}

/** This process's view of the subscriptions (publishing reads it; the server invalidates it on the `subscriptions` signal). */
export const subscriptionView = new SubscriptionView();
