import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { GatewayError } from '../../errors.js';
import type { PortalAccess, PortalPrincipal } from '../../security/portal-sign-in.js';
import type { Role } from '../../security/users.js';
import type { Middleware } from './auth.js';
import { mediaTypeOf, readBody } from './request.js';
import { isSuspended } from '../../types.js';

/**
 * The portal's audience (decision 0023): people signed in with a session cookie, beside partners,
 * the ERP and security administrators (auth.ts). Pages answer a missing session with a redirect to
 * the sign-in form; the portal's JSON calls (`/portal/api/…`) with 401.
 */

export const SESSION_COOKIE = 'gw_session';
/** Before sign-in there is no session: the sign-in form's token is a double-submit cookie. */
export const SIGN_IN_COOKIE = 'gw_signin';

export interface CookiePolicy {
  /** `on`: Secure even over plain HTTP (TLS ends at a proxy in front of the gateway). */
  cookieSecure: 'auto' | 'on';
}

/** A Set-Cookie value: HttpOnly, SameSite=Lax, Secure over HTTPS (or when forced). Written by hand: koa's refuses Secure over HTTP. */
export function cookie(ctx: Context, policy: CookiePolicy, name: string, value: string, path: string, maxAgeSeconds?: number): string {
  const secure = policy.cookieSecure === 'on' || ctx.secure;
  return [
    `${name}=${value}`,
    `Path=${path}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(secure ? ['Secure'] : []),
    ...(maxAgeSeconds === undefined ? [] : [`Max-Age=${maxAgeSeconds}`]),
  ].join('; ');
}

/** Pages and calls for signed-in users of the given roles; the principal goes to `ctx.state.portal` (read it with portalPrincipalOf). */
export function portalUser(access: PortalAccess, roles: readonly Role[] | 'any'): Middleware {
  return async (ctx, next) => {
    const value = ctx.cookies.get(SESSION_COOKIE);
    const principal = value ? await access.resume(value) : undefined;
    if (!principal) {
      if (ctx.path.startsWith('/portal/api/')) throw new GatewayError('GW_PORTAL_SESSION', 'Sign in at /portal/sign-in; the session is missing or has ended.');
      ctx.status = 303;
      ctx.redirect('/portal/sign-in');
      return;
    }
    if (roles !== 'any' && !roles.includes(principal.role))
      throw new GatewayError('GW_PORTAL_ROLE', `This page is for ${roles.join(', ')}; ${principal.username} is ${principal.role}.`);
    if (principal.partner && isSuspended(principal.partner)) throw new GatewayError('GW_PARTNER_INACTIVE', `Partner ${principal.partner.id} is suspended.`);
    ctx.state.portal = principal;
    await next();
  };
}

/** The user of a request behind portalUser. */
export function portalPrincipalOf(ctx: Context): PortalPrincipal {
  return ctx.state.portal as PortalPrincipal;
}

/** Refuses a state-changing form whose token is missing or not `expected` (compared in constant time). */
export function requireFormToken(expected: string | undefined, posted: string | null): void {
  const [a, b] = [Buffer.from(expected ?? ''), Buffer.from(posted ?? '')];
  if (!expected || !posted || a.length !== b.length || !timingSafeEqual(a, b))
    throw new GatewayError('GW_PORTAL_CSRF', 'The form token is missing or belongs to another session: reload the page and submit the form again.');
}

/** A form of a few fields, at most with a certificate or public key, is well under this. */
const FORM_LIMIT = 65_536;

/**
 * Reads a portal form posted by the signed-in user: url-encoded, with the session's form token and,
 * unless `confirm` is false, the ticked "I confirm" box (checked here too: a page may be forged or
 * scripted). Nothing is done without both.
 */
export async function readConfirmedForm(ctx: Context, what: string, confirm = true): Promise<URLSearchParams> {
  if (mediaTypeOf(ctx) !== 'application/x-www-form-urlencoded')
    throw new GatewayError('GW_REQUEST_MEDIA_TYPE', 'Portal forms are posted as application/x-www-form-urlencoded.');
  const form = new URLSearchParams((await readBody(ctx, FORM_LIMIT, ' for a portal form')).toString('utf8'));
  requireFormToken(portalPrincipalOf(ctx).session.csrfToken, form.get('csrf'));
  if (confirm && form.get('confirm') !== 'yes') throw new GatewayError('GW_REQUEST_INVALID', `Tick "I confirm" to ${what}; nothing was done.`);
  return form;
}
