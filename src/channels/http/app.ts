import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import getRawBody from 'raw-body';
import type { GatewayConfig } from '../../config/load.js';
import { GatewayError, isGatewayError } from '../../errors.js';
import { MEDIA_TYPES } from '../../pipeline/interpret.js';
import type { Receiver } from '../../pipeline/receive.js';
import { messageStatus } from '../../pipeline/status.js';
import { collectMailboxItem, listMailbox, readMailboxItem } from '../../pipeline/outbound.js';
import { sendPurchaseOrder } from '../../pipeline/purchase-orders.js';
import { authenticateServiceKey, sha256Hex, type Principal } from '../../security/api-keys.js';
import { readAudit } from '../../security/audit.js';
import { CREDENTIAL_KINDS, credentialState, isCredentialKind, unusableBecause, type Actor, type Credential, type CredentialStore } from '../../security/credentials.js';
import { expiringCredentials } from '../../security/expiry.js';
import { peerCertificate, partnerForCertificate, thumbprint } from '../../security/mtls.js';
import { OAUTH_ERROR, type TokenEndpoint } from '../../security/oauth.js';
import type { RateLimiter } from '../../security/rate-limit.js';
import { allowedScopes, grantedScopes, mailboxScope, mayWriteAny, READ_SCOPES, requireScope, WRITE_SCOPES } from '../../security/scopes.js';
import type { TokenService } from '../../security/tokens.js';
import { SIGNATURE_HEADER, verifySignature } from '../../security/webhooks.js';
import type { PartnerProfile, SourceFormat } from '../../types.js';
import type { As2Inbound } from '../as2/inbound.js';

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

/** The bearer token of a request; undefined without an Authorization header. */
function bearerToken(ctx: Context): string | undefined {
  const header = ctx.get('authorization');
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new GatewayError('GW_AUTH_INVALID', 'The Authorization header must be "Bearer <access token or API key>".');
  return m[1] as string;
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
  if (t.boundTo && (!cert || thumbprint(cert) !== t.boundTo)) throw new GatewayError('GW_AUTH_CERTIFICATE', 'The token is bound to a TLS client certificate; present it on the HTTPS port.');
  if (t.partner.oauth.certificateBound && !t.boundTo && t.method === 'oauth') throw new GatewayError('GW_AUTH_CERTIFICATE', 'This client needs certificate-bound tokens.');
  return { partner: t.partner, method: t.method, credentialId: t.tokenId ?? t.clientId, scopes: t.scopes };
}

/** The document types a message in this format could become for the partner (its inbound profiles of that format). */
function candidateTypes(config: GatewayConfig, partner: Readonly<PartnerProfile>, format: SourceFormat) {
  return partner.inbound.filter((i) => config.mappings.get(i.mapping)?.source.format === format).map((i) => i.type);
}

/** Refuses a message none of whose possible document types the scopes allow writing. */
function requireWriteScope(config: GatewayConfig, principal: Principal, format: SourceFormat): void {
  const types = candidateTypes(config, principal.partner, format);
  if (types.length && !mayWriteAny(principal.scopes, types)) throw new GatewayError('GW_AUTH_SCOPE', `Sending ${format} as ${principal.partner.id} needs one of the scopes ${[...new Set(types.map((t) => WRITE_SCOPES[t]))].join(', ')}; the credentials hold ${[...principal.scopes].sort().join(' ') || 'none'}.`);
}

/** The request body, at most `limit` bytes (413 beyond). */
async function readBody(ctx: Context, limit: number, whose: string): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, { limit, length: ctx.get('content-length') || undefined });
  } catch (err) {
    if ((err as { type?: string }).type === 'entity.too.large') throw new GatewayError('GW_REQUEST_TOO_LARGE', `The body exceeds the limit of ${limit} bytes${whose}.`);
    throw new GatewayError('GW_REQUEST_INVALID', `The body could not be read: ${(err as Error).message}.`);
  }
}

