import type { Context, Next } from 'koa';
import type { GatewayConfig } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import { authenticateServiceKey, type Principal } from '../../security/api-keys.js';
import { unusableBecause, type Actor, type CredentialStore } from '../../security/credentials.js';
import { peerCertificate, partnerForCertificate, thumbprint } from '../../security/mtls.js';
import type { RateLimiter } from '../../security/rate-limit.js';
import { allowedScopes, grantedScopes } from '../../security/scopes.js';
import type { TokenService } from '../../security/tokens.js';
import { bearerToken, throttle } from './request.js';
import { isSuspended } from '../../types.js';

/**
 * Who may call the HTTP app, one middleware per audience: partners (an access token, an API key or
 * a pinned client certificate), the ERP (its service key) and security administrators (theirs).
 * A credential of one audience is never accepted by another's routes. Webhooks, the token endpoint
 * and AS2 carry their own proof (a signature, client authentication, a signed message), which
 * their routes check.
 */

export type Middleware = (ctx: Context, next: Next) => Promise<void>;

export interface PartnerAuthDeps {
  /** Read on every request, so a configuration reload takes effect at once. */
  config: () => GatewayConfig;
  store: CredentialStore;
  tokens: TokenService;
  limiter: RateLimiter;
}

/**
 * Partner routes: puts the caller's principal in `ctx.state.principal` (read it with principalOf),
 * refuses a suspended partner and counts the request against the partner's rate limit.
 */
export function partnerPrincipal(d: PartnerAuthDeps): Middleware {
  return async (ctx, next) => {
    const principal = await authenticatePartner(ctx, d);
    if (isSuspended(principal.partner)) throw new GatewayError('GW_PARTNER_INACTIVE', `Partner ${principal.partner.id} is suspended.`);
    await throttle(ctx, d.limiter, `partner:${principal.partner.id}`, principal.partner.limits.requestsPerMinute);
    ctx.state.principal = principal;
    await next();
  };
}

/** The partner a request behind partnerPrincipal comes from. */
export function principalOf(ctx: Context): Principal {
  return ctx.state.principal as Principal;
}

/**
 * Who a partner request comes from: an access token (ours or the external issuer's), an API key, or
 * on the HTTPS port a pinned client certificate alone. A certificate-bound token needs the
 * certificate it was issued to.
 */
async function authenticatePartner(ctx: Context, d: PartnerAuthDeps): Promise<Principal> {
  const config = d.config();
  const cert = peerCertificate(ctx.req);
  const token = bearerToken(ctx);
  if (token === undefined) {
    if (cert) {
      const partner = await partnerForCertificate(d.store, config, cert);
      if (!partner) throw new GatewayError('GW_AUTH_CERTIFICATE', 'The TLS client certificate is not pinned for any partner.');
      return { partner, method: 'mtls', credentialId: cert.fingerprint256, scopes: allowedScopes(partner) };
    }
    throw new GatewayError('GW_AUTH_MISSING', 'Present an access token or API key as "Authorization: Bearer <token>".');
  }
  if (token.startsWith('gw_')) {
    const c = await d.store.verifySecret('api-key', token);
    const partner = c?.partnerId ? config.partners.get(c.partnerId) : undefined;
    if (!c || !partner) throw new GatewayError('GW_AUTH_INVALID', 'The API key is unknown or revoked.');
    const why = unusableBecause(c);
    if (why) throw new GatewayError('GW_AUTH_INVALID', `API key ${c.ref} ${why}.`);
    d.store.noteUse(c);
    return { partner, method: 'api-key', credentialId: c.ref, scopes: grantedScopes(partner, c.scopes) };
  }
  const t = await d.tokens.verify(token);
  if (t.boundTo && (!cert || thumbprint(cert) !== t.boundTo))
    throw new GatewayError('GW_AUTH_CERTIFICATE', 'The token is bound to a TLS client certificate; present it on the HTTPS port.');
  if (t.partner.oauth.certificateBound && !t.boundTo && t.method === 'oauth')
    throw new GatewayError('GW_AUTH_CERTIFICATE', 'This client needs certificate-bound tokens.');
  return { partner: t.partner, method: t.method, credentialId: t.tokenId ?? t.clientId, scopes: t.scopes };
}

/** A service key from the environment: `id:sha256` pairs (ERP_API_KEYS, ADMIN_API_KEYS). */
export type ServiceKeys = readonly { id: string; sha256: string }[];

/** ERP routes (`/v1/erp/…`): the ERP's API key, which may act for any partner. */
export function erpServiceKey(keys: ServiceKeys): Middleware {
  return async (ctx, next) => {
    const token = bearerToken(ctx);
    if (token === undefined) throw new GatewayError('GW_AUTH_MISSING', 'Present the ERP API key as "Authorization: Bearer <key>".');
    ctx.state.erp = authenticateServiceKey(keys, token, 'ERP');
    await next();
  };
}

/**
 * Administration routes (`/admin/v1/…`): a security administrator's key; who it was
 * goes to `ctx.state.actor` (read it with actorOf) for the audit log.
 */
export function adminServiceKey(keys: ServiceKeys): Middleware {
  return async (ctx, next) => {
    const token = bearerToken(ctx);
    if (token === undefined) throw new GatewayError('GW_AUTH_MISSING', 'Present an admin API key as "Authorization: Bearer <key>".');
    const { credentialId } = authenticateServiceKey(keys, token, 'admin');
    ctx.state.actor = { actor: `admin:${credentialId}`, source: ctx.ip } satisfies Actor;
    await next();
  };
}

/** The administrator a request behind adminServiceKey comes from. */
export function actorOf(ctx: Context): Actor {
  return ctx.state.actor as Actor;
}
