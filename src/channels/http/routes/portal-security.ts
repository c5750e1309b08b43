import Router from '@koa/router';
import type { Context } from 'koa';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../../../config/load.js';
import { GatewayError } from '../../../errors.js';
import { readAudit } from '../../../security/audit.js';
import { type Actor, CREDENTIAL_KINDS, type CredentialStore } from '../../../security/credentials.js';
import { expiringCredentials } from '../../../security/expiry.js';
import type { PortalAccess } from '../../../security/portal-sign-in.js';
import type { Role } from '../../../security/users.js';
import { portalPrincipalOf, portalUser, readConfirmedForm } from '../portal-auth.js';
import {
  AUDIT_FILTERS,
  type AuditFields,
  auditPage,
  credentialPage,
  credentialPath,
  credentialsPage,
  expiringPage,
  issuedPage,
  issuePage,
} from '../portal-security-pages.js';
import { dateParam, integerParam, textParam } from '../request.js';
import { credentialView, credParam, issueRequest, kindOf, MAX_OVERLAP_SECONDS } from './admin.js';
import { pageErrors, pageHeaders } from './portal.js';

export interface SecurityPagesDeps {
  knex: Knex;
  config: () => GatewayConfig;
  store: CredentialStore;
  access: PortalAccess;
}

/** Portal roles that may see and change credentials and read the audit log. */
export const SECURITY_ROLES: readonly Role[] = ['security', 'admin'];
const AUDIT_PAGE_SIZE = 50;

/**
 * The security pages (decision 0033): credentials, their expiry and the audit log, for the security
 * and admin roles (others get GW_PORTAL_ROLE's page). Issue, rotate and revoke read their fields as
 * the admin API does (`issueRequest`) and call the same CredentialStore functions, audited as
 * `portal:<user>`; a new secret is shown only on the page answering the POST.
 */
export function securityRoutes(d: SecurityPagesDeps): Router {
  const router = new Router({ prefix: '/portal/security' });
  router.use(pageHeaders, pageErrors, portalUser(d.access, SECURITY_ROLES));
  router.get('/credentials', async (ctx) => listRoute(ctx, d));
  router.get('/credentials/:kind/:ref', async (ctx) => credentialRoute(ctx, d));
  router.post('/credentials/:kind/:ref/revoke', async (ctx) => revokeRoute(ctx, d));
  router.get('/issue', (ctx) => {
    ctx.type = 'html';
    ctx.body = issuePage(portalPrincipalOf(ctx), partnerIds(d), CREDENTIAL_KINDS);
  });
  router.post('/issue', async (ctx) => issueRoute(ctx, d, 'issue'));
  router.post('/rotate', async (ctx) => issueRoute(ctx, d, 'rotate'));
  router.get('/expiring', async (ctx) => {
    const days = integerParam(ctx.query.days || undefined, 'days', { min: 0, max: 3650, fallback: 30, text: true });
    const list = await expiringCredentials(d.store, days);
    ctx.type = 'html';
    ctx.body = expiringPage(
      days,
      list.map((e) => ({ ...credentialView(e.credential), daysLeft: e.daysLeft })),
    );
  });
  router.get('/audit', async (ctx) => auditRoute(ctx, d));
  return router;
}

const partnerIds = (d: SecurityPagesDeps) => [...d.config().partners.keys()].sort();
const actorOf = (ctx: Context): Actor => ({ actor: `portal:${portalPrincipalOf(ctx).username}`, source: ctx.ip });
/** A query or form field, an empty one as none. */
const given = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

async function listRoute(ctx: Context, d: SecurityPagesDeps): Promise<void> {
  const kindText = given(ctx.query.kind);
  const kind = kindText === undefined ? undefined : kindOf(kindText);
  const partner = textParam(given(ctx.query.partner), 'partner');
  const credentials = await d.store.list({ ...(partner ? { partnerId: partner } : {}), ...(kind ? { kind } : {}) });
  ctx.type = 'html';
  ctx.body = credentialsPage({
    partners: partnerIds(d),
    kinds: CREDENTIAL_KINDS,
    filter: { ...(partner ? { partner } : {}), ...(kind ? { kind } : {}) },
    credentials: credentials.map(credentialView),
  });
}

