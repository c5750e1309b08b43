import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../../config/load.js';
import { GatewayError, isGatewayError } from '../../errors.js';
import { MEDIA_TYPES } from '../../pipeline/interpret.js';
import type { Inbound, Receiver } from '../../pipeline/receive.js';
import { messageStatus } from '../../pipeline/status.js';
import { collectMailboxItem, listMailbox, readMailboxItem } from '../../pipeline/outbound.js';
import { sendPurchaseOrder } from '../../pipeline/purchase-orders.js';
import { authenticateServiceKey, type Principal } from '../../security/api-keys.js';
import { unusableBecause, type CredentialStore } from '../../security/credentials.js';
import { peerCertificate, partnerForCertificate, thumbprint } from '../../security/mtls.js';
import { OAUTH_ERROR, type TokenEndpoint } from '../../security/oauth.js';
import type { RateLimiter } from '../../security/rate-limit.js';
import { allowedScopes, grantedScopes, mailboxScope, mayWriteAny, READ_SCOPES, requireScope, WRITE_SCOPES } from '../../security/scopes.js';
import type { TokenService } from '../../security/tokens.js';
import { pingDatabase } from '../../store/db.js';
import type { PartnerProfile, SourceFormat } from '../../types.js';
import type { As2Inbound } from '../as2/inbound.js';
import { adminRoutes } from './admin.js';
import { bearerToken, idempotencyKeyOf, mediaTypeOf, pathOfUnstorable, readBody, requestId, throttle, uuidParam } from './request.js';
import { webhookRoutes } from './webhook-door.js';

export interface HttpDeps {
  knex: Knex;
  log: Logger;
  receiver: Receiver;
  /** Read on every request, so a configuration reload takes effect at once. */
  config: () => GatewayConfig;
  /** Hard cap on any body, whatever a partner profile allows. */
  maxBodyBytes: number;
  /** API keys of the ERP (`/v1/erp/…`). */
  erpApiKeys: readonly { id: string; sha256: string }[];
  /** The AS2 door (POST /as2). */
  as2?: As2Inbound;
  security: SecurityDeps;
}

export interface SecurityDeps {
  store: CredentialStore;
  tokens: TokenService;
  tokenEndpoint: TokenEndpoint;
  limiter: RateLimiter;
  /** Token requests per minute from one address. */
  tokenRatePerMinute: number;
  /** How far a webhook timestamp may be from now. */
  webhookToleranceSeconds: number;
  /** Keys of security administrators (`/admin/v1/…`, `/metrics`). */
  adminApiKeys: readonly { id: string; sha256: string }[];
  /** The URLs the token endpoint answers at (HTTP and HTTPS): a client assertion's aud. */
  endpointUrls: () => string[];
}

/**
 * Who a partner request comes from: an access token (ours or the external issuer's), an API key, or
 * on the HTTPS port a pinned client certificate alone. A certificate-bound token needs the
 * certificate it was issued to.
 */
async function authenticatePartner(ctx: Context, config: GatewayConfig, sec: SecurityDeps): Promise<Principal> {
  const cert = peerCertificate(ctx.req);
  const token = bearerToken(ctx);
  if (token === undefined) {
    if (cert) {
      const partner = await partnerForCertificate(sec.store, config, cert);
      if (!partner) throw new GatewayError('GW_AUTH_CERTIFICATE', 'The TLS client certificate is not pinned for any partner.');
      return { partner, method: 'mtls', credentialId: cert.fingerprint256, scopes: allowedScopes(partner) };
    }
    throw new GatewayError('GW_AUTH_MISSING', 'Present an access token or API key as "Authorization: Bearer <token>".');
  }
  if (token.startsWith('gw_')) {
    const c = await sec.store.verifySecret('api-key', token);
    const partner = c?.partnerId ? config.partners.get(c.partnerId) : undefined;
    if (!c || !partner) throw new GatewayError('GW_AUTH_INVALID', 'The API key is unknown or revoked.');
    const why = unusableBecause(c);
    if (why) throw new GatewayError('GW_AUTH_INVALID', `API key ${c.ref} ${why}.`);
    return { partner, method: 'api-key', credentialId: c.ref, scopes: grantedScopes(partner, c.scopes) };
  }
  const t = await sec.tokens.verify(token);
  if (t.boundTo && (!cert || thumbprint(cert) !== t.boundTo))
    throw new GatewayError('GW_AUTH_CERTIFICATE', 'The token is bound to a TLS client certificate; present it on the HTTPS port.');
  if (t.partner.oauth.certificateBound && !t.boundTo && t.method === 'oauth')
    throw new GatewayError('GW_AUTH_CERTIFICATE', 'This client needs certificate-bound tokens.');
  return { partner: t.partner, method: t.method, credentialId: t.tokenId ?? t.clientId, scopes: t.scopes };
}

