import type Router from '@koa/router';
import type { PortalOidc } from '../../../security/portal-oidc.js';
import { cookie, SESSION_COOKIE, type CookiePolicy } from '../portal-auth.js';

/**
 * The browser's side of OIDC sign-in (decision 0025). `gw_oidc` ties the provider's answer to the
 * browser that asked: HttpOnly, SameSite=Lax (sent on the provider's top-level redirect back),
 * limited to /portal/oidc/ and to the ten minutes a pending sign-in lives.
 */
const OIDC_COOKIE = 'gw_oidc';
const OIDC_PATH = '/portal/oidc/';

/** Mounted on the portal's router, behind its page headers and HTML error pages. */
export function oidcRoutes(router: Router, oidc: PortalOidc, policy: CookiePolicy): void {
  router.get('/portal/oidc/start', async (ctx) => {
    const { cookieValue, url } = await oidc.start();
    ctx.append('set-cookie', cookie(ctx, policy, OIDC_COOKIE, cookieValue, OIDC_PATH, 600));
    ctx.status = 303;
    ctx.redirect(url);
  });
  router.get('/portal/oidc/callback', async (ctx) => {
    // Cleared whatever the outcome: a pending sign-in is answered once.
    ctx.append('set-cookie', cookie(ctx, policy, OIDC_COOKIE, '', OIDC_PATH, 0));
    const { cookieValue } = await oidc.callback(ctx.cookies.get(OIDC_COOKIE), ctx.querystring, ctx.ip);
    ctx.append('set-cookie', cookie(ctx, policy, SESSION_COOKIE, cookieValue, '/'));
    ctx.status = 303;
    ctx.redirect('/portal/');
  });
}
