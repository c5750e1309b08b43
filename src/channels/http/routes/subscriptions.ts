import Router from '@koa/router';
import type { Context } from 'koa';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../../../config/load.js';
import { createSubscription, deleteSubscription, listSubscriptions, type NewSubscription, type SubscriptionOwner } from '../../../delivery/subscriptions.js';
import { GatewayError } from '../../../errors.js';
import { audit } from '../../../security/audit.js';
import { READ_SCOPES, requireScope } from '../../../security/scopes.js';
import type { MasterKeys } from '../../../security/secrets.js';
import type { AllowedUrl } from '../../../types.js';
import { erpServiceKey, partnerPrincipal, principalOf, type PartnerAuthDeps, type ServiceKeys } from '../auth.js';
import { mediaTypeOf, readBody, uuidParam } from '../request.js';

export interface SubscriptionDeps {
  knex: Knex;
  config: () => GatewayConfig;
  /** Seals each subscription's signing secret. */
  keys: MasterKeys;
  /** Where the ERP may register webhooks and broker subscribers (ERP_EVENT_URLS). */
  erpUrls: readonly AllowedUrl[];
}

/** A registration body is small: a URL, a few types, a description. */
const MAX_BODY_BYTES = 16 << 10;

/**
 * Event subscriptions of the ERP (decision 0037), behind its service key: every partner's events,
 * or one partner's (`partnerId`), to URLs on ERP_EVENT_URLS.
 */
export function erpSubscriptionRoutes(d: SubscriptionDeps & { erpApiKeys: ServiceKeys }): Router {
  const router = new Router();
  router.use(erpServiceKey(d.erpApiKeys));
  router.post('/v1/erp/subscriptions', async (ctx) => {
    const body = await registration(ctx);
    const partnerId = typeof body.partnerId === 'string' ? body.partnerId : undefined;
    if (partnerId !== undefined && !d.config().partners.has(partnerId)) throw new GatewayError('GW_REQUEST_INVALID', `No partner ${partnerId}.`);
    await register(ctx, d, { kind: 'erp', ...(partnerId ? { partnerId } : {}) }, body, d.erpUrls, 'erp');
  });
  router.get('/v1/erp/subscriptions', async (ctx) => {
    ctx.body = { subscriptions: await listSubscriptions(d.knex, { kind: 'erp' }) };
  });
  router.delete('/v1/erp/subscriptions/:id', async (ctx) => remove(ctx, d, { kind: 'erp' }, 'erp'));
  return router;
}

/**
 * A partner's subscriptions to its own events, behind its own credentials (the status:read scope),
 * to URLs on its profile's `events.urls`. It never receives another partner's events.
 */
export function partnerSubscriptionRoutes(d: SubscriptionDeps & PartnerAuthDeps): Router {
  const router = new Router();
  router.use(partnerPrincipal(d));
  const ownerOf = (ctx: Context): SubscriptionOwner => {
    const { partner, scopes } = principalOf(ctx);
    requireScope(scopes, READ_SCOPES.status, 'Subscribing to events');
    return { kind: 'partner', partnerId: partner.id };
  };
  router.post('/v1/subscriptions', async (ctx) => {
    const owner = ownerOf(ctx);
    const allowed = d.config().partners.get(owner.partnerId ?? '')?.events?.urls ?? [];
    await register(ctx, d, owner, await registration(ctx), allowed, `partner:${owner.partnerId}`);
  });
  router.get('/v1/subscriptions', async (ctx) => {
    ctx.body = { subscriptions: await listSubscriptions(d.knex, ownerOf(ctx)) };
  });
  router.delete('/v1/subscriptions/:id', async (ctx) => {
    const owner = ownerOf(ctx);
    await remove(ctx, d, owner, `partner:${owner.partnerId}`);
  });
  return router;
}

type Registration = NewSubscription & { partnerId?: unknown };

async function registration(ctx: Context): Promise<Registration> {
  if (mediaTypeOf(ctx) !== 'application/json') throw new GatewayError('GW_REQUEST_MEDIA_TYPE', 'Send the subscription as application/json.');
  let body: unknown;
  try {
    body = JSON.parse((await readBody(ctx, MAX_BODY_BYTES, '')).toString('utf8'));
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError('GW_JSON_SYNTAX', `The body is not valid JSON: ${(err as Error).message}.`);
  }
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.url !== 'string' || !Array.isArray(b.types) || !b.types.every((t) => typeof t === 'string'))
    throw new GatewayError('GW_REQUEST_INVALID', 'Send {"url": "https://…", "types": ["document.received", …], "description"?: "…"}.');
  const login = LOGIN_FIELDS.filter((f) => b[f] !== undefined);
  if (login.length)
    throw new GatewayError(
      'GW_REQUEST_INVALID',
      `A subscription names no login (${login.join(', ')}): the gateway's operators give a broker's login with its allow-list entry.`,
    );
  return { url: b.url, types: b.types as string[], ...strings(b, OPTIONAL_FIELDS), partnerId: b.partnerId };
}

/** Fields a subscriber might send for a broker login: refused, so that no request decides which credentials (or environment variable) the gateway uses. */
const LOGIN_FIELDS = ['username', 'password', 'passwordEnv'] as const;

/** The optional text fields of a registration: a description, and where on a broker (amqp: exchange, routingKey; nats: subject, stream). */
const OPTIONAL_FIELDS = ['description', 'exchange', 'routingKey', 'subject', 'stream'] as const;

function strings(b: Record<string, unknown>, names: readonly (typeof OPTIONAL_FIELDS)[number][]): Partial<NewSubscription> {
  const picked: Partial<Record<(typeof OPTIONAL_FIELDS)[number], string>> = {};
  for (const name of names) {
    const value = b[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw new GatewayError('GW_REQUEST_INVALID', `${name} must be a string.`);
    picked[name] = value;
  }
  return picked;
}

async function register(ctx: Context, d: SubscriptionDeps, owner: SubscriptionOwner, body: Registration, allowed: readonly AllowedUrl[], actor: string) {
  const { partnerId: _, ...s } = body;
  try {
    const created = await createSubscription(d.knex, d.keys, owner, s, allowed);
    const { exchange, routingKey, subject, stream } = created;
    const broker = { ...(routingKey !== undefined ? { exchange, routingKey } : {}), ...(subject !== undefined ? { subject, stream } : {}) };
    await audit(d.knex, {
      actor,
      action: 'subscription.create',
      target: created.id,
      outcome: 'ok',
      details: { url: created.url, types: created.types, ...broker },
    });
    ctx.status = 201;
    ctx.set('location', `${ctx.path}/${created.id}`);
    // The secret is shown here once; the gateway keeps it sealed.
    ctx.body = created;
  } catch (err) {
    if (err instanceof GatewayError && err.code === 'GW_EVENT_URL_NOT_ALLOWED')
      await audit(d.knex, { actor, action: 'subscription.create', target: s.url, outcome: 'denied', details: { code: err.code } });
    throw err;
  }
}

async function remove(ctx: Context, d: SubscriptionDeps, owner: SubscriptionOwner, actor: string) {
  const id = uuidParam(ctx.params.id, 'subscription');
  if (!(await deleteSubscription(d.knex, owner, id))) throw new GatewayError('GW_NOT_FOUND', `No subscription ${id}.`);
  await audit(d.knex, { actor, action: 'subscription.delete', target: id, outcome: 'ok' });
  ctx.status = 204;
}
