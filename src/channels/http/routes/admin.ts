import Router from '@koa/router';
import type { Knex } from 'knex';
import { GatewayError } from '../../../errors.js';
import { AUDIT_READ_MAX, readAudit } from '../../../security/audit.js';
import { CREDENTIAL_KINDS, credentialState, isCredentialKind, type Credential, type CredentialStore } from '../../../security/credentials.js';
import { expiringCredentials } from '../../../security/expiry.js';
import { adminServiceKey, actorOf, type ServiceKeys } from '../auth.js';
import { dateParam, integerParam, isStorable, readJson, textParam } from '../request.js';

/** The longest overlap a rotation may ask for: old and new credentials both work for at most a year. */
export const MAX_OVERLAP_SECONDS = 366 * 86_400;
/** How far ahead a signing key may be published before it signs. */
export const MAX_PUBLISH_SECONDS = 30 * 86_400;

export interface AdminDeps {
  knex: Knex;
  store: CredentialStore;
  /** Keys of security administrators (`/admin/v1/…`). */
  adminApiKeys: ServiceKeys;
}

/** Security administration, behind ADMIN_API_KEYS: credentials and the audit log. */
export function adminRoutes(d: AdminDeps): Router {
  const router = new Router();
  router.use(adminServiceKey(d.adminApiKeys));

  router.get('/admin/v1/credentials', async (ctx) => {
    const kind = ctx.query.kind === undefined ? undefined : kindOf(ctx.query.kind);
    const partnerId = textParam(ctx.query.partner, 'partner');
    ctx.body = { credentials: (await d.store.list({ ...(partnerId ? { partnerId } : {}), ...(kind ? { kind } : {}) })).map(credentialView) };
  });
  router.post('/admin/v1/credentials', async (ctx) => {
    const issued = await d.store.issue(issueRequest(await readJson(ctx)), actorOf(ctx));
    ctx.status = 201;
    ctx.set('cache-control', 'no-store');
    ctx.body = { credential: credentialView(issued.credential), ...(issued.secret ? { secret: issued.secret } : {}) };
  });
  router.post('/admin/v1/credentials/rotate', async (ctx) => {
    const b = await readJson(ctx);
    const overlapSeconds = credParam(() => integerParam(b.overlapSeconds, 'overlapSeconds', { min: 0, max: MAX_OVERLAP_SECONDS, fallback: 7 * 86_400 }));
    const issued = await d.store.rotate({ ...issueRequest(b), overlapSeconds }, actorOf(ctx));
    ctx.status = 201;
    ctx.set('cache-control', 'no-store');
    ctx.body = {
      credential: credentialView(issued.credential),
      ...(issued.secret ? { secret: issued.secret } : {}),
      retiring: (issued.retiring ?? []).map(credentialView),
    };
  });
  router.post('/admin/v1/credentials/:kind/:ref/revoke', async (ctx) => {
    const ref = credParam(() => textParam(ctx.params.ref, 'The credential reference', 512) as string);
    ctx.body = { credential: credentialView(await d.store.revoke(kindOf(ctx.params.kind), ref, actorOf(ctx))) };
  });
  router.get('/admin/v1/credentials/expiring', async (ctx) => {
    const within = integerParam(ctx.query.withinDays, 'withinDays', { min: 0, max: 3650, fallback: 30, text: true });
    ctx.body = {
      withinDays: within,
      credentials: (await expiringCredentials(d.store, within)).map((e) => ({ ...credentialView(e.credential), daysLeft: e.daysLeft })),
    };
  });
  router.get('/admin/v1/audit', async (ctx) => {
    const q = ctx.query;
    const action = textParam(q.action, 'action');
    const actor = textParam(q.actor, 'actor');
    const since = dateParam(q.since, 'since');
    const until = dateParam(q.until, 'until');
    const target = textParam(q.target, 'target');
    const partner = textParam(q.partner, 'partner');
    const before = textParam(q.before, 'before', 20);
    ctx.body = {
      entries: await readAudit(d.knex, {
        ...(action ? { action } : {}),
        ...(actor ? { actor } : {}),
        ...(target ? { target } : {}),
        ...(partner ? { partner } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
        ...(before ? { beforeId: before } : {}),
        limit: integerParam(q.limit, 'limit', { min: 1, max: AUDIT_READ_MAX, fallback: 100, text: true }),
      }),
    };
  });
  return router;
}

export function kindOf(v: unknown) {
  if (typeof v !== 'string' || !isCredentialKind(v)) throw new GatewayError('GW_CRED_INVALID', `kind must be one of ${CREDENTIAL_KINDS.join(', ')}.`);
  return v;
}

/** A body parameter of a credential request: its problems are GW_CRED_INVALID, as the store's are. */
export function credParam<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof GatewayError && err.code === 'GW_REQUEST_INVALID') throw new GatewayError('GW_CRED_INVALID', err.message);
    throw err;
  }
}

/** An issue or rotate request from its body's fields, checked as the admin API and the portal's forms share them. */
export function issueRequest(b: Record<string, unknown>) {
  const kind = kindOf(b.kind);
  const expiresAt = credParam(() => dateParam(b.expiresAt, 'expiresAt'));
  if (
    b.scopes !== undefined &&
    !(Array.isArray(b.scopes) && b.scopes.every((x) => typeof x === 'string' && x.length <= 200 && !/[\u0000-\u001f]/.test(x) && isStorable(x)))
  )
    throw new GatewayError('GW_CRED_INVALID', 'scopes must be an array of strings.');
  if (b.partner !== undefined && b.partner !== null) credParam(() => textParam(b.partner, 'partner'));
  if (b.material !== undefined && (typeof b.material !== 'string' || !isStorable(b.material)))
    throw new GatewayError('GW_CRED_INVALID', 'material must be a text (PEM, JWK or OpenSSH public key).');
  const publishSeconds =
    b.publishSeconds === undefined
      ? undefined
      : credParam(() => integerParam(b.publishSeconds, 'publishSeconds', { min: 0, max: MAX_PUBLISH_SECONDS, fallback: 0 }));
  return {
    kind,
    partnerId: typeof b.partner === 'string' ? b.partner : null,
    ...(typeof b.material === 'string' ? { material: b.material } : {}),
    ...(expiresAt ? { expiresAt } : {}),
    ...(b.scopes ? { scopes: b.scopes as string[] } : {}),
    ...(publishSeconds !== undefined ? { publishSeconds } : {}),
  };
}

/** A credential as the admin API shows it: never a secret or a hash. */
export function credentialView(c: Credential) {
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
    lastUsedAt: c.lastUsedAt ?? null,
    ...(c.public.jwk ? { jwk: c.public.jwk } : {}),
    ...(c.public.subject ? { subject: c.public.subject } : {}),
    ...(c.public.key ? { key: c.public.key } : {}),
  };
}