/** An Idempotency-Key header, checked; undefined when absent. */
function idempotencyKeyOf(ctx: Context): string | undefined {
  const key = ctx.get('idempotency-key') || undefined;
  if (key && !/^[\x21-\x7e]{1,255}$/.test(key)) throw new GatewayError('GW_REQUEST_INVALID', 'Idempotency-Key must be 1-255 visible ASCII characters.');
  return key;
}

function requestId(ctx: Context): string {
  const given = ctx.get('x-correlation-id');
  return /^[\w.:-]{1,128}$/.test(given) ? given : '';
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
        ctx.body = { error: ge ? (OAUTH_ERROR[ge.code] ?? (status >= 500 ? 'server_error' : 'invalid_request')) : 'server_error', error_description: ge && status < 500 ? ge.message : 'An unexpected error occurred.', code: ge?.code ?? 'GW_INTERNAL' };
        if (status === 401 && /^Basic/i.test(ctx.get('authorization'))) ctx.set('www-authenticate', 'Basic realm="partner-gateway"');
        return;
      }
      ctx.body = {
        error: ge && status < 500 ? { code: ge.code, message: ge.message, ...(ge.location ? { location: ge.location } : {}) } : ge ? { code: ge.code, message: ge.message } : { code: 'GW_INTERNAL', message: 'An unexpected error occurred.' },
      };
    }
  });

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    try {
      await deps.knex.raw('select 1');
      ctx.body = { status: 'ready' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', error: { code: 'GW_STORE_UNAVAILABLE', message: 'The database is not reachable.' } };
    }
  });

  const sec = deps.security;
  /** Per-partner request budget: 429 with Retry-After beyond it. */
  const throttle = (ctx: Context, key: string, perMinute: number) => {
    const wait = sec.limiter.take(key, perMinute);
    if (wait > 0) {
      ctx.set('retry-after', String(wait));
      throw new GatewayError('GW_RATE_LIMITED', `Too many requests; retry in ${wait} s.`);
    }
  };

  const authenticate = async (ctx: Context, next: Koa.Next) => {
    const principal = await authenticatePartner(ctx, deps.config(), sec);
    if (principal.partner.state === 'suspended') throw new GatewayError('GW_PARTNER_INACTIVE', `Partner ${principal.partner.id} is suspended.`);
    throttle(ctx, `partner:${principal.partner.id}`, principal.partner.limits.requestsPerMinute);
    ctx.state.principal = principal;
    await next();
  };

  /** Reads a partner's message body: media type, size limit, scopes, then the receiver. */
  const receiveFrom = async (ctx: Context, principal: Principal, channel: 'rest' | 'webhook', bytesIn?: Buffer) => {
    const { partner } = principal;
    const mediaType = (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase();
    const format = MEDIA_TYPES[mediaType];
    if (!format) throw new GatewayError('GW_REQUEST_MEDIA_TYPE', `Content-Type "${mediaType || '(none)'}" is not accepted; send one of ${Object.keys(MEDIA_TYPES).join(', ')}.`);
    requireWriteScope(deps.config(), principal, format);
    const bytes = bytesIn ?? (await readBody(ctx, Math.min(partner.limits.maxBytes, deps.maxBodyBytes), ` for partner ${partner.id}`));
    if (bytes.length === 0) throw new GatewayError('GW_REQUEST_INVALID', 'The body is empty.');
    const correlationId = requestId(ctx);
    const idempotencyKey = idempotencyKeyOf(ctx);
    const receipt = await deps.receiver.receive({
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

  // Webhooks from SaaS platforms: the HMAC signature over timestamp and body is the credential.
  router.post('/v1/webhooks/:partner', async (ctx) => {
    const config = deps.config();
    const partner = config.partners.get(ctx.params.partner as string);
    // An unknown partner and a partner without webhooks answer alike: nothing to learn here.
    if (!partner || !partner.channels.includes('webhook')) throw new GatewayError('GW_WEBHOOK_SIGNATURE', 'The signature matches no active webhook secret.');
    if (partner.state === 'suspended') throw new GatewayError('GW_PARTNER_INACTIVE', `Partner ${partner.id} is suspended.`);
    throttle(ctx, `partner:${partner.id}`, partner.limits.requestsPerMinute);
    const bytes = await readBody(ctx, Math.min(partner.limits.maxBytes, deps.maxBodyBytes), ` for partner ${partner.id}`);
    const secrets = await sec.store.usable('webhook-secret', partner.id);
    const { signature, timestamp, index } = verifySignature(ctx.get(SIGNATURE_HEADER) || undefined, secrets.map((c) => sec.store.open(c).toString('utf8')), bytes, sec.webhookToleranceSeconds);
    const matched = secrets[index] as Credential;
    const fresh = await deps.knex('webhook_signatures').insert({ sha256: sha256Hex(signature), expires_at: new Date((timestamp + sec.webhookToleranceSeconds) * 1000) }).onConflict('sha256').ignore().returning('sha256');
    if (!fresh.length) throw new GatewayError('GW_WEBHOOK_REPLAY', 'This signed webhook was received before; it is not accepted twice.');
    await deps.knex('webhook_signatures').where('expires_at', '<', new Date(Date.now() - 60_000)).del();
    await receiveFrom(ctx, { partner, method: 'webhook', credentialId: matched.ref, scopes: grantedScopes(partner, matched.scopes) }, 'webhook', bytes);
  });

  // OAuth 2.0: client credentials (RFC 6749 §4.4), our keys (RFC 7517) and server metadata (RFC 8414).
  router.post('/oauth/token', async (ctx) => {
    throttle(ctx, `token:${ctx.ip}`, sec.tokenRatePerMinute);
    const mediaType = (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase();
    if (mediaType !== 'application/x-www-form-urlencoded') throw new GatewayError('GW_OAUTH_REQUEST', 'Send the token request as application/x-www-form-urlencoded.');
    const form = new URLSearchParams((await readBody(ctx, 16_384, ' for a token request')).toString('utf8'));
    const cert = peerCertificate(ctx.req);
    const res = await sec.tokenEndpoint.handle({ form, ...(ctx.get('authorization') ? { authorization: ctx.get('authorization') } : {}), ...(cert ? { cert } : {}), remote: ctx.ip, endpointUrls: sec.endpointUrls() });
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
    const item = await readMailboxItem(deps.knex, partner.id, ctx.params.id as string);
    if (!item) throw new GatewayError('GW_NOT_FOUND', `No outbound document ${ctx.params.id} for partner ${partner.id}.`);
    requireScope(scopes, mailboxScope(item.type), `Reading a ${item.type}`);
    ctx.set('content-type', item.contentType);
    ctx.set('content-disposition', `attachment; filename="${item.fileName}"`);
    ctx.set('x-gateway-document-type', item.type);
    ctx.body = item.raw;
  });

  router.delete('/v1/outbound/:id', authenticate, async (ctx) => {
    const { partner, scopes } = ctx.state.principal as Principal;
    const item = await readMailboxItem(deps.knex, partner.id, ctx.params.id as string);
    if (item) requireScope(scopes, mailboxScope(item.type), `Collecting a ${item.type}`);
    if (!item || !(await collectMailboxItem(deps.knex, partner.id, ctx.params.id as string, 'rest'))) throw new GatewayError('GW_NOT_FOUND', `No outbound document ${ctx.params.id} for partner ${partner.id}.`);
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
    if ((ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase() !== 'application/json') throw new GatewayError('GW_REQUEST_MEDIA_TYPE', 'Send the canonical purchase order as application/json.');
    const text = (await readBody(ctx, deps.maxBodyBytes, '')).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new GatewayError('GW_JSON_SYNTAX', `The body is not valid JSON: ${(err as Error).message}.`);
    }
    const sent = await sendPurchaseOrder(deps.knex, config, partner, body, idempotencyKeyOf(ctx), requestId(ctx) || undefined);
    ctx.status = sent.duplicate ? 200 : 201;
    ctx.set('location', `/v1/erp/messages/${sent.messageId}`);
    ctx.body = { ...sent, statusUrl: `/v1/erp/messages/${sent.messageId}` };
  });

  router.get('/v1/erp/messages/:id', authenticateErp, async (ctx) => {
    const status = await messageStatus(deps.knex, undefined, ctx.params.id as string);
    if (!status) throw new GatewayError('GW_NOT_FOUND', `No message ${ctx.params.id}.`);
    ctx.body = status;
  });

  // Security administration: credentials, the audit log and the expiry metric, behind ADMIN_API_KEYS.
  const authenticateAdmin = async (ctx: Context, next: Koa.Next) => {
    const token = bearerToken(ctx);
    if (token === undefined) throw new GatewayError('GW_AUTH_MISSING', 'Present an admin API key as "Authorization: Bearer <key>".');
    const { credentialId } = authenticateServiceKey(sec.adminApiKeys, token, 'admin');
    ctx.state.actor = { actor: `admin:${credentialId}`, source: ctx.ip } satisfies Actor;
    await next();
  };
  const readJson = async (ctx: Context): Promise<Record<string, unknown>> => {
    const text = (await readBody(ctx, 65_536, '')).toString('utf8');
    try {
      const v: unknown = JSON.parse(text || '{}');
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
      return v as Record<string, unknown>;
    } catch (err) {
      throw new GatewayError('GW_JSON_SYNTAX', `The body is not a JSON object: ${(err as Error).message}.`);
    }
  };
  const kindOf = (v: unknown) => {
    if (typeof v !== 'string' || !isCredentialKind(v)) throw new GatewayError('GW_CRED_INVALID', `kind must be one of ${CREDENTIAL_KINDS.join(', ')}.`);
    return v;
  };
  const issueRequest = (b: Record<string, unknown>) => {
    const kind = kindOf(b.kind);
    if (b.expiresAt !== undefined && Number.isNaN(Date.parse(String(b.expiresAt)))) throw new GatewayError('GW_CRED_INVALID', 'expiresAt must be an ISO date-time.');
    if (b.scopes !== undefined && !(Array.isArray(b.scopes) && b.scopes.every((x) => typeof x === 'string'))) throw new GatewayError('GW_CRED_INVALID', 'scopes must be an array of strings.');
    return {
      kind,
      partnerId: typeof b.partner === 'string' ? b.partner : null,
      ...(typeof b.material === 'string' ? { material: b.material } : {}),
      ...(b.expiresAt !== undefined ? { expiresAt: new Date(String(b.expiresAt)) } : {}),
      ...(b.scopes ? { scopes: b.scopes as string[] } : {}),
      ...(typeof b.publishSeconds === 'number' ? { publishSeconds: b.publishSeconds } : {}),
    };
  };

  router.get('/admin/v1/credentials', authenticateAdmin, async (ctx) => {
    const kind = ctx.query.kind === undefined ? undefined : kindOf(ctx.query.kind);
    const list = await sec.store.list({ ...(typeof ctx.query.partner === 'string' ? { partnerId: ctx.query.partner } : {}), ...(kind ? { kind } : {}) });
    ctx.body = { credentials: list.map(credentialView) };
  });
  router.post('/admin/v1/credentials', authenticateAdmin, async (ctx) => {
    const issued = await sec.store.issue(issueRequest(await readJson(ctx)), ctx.state.actor as Actor);
    ctx.status = 201;
    ctx.set('cache-control', 'no-store');
    ctx.body = { credential: credentialView(issued.credential), ...(issued.secret ? { secret: issued.secret } : {}) };
  });
  router.post('/admin/v1/credentials/rotate', authenticateAdmin, async (ctx) => {
    const b = await readJson(ctx);
    const overlapSeconds = b.overlapSeconds ?? 7 * 86_400;
    if (typeof overlapSeconds !== 'number' || overlapSeconds < 0) throw new GatewayError('GW_CRED_INVALID', 'overlapSeconds must be a number of seconds, 0 or more.');
    const issued = await sec.store.rotate({ ...issueRequest(b), overlapSeconds }, ctx.state.actor as Actor);
    ctx.status = 201;
    ctx.set('cache-control', 'no-store');
    ctx.body = { credential: credentialView(issued.credential), ...(issued.secret ? { secret: issued.secret } : {}), retiring: (issued.retiring ?? []).map(credentialView) };
  });
  router.post('/admin/v1/credentials/:kind/:ref/revoke', authenticateAdmin, async (ctx) => {
    ctx.body = { credential: credentialView(await sec.store.revoke(kindOf(ctx.params.kind), ctx.params.ref as string, ctx.state.actor as Actor)) };
  });
  router.get('/admin/v1/credentials/expiring', authenticateAdmin, async (ctx) => {
    const within = Number(ctx.query.withinDays ?? 30);
    if (!Number.isFinite(within) || within < 0) throw new GatewayError('GW_REQUEST_INVALID', 'withinDays must be a number of days.');
    ctx.body = { withinDays: within, credentials: (await expiringCredentials(sec.store, within)).map((e) => ({ ...credentialView(e.credential), daysLeft: e.daysLeft })) };
  });
  router.get('/admin/v1/audit', authenticateAdmin, async (ctx) => {
    const q = ctx.query;
    ctx.body = { entries: await readAudit(deps.knex, { ...(typeof q.action === 'string' ? { action: q.action } : {}), ...(typeof q.actor === 'string' ? { actor: q.actor } : {}), ...(typeof q.since === 'string' ? { since: new Date(q.since) } : {}), limit: Number(q.limit ?? 100) || 100 }) };
  });
  // Prometheus text: seconds until each credential expires (alert on a low value).
  router.get('/metrics', authenticateAdmin, async (ctx) => {
    const now = Date.now();
    const lines = ['# HELP gateway_credential_expiry_seconds Seconds until the credential expires (negative: expired).', '# TYPE gateway_credential_expiry_seconds gauge'];
    for (const c of await sec.store.list()) {
      if (!c.expiresAt || c.revokedAt) continue;
      const labels = `kind="${c.kind}",ref="${c.ref.replace(/["\\]/g, '')}",partner="${c.partnerId ?? ''}",source="${c.source}"`;
      lines.push(`gateway_credential_expiry_seconds{${labels}} ${Math.round((c.expiresAt.getTime() - now) / 1000)}`);
    }
    ctx.set('content-type', 'text/plain; version=0.0.4');
    ctx.body = `${lines.join('\n')}\n`;
  });

  router.get('/v1/messages/:id', authenticate, async (ctx) => {
    const { partner, scopes } = ctx.state.principal as Principal;
    requireScope(scopes, READ_SCOPES.status, 'Reading message status');
    const status = await messageStatus(deps.knex, partner.id, ctx.params.id as string);
    if (!status) throw new GatewayError('GW_NOT_FOUND', `No message ${ctx.params.id} for partner ${partner.id}.`);
    ctx.body = status;
  });

  app.use(router.routes());
  app.use(router.allowedMethods());
  app.use((ctx) => {
    throw new GatewayError('GW_NOT_FOUND', `No route ${ctx.method} ${ctx.path}.`);
  });
  return app;
}

/** A credential as the admin API shows it: never a secret or a hash. */
function credentialView(c: Credential) {
  return {
    kind: c.kind,
    ref: c.ref,
    partner: c.partnerId,
    source: c.source,
    state: credentialState(c),
    scopes: c.scopes,
    notBefore: c.notBefore,
    expiresAt: c.expiresAt,
    revokedAt: c.revokedAt,
    createdAt: c.createdAt,
    createdBy: c.createdBy,
    ...(c.public.jwk ? { jwk: c.public.jwk } : {}),
    ...(c.public.subject ? { subject: c.public.subject } : {}),
    ...(c.public.key ? { key: c.public.key } : {}),
  };
}
