import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { GatewayError, isGatewayError } from '../../../errors.js';
import type { PortalOidc } from '../../../security/portal-oidc.js';
import type { PortalAccess } from '../../../security/portal-sign-in.js';
import { cookie, portalPrincipalOf, portalUser, requireFormToken, SESSION_COOKIE, SIGN_IN_COOKIE, type CookiePolicy } from '../portal-auth.js';
import { errorPage, homePage, signInPage } from '../portal-pages.js';
import { mediaTypeOf, readBody } from '../request.js';
import { labelRoutes } from './portal-labels.js';
import { oidcRoutes } from './portal-oidc.js';
import { supplierFormRoutes } from './portal-forms.js';
import { type SupplierPageDeps, supplierRoutes } from './portal-supplier.js';

export interface PortalDeps extends CookiePolicy {
  access: PortalAccess;
  /** Staff sign-in by OpenID Connect (decision 0025), when configured. */
  oidc?: PortalOidc | undefined;
  /** The supplier pages' store and receiver (issue 18); without them the portal has sign-in only. */
  supplier?: SupplierPageDeps | undefined;
}

/** A sign-in form is a few hundred bytes; anything much larger is not one. */
const FORM_LIMIT = 8192;

/** The web door for people (decision 0023): sign-in, sign-out and a home page; later pages mount behind portalUser. */
export function portalRoutes(d: PortalDeps): Router {
  const router = new Router();
  router.use(pageHeaders, pageErrors);
  if (d.oidc) oidcRoutes(router, d.oidc, d);
  if (d.supplier) supplierRoutes(router, d.supplier, d.access);
  if (d.supplier) labelRoutes(router, d.supplier, d.access);
  if (d.supplier) supplierFormRoutes(router, d.supplier, d.access);

  router.get('/', async (ctx) => {
    const value = ctx.cookies.get(SESSION_COOKIE);
    ctx.status = 303;
    ctx.redirect(value && (await d.access.resume(value)) ? '/portal/' : '/portal/sign-in');
  });
  router.get('/portal/sign-in', (ctx) => {
    const token = signInToken(ctx, d);
    ctx.type = 'html';
    ctx.body = signInPage({ csrfToken: token, oidcName: d.oidc?.name });
  });
  router.post('/portal/sign-in', async (ctx) => {
    const form = await readForm(ctx);
    requireFormToken(ctx.cookies.get(SIGN_IN_COOKIE), form.get('csrf'));
    const username = form.get('username') ?? '';
    const result = await d.access.signIn(username, form.get('password') ?? '', ctx.ip);
    if (!result.ok) {
      if (result.code === 'GW_PORTAL_LOCKED') ctx.set('retry-after', String(result.retryAfterSeconds));
      ctx.status = result.code === 'GW_PORTAL_LOCKED' ? 429 : 401;
      ctx.type = 'html';
      ctx.body = signInPage({ csrfToken: form.get('csrf') as string, username, error: refusal(result), oidcName: d.oidc?.name });
      return;
    }
    ctx.append('set-cookie', cookie(ctx, d, SESSION_COOKIE, result.cookieValue, '/'));
    ctx.append('set-cookie', cookie(ctx, d, SIGN_IN_COOKIE, '', '/portal/sign-in', 0));
    ctx.status = 303;
    ctx.redirect('/portal/');
  });
  router.post('/portal/sign-out', portalUser(d.access, 'any'), async (ctx) => {
    const principal = portalPrincipalOf(ctx);
    requireFormToken(principal.session.csrfToken, (await readForm(ctx)).get('csrf'));
    await d.access.signOut(principal, ctx.ip);
    ctx.append('set-cookie', cookie(ctx, d, SESSION_COOKIE, '', '/', 0));
    ctx.status = 303;
    ctx.redirect('/portal/sign-in');
  });
  router.get('/portal/', portalUser(d.access, 'any'), (ctx) => {
    ctx.type = 'html';
    ctx.body = homePage(portalPrincipalOf(ctx));
  });
  router.get('/portal/api/me', portalUser(d.access, 'any'), (ctx) => {
    const p = portalPrincipalOf(ctx);
    ctx.body = { username: p.username, displayName: p.displayName, role: p.role, partner: p.partner?.id ?? null, scopes: [...p.scopes].sort() };
  });
  return router;
}

/** Same words for an unknown user, a wrong password and a disabled user: the form reveals no usernames. */
function refusal(r: { code: string; retryAfterSeconds?: number }): string {
  if (r.code === 'GW_PORTAL_LOCKED')
    return `Too many failed sign-ins for this username or from this address. Try again in ${Math.ceil((r.retryAfterSeconds ?? 0) / 60)} minute(s).`;
  return 'The username or password is wrong.';
}

/** The sign-in form's token: the one in the browser's cookie, or a new one set now. */
function signInToken(ctx: Context, policy: CookiePolicy): string {
  const current = ctx.cookies.get(SIGN_IN_COOKIE);
  if (current && /^[A-Za-z0-9_-]{43}$/.test(current)) return current;
  const token = randomBytes(32).toString('base64url');
  ctx.append('set-cookie', cookie(ctx, policy, SIGN_IN_COOKIE, token, '/portal/sign-in'));
  return token;
}

async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (mediaTypeOf(ctx) !== 'application/x-www-form-urlencoded')
    throw new GatewayError('GW_REQUEST_MEDIA_TYPE', 'Portal forms are posted as application/x-www-form-urlencoded.');
  return new URLSearchParams((await readBody(ctx, FORM_LIMIT, ' for a portal form')).toString('utf8'));
}

/** Pages are never cached nor framed, and load nothing from elsewhere. */
export async function pageHeaders(ctx: Context, next: Next): Promise<void> {
  ctx.set('cache-control', 'no-store');
  ctx.set('x-frame-options', 'DENY');
  ctx.set('x-content-type-options', 'nosniff');
  ctx.set('referrer-policy', 'same-origin');
  ctx.set('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
  await next();
}

/** A refused page is a page: the code and what to do, in HTML. The JSON calls keep the app's JSON errors. */
export async function pageErrors(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
  } catch (err) {
    if (!isGatewayError(err) || err.status >= 500 || ctx.path.startsWith('/portal/api/')) throw err;
    ctx.status = err.status;
    ctx.type = 'html';
    ctx.body = errorPage(err.code, err.message);
  }
}
