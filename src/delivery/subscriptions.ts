import { randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { GatewayError } from '../errors.js';
import type { MasterKeys, Sealed } from '../security/secrets.js';
import { notify } from '../store/signals.js';

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

/** A subscription as publishing matches it (no secret). */
export interface Subscription {
  id: string;
  owner: 'erp' | 'partner';
  /** The owning partner, or the partner an ERP subscription is narrowed to; null: every partner. */
  partnerId: string | null;
  url: string;
  types: EventOutType[];
  description: string | null;
  createdAt: Date;
}

interface SubscriptionRow {
  id: string;
  owner: 'erp' | 'partner';
  partner_id: string | null;
  url: string;
  types: EventOutType[];
  description: string | null;
  created_at: Date;
  secret?: Sealed;
}

const VIEW = ['id', 'owner', 'partner_id', 'url', 'types', 'description', 'created_at'] as const;

function subscriptionOf(r: SubscriptionRow): Subscription {
  return { id: r.id, owner: r.owner, partnerId: r.partner_id, url: r.url, types: r.types, description: r.description, createdAt: r.created_at };
}

/**
 * True when `url` is on the allow-list: equal to an entry, or below an entry that ends in `/`
 * (the same rule as AS2's asynchronous MDN addresses). Compared as the HTTP client will request it
 * (WHATWG-normalized: `..` and `%2e%2e` segments resolved), so a path cannot climb out of an
 * entry; a URL with a user name or password is never allowed.
 */
export function urlAllowed(url: string, allowed: readonly string[]): boolean {
  let href: string;
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) return false;
    href = parsed.href;
  } catch {
    return false;
  }
  return allowed.some((entry) => url === entry || href === entry || (entry.endsWith('/') && href.startsWith(entry)));
}

export interface NewSubscription {
  url: string;
  types: readonly string[];
  description?: string;
}

/** Checks a registration: known event types, an http(s) URL on the owner's allow-list. Throws GW_REQUEST_INVALID or GW_EVENT_URL_NOT_ALLOWED. */
function checkRegistration(s: NewSubscription, allowed: readonly string[]): EventOutType[] {
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
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new GatewayError('GW_REQUEST_INVALID', 'url must be http(s).');
  if (!urlAllowed(s.url, allowed)) {
    const list = allowed.length ? `(${allowed.join(', ')})` : '(it is empty)';
    throw new GatewayError('GW_EVENT_URL_NOT_ALLOWED', `${s.url} is not on the allow-list of this subscriber ${list}; ask the gateway's operators to add it.`);
  }
  return [...new Set(s.types as EventOutType[])];
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
  allowed: readonly string[],
): Promise<Subscription & { secret: string }> {
  const types = checkRegistration(s, allowed);
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
