import Router from '@koa/router';
import type { Context } from 'koa';
import type { Knex } from 'knex';
import { GatewayError, isGatewayError } from '../../../errors.js';
import type { Inbound, Receipt } from '../../../pipeline/receive.js';
import type { Principal } from '../../../security/api-keys.js';
import type { Credential, CredentialStore } from '../../../security/credentials.js';
import type { RateLimiter } from '../../../security/rate-limit.js';
import { grantedScopes } from '../../../security/scopes.js';
import { recordWebhookRequest, seenWebhookRequest, type WebhookRequest } from '../../../security/webhook-replays.js';
import { matchingSecret, readSignatureHeader, SIGNATURE_HEADER, signedContentDigest } from '../../../security/webhooks.js';
import type { PartnerProfile } from '../../../types.js';
import { acceptMessage, type MessageIntakeDeps } from '../accept-message.js';
import { readBody, refuseAfter, throttle } from '../request.js';
import { isSuspended } from '../../../types.js';

/** Requests per minute from one address that fail before their signature verifies; beyond it, 429. */
export const UNVERIFIED_WEBHOOKS_PER_MINUTE = 60;

export interface WebhookDeps extends MessageIntakeDeps {
  knex: Knex;
  store: CredentialStore;
  limiter: RateLimiter;
  /** How far a webhook timestamp may be from now. */
  toleranceSeconds: number;
  /** Refused webhook requests per minute from one address (default UNVERIFIED_WEBHOOKS_PER_MINUTE). */
  unverifiedPerMinute?: number;
}

/**
 * Webhooks from SaaS platforms: the HMAC signature over timestamp and body is the credential.
 * Nothing a request without a valid signature does is charged to the partner: its budget is taken
 * only once the signature verifies, so unsigned floods cannot lock the partner's own calls out.
 * Refused requests are counted per source address instead. No authentication middleware: the
 * signature, checked by the route once the body is read, is the only credential.
 */
export function webhookRoutes(d: WebhookDeps): Router {
  const router = new Router();
  const perMinute = d.unverifiedPerMinute ?? UNVERIFIED_WEBHOOKS_PER_MINUTE;
  router.post('/v1/webhooks/:partner', async (ctx) => {
    const addressKey = `webhook-unverified:${ctx.ip}`;
    refuseAfter(ctx, await d.limiter.peek(addressKey, perMinute));
    let verified: { partner: Readonly<PartnerProfile>; credential: Credential; timestamp: number; bytes: Buffer };
    try {
      verified = await verify(ctx, d);
    } catch (err) {
      if (isGatewayError(err) && err.status < 500) await d.limiter.take(addressKey, perMinute);
      throw err;
    }
    const { partner, credential, timestamp, bytes } = verified;
    await throttle(ctx, d.limiter, `partner:${partner.id}`, partner.limits.requestsPerMinute);
    const principal: Principal = { partner, method: 'webhook', credentialId: credential.ref, scopes: grantedScopes(partner, credential.scopes) };
    const request: WebhookRequest = {
      partnerId: partner.id,
      digest: signedContentDigest(timestamp, bytes),
      expiresAt: new Date((timestamp + d.toleranceSeconds + 60) * 1000),
    };
    await acceptMessage(ctx, d, principal, { channel: 'webhook', bytes, store: (inbound) => storeOnce(d, inbound, request) });
  });
  return router;
}

/** The partner, the secret that signed the request, and its body; throws a 4xx for anything else. */
async function verify(ctx: Context, d: WebhookDeps) {
  const id = ctx.params.partner as string;
  const partner = d.config().partners.get(id);
  if (!partner?.channels.includes('webhook')) throw webhooksNotTaken(id);
  if (isSuspended(partner)) throw new GatewayError('GW_PARTNER_INACTIVE', `Partner ${partner.id} is suspended.`);
  const claim = readSignatureHeader(ctx.get(SIGNATURE_HEADER) || undefined, d.toleranceSeconds);
  const bytes = await readBody(ctx, Math.min(partner.limits.maxBytes, d.maxBodyBytes), ` for partner ${partner.id}`);
  const secrets = await d.store.usable('webhook-secret', partner.id);
  const { index } = matchingSecret(
    claim,
    secrets.map((c) => d.store.open(c).toString('utf8')),
    bytes,
  );
  const credential = secrets[index] as Credential;
  d.store.noteUse(credential);
  return { partner, credential, timestamp: claim.timestamp, bytes };
}

/**
 * The answer for an unknown partner id and for a partner whose profile does not list `webhook`:
 * alike (decision 0046), so the unauthenticated webhook URL cannot be used to find out which
 * partners the gateway trades with. It names both causes and the fix for the second.
 */
function webhooksNotTaken(id: string): GatewayError {
  return new GatewayError(
    'GW_AUTH_FORBIDDEN',
    `No webhooks are taken for partner "${id.slice(0, 100)}": either no partner has that id, or its profile does not list ` +
      '`webhook` under channels. A partner manager adds `webhook` to the channels in its profile (and issues a webhook secret ' +
      'with `gateway creds`). Both cases answer alike, so partner ids cannot be probed here.',
  );
}

/**
 * Stores the message and remembers the signed request in one transaction: a re-presentation inside
 * the window, whatever signatures it carries, is 409 GW_WEBHOOK_REPLAY, and a request the store
 * could not commit leaves no trace, so the sender's retry is accepted.
 */
async function storeOnce(d: WebhookDeps, inbound: Inbound, request: WebhookRequest): Promise<Receipt> {
  try {
    return await d.receiver.receiveWith(inbound, async (trx) => {
      if (!(await recordWebhookRequest(trx, request))) throw replayed();
    });
  } catch (err) {
    // The Idempotency-Key of an earlier message: a replay of that request, or a new request reusing the key.
    if ((err as { code?: string }).code !== '23505') throw err;
    if (await seenWebhookRequest(d.knex, request.partnerId, request.digest)) throw replayed();
    return d.receiver.receive(inbound);
  }
}

function replayed(): GatewayError {
  return new GatewayError(
    'GW_WEBHOOK_REPLAY',
    'This signed webhook (same timestamp and body) was received before; it is not ' +
      'accepted twice, whichever signatures it carries. A new event needs a new timestamp.',
  );
}