/** The document types a message in this format could become for the partner (its inbound profiles of that format). */
function candidateTypes(config: GatewayConfig, partner: Readonly<PartnerProfile>, format: SourceFormat) {
  return partner.inbound.filter((i) => config.mappings.get(i.mapping)?.source.format === format).map((i) => i.type);
}

/** Refuses a message none of whose possible document types the scopes allow writing. */
function requireWriteScope(config: GatewayConfig, principal: Principal, format: SourceFormat): void {
  const types = candidateTypes(config, principal.partner, format);
  if (types.length && !mayWriteAny(principal.scopes, types))
    throw new GatewayError(
      'GW_AUTH_SCOPE',
      `Sending ${format} as ${principal.partner.id} needs one of the scopes ${[...new Set(types.map((t) => WRITE_SCOPES[t]))].join(', ')}; ` +
        `the credentials hold ${[...principal.scopes].sort().join(' ') || 'none'}.`,
    );
}

/** The REST door: authenticates, reads bytes, calls receive, answers. No parsing happens here. */
export function createHttpApp(deps: HttpDeps): Koa {
  const app = new Koa();
  app.proxy = false;
  const router = new Router();

  // One error handler: stable codes out, 5xx details never.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const ge = isGatewayError(err) ? err : undefined;
      const status = ge?.status ?? 500;
      if (status >= 500) deps.log.error({ err, path: ctx.path }, 'request failed');
      ctx.status = status;
      if (ge?.retryable && status === 503) ctx.set('retry-after', '5');
      if (status === 401 && !ctx.path.startsWith('/oauth/')) ctx.set('www-authenticate', 'Bearer realm="partner-gateway"');
      if (ctx.path === '/oauth/token') {
        // RFC 6749 §5.2 names, with our stable code beside them.
        ctx.set('cache-control', 'no-store');
        ctx.body = {
          error: ge ? (OAUTH_ERROR[ge.code] ?? (status >= 500 ? 'server_error' : 'invalid_request')) : 'server_error',
          error_description: ge && status < 500 ? ge.message : 'An unexpected error occurred.',
          code: ge?.code ?? 'GW_INTERNAL',
        };
        if (status === 401 && /^Basic/i.test(ctx.get('authorization'))) ctx.set('www-authenticate', 'Basic realm="partner-gateway"');
        return;
      }
      ctx.body = {
        error:
          ge && status < 500
            ? { code: ge.code, message: ge.message, ...(ge.location ? { location: ge.location } : {}) }
            : ge
              ? { code: ge.code, message: ge.message }
              : { code: 'GW_INTERNAL', message: 'An unexpected error occurred.' },
      };
    }
  });

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    try {
      await pingDatabase(deps.knex);
      ctx.body = { status: 'ready' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', error: { code: 'GW_STORE_UNAVAILABLE', message: 'The database is not reachable.' } };
    }
  });

  const sec = deps.security;

  const authenticate = async (ctx: Context, next: Koa.Next) => {
    const principal = await authenticatePartner(ctx, deps.config(), sec);
    if (principal.partner.state === 'suspended') throw new GatewayError('GW_PARTNER_INACTIVE', `Partner ${principal.partner.id} is suspended.`);
    throttle(ctx, sec.limiter, `partner:${principal.partner.id}`, principal.partner.limits.requestsPerMinute);
    ctx.state.principal = principal;
    await next();
  };

  /** Reads a partner's message body: media type, size limit, scopes, then the receiver (or `store`). */
  const receiveFrom = async (
    ctx: Context,
    principal: Principal,
    channel: 'rest' | 'webhook',
    bytesIn?: Buffer,
    store = (inbound: Inbound) => deps.receiver.receive(inbound),
  ) => {
    const { partner } = principal;
    const mediaType = mediaTypeOf(ctx);
    const format = MEDIA_TYPES[mediaType];
    if (!format)
      throw new GatewayError(
        'GW_REQUEST_MEDIA_TYPE',
        `Content-Type "${mediaType || '(none)'}" is not accepted; send one of ${Object.keys(MEDIA_TYPES).join(', ')}.`,
      );
    requireWriteScope(deps.config(), principal, format);
    const bytes = bytesIn ?? (await readBody(ctx, Math.min(partner.limits.maxBytes, deps.maxBodyBytes), ` for partner ${partner.id}`));
    if (bytes.length === 0) throw new GatewayError('GW_REQUEST_INVALID', 'The body is empty.');
    const correlationId = requestId(ctx);
    const idempotencyKey = idempotencyKeyOf(ctx);
    const receipt = await store({
      partnerId: partner.id,
      channel,
      contentType: mediaType,
      format,
      bytes,
      scopes: [...principal.scopes],
      ...(correlationId ? { correlationId } : {}),
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
    const statusUrl = `/v1/messages/${receipt.messageId}`;
    ctx.status = 202;
    ctx.set('location', statusUrl);
    if (receipt.duplicate) ctx.set('idempotent-replayed', 'true');
    ctx.body = { messageId: receipt.messageId, correlationId: receipt.correlationId, statusUrl, duplicate: receipt.duplicate };
  };

  router.post('/v1/messages', authenticate, async (ctx) => {
    const principal = ctx.state.principal as Principal;
    if (!principal.partner.channels.includes('rest')) throw new GatewayError('GW_AUTH_FORBIDDEN', `Partner ${principal.partner.id} may not send over REST.`);
    await receiveFrom(ctx, principal, 'rest');
  });

  webhookRoutes(router, {
    knex: deps.knex,
    receiver: deps.receiver,
    config: deps.config,
    store: sec.store,
    limiter: sec.limiter,
    maxBodyBytes: deps.maxBodyBytes,
    toleranceSeconds: sec.webhookToleranceSeconds,
    receiveFrom: (ctx, principal, bytes, store) => receiveFrom(ctx, principal, 'webhook', bytes, store),
  });

  // OAuth 2.0: client credentials (RFC 6749 §4.4), our keys (RFC 7517) and server metadata (RFC 8414).
  router.post('/oauth/token', async (ctx) => {
    throttle(ctx, sec.limiter, `token:${ctx.ip}`, sec.tokenRatePerMinute);
    if (mediaTypeOf(ctx) !== 'application/x-www-form-urlencoded')
      throw new GatewayError('GW_OAUTH_REQUEST', 'Send the token request as application/x-www-form-urlencoded.');
    const form = new URLSearchParams((await readBody(ctx, 16_384, ' for a token request')).toString('utf8'));
    const cert = peerCertificate(ctx.req);
    const res = await sec.tokenEndpoint.handle({
      form,
      ...(ctx.get('authorization') ? { authorization: ctx.get('authorization') } : {}),
      ...(cert ? { cert } : {}),
      remote: ctx.ip,
      endpointUrls: sec.endpointUrls(),
    });
    ctx.set('cache-control', 'no-store');
    ctx.set('pragma', 'no-cache');
    ctx.body = res;
  });

  router.get('/.well-known/jwks.json', async (ctx) => {
    ctx.set('cache-control', 'public, max-age=60');
    ctx.body = await sec.tokens.jwks();
  });

  router.get('/.well-known/oauth-authorization-server', (ctx) => {
    const issuer = sec.tokens.settings.issuer;
    ctx.body = {
      issuer,
      token_endpoint: `${issuer}/oauth/token`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt', 'tls_client_auth'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256'],
      tls_client_certificate_bound_access_tokens: true,
      scopes_supported: [...new Set([...deps.config().partners.values()].flatMap((p) => [...allowedScopes(p)]))].sort(),
    };
  });

  // AS2 (RFC 4130): the agreement and the message's own signature identify the partner, not an API key.
  router.post('/as2', async (ctx) => {
    if (!deps.as2) throw new GatewayError('GW_NOT_FOUND', 'The AS2 door is off.');
    const res = await deps.as2.handle({ headers: ctx.req.headers, readBody: (limit) => readBody(ctx, limit, ''), remote: ctx.ip });
    ctx.status = res.status;
    for (const [k, v] of res.headers) ctx.set(k, v);
    ctx.body = res.body;
  });

  // The partner's mailbox: acknowledgments and documents the gateway has for it (SFTP's /outbound reads the same).
  router.get('/v1/outbound', authenticate, async (ctx) => {
    const { partner, scopes } = ctx.state.principal as Principal;
    if (!scopes.has(READ_SCOPES.po) && !scopes.has(READ_SCOPES.ack)) requireScope(scopes, READ_SCOPES.po, 'Reading the mailbox');
    ctx.body = { items: (await listMailbox(deps.knex, partner.id)).filter((i) => scopes.has(mailboxScope(i.type))) };
  });

  router.get('/v1/outbound/:id', authenticate, async (ctx) => {
    const { partner, scopes } = ctx.state.principal as Principal;
    const id = uuidParam(ctx.params.id, 'outbound document');
    const item = await readMailboxItem(deps.knex, partner.id, id);
    if (!item) throw new GatewayError('GW_NOT_FOUND', `No outbound document ${id} for partner ${partner.id}.`);
    requireScope(scopes, mailboxScope(item.type), `Reading a ${item.type}`);
    ctx.set('content-type', item.contentType);
    ctx.set('content-disposition', `attachment; filename="${item.fileName}"`);
    ctx.set('x-gateway-document-type', item.type);
    ctx.body = item.raw;
  });

  router.delete('/v1/outbound/:id', authenticate, async (ctx) => {
    const { partner, scopes } = ctx.state.principal as Principal;
    const id = uuidParam(ctx.params.id, 'outbound document');
    const item = await readMailboxItem(deps.knex, partner.id, id);
    if (item) requireScope(scopes, mailboxScope(item.type), `Collecting a ${item.type}`);
    if (!item || !(await collectMailboxItem(deps.knex, partner.id, id, 'rest')))
      throw new GatewayError('GW_NOT_FOUND', `No outbound document ${id} for partner ${partner.id}.`);
    ctx.status = 204;
  });

  const authenticateErp = async (ctx: Context, next: Koa.Next) => {
    const token = bearerToken(ctx);
    if (token === undefined) throw new GatewayError('GW_AUTH_MISSING', 'Present the ERP API key as "Authorization: Bearer <key>".');
    ctx.state.erp = authenticateServiceKey(deps.erpApiKeys, token, 'ERP');
    await next();
  };

  router.post('/v1/erp/partners/:partner/purchase-orders', authenticateErp, async (ctx) => {
    const config = deps.config();
    const partner = config.partners.get(ctx.params.partner as string);
    if (!partner) throw new GatewayError('GW_NOT_FOUND', `No partner ${ctx.params.partner}.`);
    if (mediaTypeOf(ctx) !== 'application/json') throw new GatewayError('GW_REQUEST_MEDIA_TYPE', 'Send the canonical purchase order as application/json.');
    const text = (await readBody(ctx, deps.maxBodyBytes, '')).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new GatewayError('GW_JSON_SYNTAX', `The body is not valid JSON: ${(err as Error).message}.`);
    }
    const badAt = pathOfUnstorable(body);
    if (badAt)
      throw new GatewayError(
        'GW_REQUEST_INVALID',
        `The purchase order holds a NUL character (\\u0000) or a lone UTF-16 surrogate at ${badAt}; send text without them.`,
        { location: { jsonPath: badAt } },
      );
    const sent = await sendPurchaseOrder(deps.knex, config, partner, body, idempotencyKeyOf(ctx), requestId(ctx) || undefined);
    ctx.status = sent.duplicate ? 200 : 201;
    ctx.set('location', `/v1/erp/messages/${sent.messageId}`);
    ctx.body = { ...sent, statusUrl: `/v1/erp/messages/${sent.messageId}` };
  });

  router.get('/v1/erp/messages/:id', authenticateErp, async (ctx) => {
    const id = uuidParam(ctx.params.id, 'message');
    const status = await messageStatus(deps.knex, undefined, id);
    if (!status) throw new GatewayError('GW_NOT_FOUND', `No message ${id}.`);
    ctx.body = status;
  });

  adminRoutes(router, { knex: deps.knex, store: sec.store, adminApiKeys: sec.adminApiKeys });

  router.get('/v1/messages/:id', authenticate, async (ctx) => {
    const { partner, scopes } = ctx.state.principal as Principal;
    requireScope(scopes, READ_SCOPES.status, 'Reading message status');
    const id = uuidParam(ctx.params.id, 'message');
    const status = await messageStatus(deps.knex, partner.id, id);
    if (!status) throw new GatewayError('GW_NOT_FOUND', `No message ${id} for partner ${partner.id}.`);
    ctx.body = status;
  });

  app.use(router.routes());
  app.use(router.allowedMethods());
  app.use((ctx) => {
    throw new GatewayError('GW_NOT_FOUND', `No route ${ctx.method} ${ctx.path}.`);
  });
  return app;
}