async function credentialRoute(ctx: Context, d: SecurityPagesDeps): Promise<void> {
  const kind = kindOf(ctx.params.kind);
  const ref = credParam(() => textParam(ctx.params.ref, 'The credential reference', 512) as string);
  const found = await d.store.find(kind, ref);
  if (!found) throw new GatewayError('GW_CRED_UNKNOWN', `No ${kind} ${ref}.`);
  const [c = found] = await d.store.withLastUses([found]);
  ctx.type = 'html';
  ctx.body = credentialPage(portalPrincipalOf(ctx), credentialView(c), ctx.query.done === 'revoke' ? `Revoked ${kind} ${ref}.` : undefined);
}

async function revokeRoute(ctx: Context, d: SecurityPagesDeps): Promise<void> {
  const kind = kindOf(ctx.params.kind);
  const ref = credParam(() => textParam(ctx.params.ref, 'The credential reference', 512) as string);
  await readConfirmedForm(ctx, `revoke ${kind} ${ref}`);
  await d.store.revoke(kind, ref, actorOf(ctx));
  ctx.status = 303;
  ctx.redirect(`${credentialPath({ kind, ref })}?done=revoke`);
}

/** The form's fields as the admin API's JSON body names them, so `issueRequest` checks both alike. */
function requestBody(form: URLSearchParams): Record<string, unknown> {
  const expires = given(form.get('expiresAt'));
  const scopes = given(form.get('scopes'))?.split(/[\s,]+/);
  return {
    kind: form.get('kind') ?? undefined,
    ...(given(form.get('partner')) ? { partner: given(form.get('partner')) } : {}),
    ...(given(form.get('material')) ? { material: form.get('material') } : {}),
    ...(expires ? { expiresAt: expires } : {}),
    ...(scopes ? { scopes } : {}),
  };
}

/** Issue or rotate; the answer is the one page that shows the new secret. */
async function issueRoute(ctx: Context, d: SecurityPagesDeps, action: 'issue' | 'rotate'): Promise<void> {
  const form = await readConfirmedForm(ctx, `${action} a credential`);
  const req = issueRequest(requestBody(form));
  const by = actorOf(ctx);
  let issued: Awaited<ReturnType<CredentialStore['issue']>>;
  if (action === 'issue') issued = await d.store.issue(req, by);
  else {
    const overlap = given(form.get('overlapSeconds'));
    const overlapSeconds = credParam(() => integerParam(overlap, 'overlapSeconds', { min: 0, max: MAX_OVERLAP_SECONDS, fallback: 7 * 86_400, text: true }));
    issued = await d.store.rotate({ ...req, overlapSeconds }, by);
  }
  ctx.status = 201;
  ctx.set('cache-control', 'no-store');
  ctx.type = 'html';
  ctx.body = issuedPage({
    action,
    credential: credentialView(issued.credential),
    ...(issued.secret ? { secret: issued.secret } : {}),
    retiring: (issued.retiring ?? []).map(credentialView),
  });
}

/** Dates of the form are whole UTC days: `to` includes its day. */
function dayParam(value: string | undefined, name: string, nextDay = false): Date | undefined {
  const d = dateParam(value, name);
  return d && nextDay ? new Date(d.getTime() + 86_400_000) : d;
}

async function auditRoute(ctx: Context, d: SecurityPagesDeps): Promise<void> {
  const query = new URLSearchParams(ctx.querystring);
  const unknown = [...query.keys()].filter((k) => k !== 'before' && !(AUDIT_FILTERS as readonly string[]).includes(k));
  if (unknown.length) throw new GatewayError('GW_REQUEST_INVALID', `Unknown filter ${unknown.join(', ')}; the filters are ${AUDIT_FILTERS.join(', ')}.`);
  const fields: AuditFields = {};
  for (const name of AUDIT_FILTERS) {
    const value = given(query.get(name));
    if (value) fields[name] = textParam(value, name);
  }
  const before = given(query.get('before'));
  const since = dayParam(fields.from, 'from');
  const until = dayParam(fields.to, 'to', true);
  const entries = await readAudit(d.knex, {
    ...(fields.actor ? { actor: fields.actor } : {}),
    ...(fields.action ? { action: fields.action } : {}),
    ...(fields.target ? { target: fields.target } : {}),
    ...(fields.partner ? { partner: fields.partner } : {}),
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(before ? { beforeId: before } : {}),
    limit: AUDIT_PAGE_SIZE,
  });
  const last = entries.at(-1);
  const nextQuery = entries.length === AUDIT_PAGE_SIZE && last ? new URLSearchParams({ ...fields, before: String(last.id) }).toString() : undefined;
  ctx.type = 'html';
  ctx.body = auditPage(fields, entries, nextQuery);
}
