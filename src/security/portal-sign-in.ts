import type { Knex } from 'knex';
import type { PortalSettings } from '../config/env.js';
import type { GatewayConfig } from '../config/load.js';
import type { PartnerProfile } from '../types.js';
import { audit } from './audit.js';
import { createSession, endSession, resumeSession, type SessionRow } from './portal-sessions.js';
import { allowedScopes } from './scopes.js';
import { clearUserFailures, lockedForMs, recordFailure, type LockoutRule } from './sign-in-lockout.js';
import { findUser, normalUsername, passwordMatches, recordSignIn, type Role } from './users.js';

/** Who a portal request comes from: the user, their session and, for a supplier, the partner and its scopes. */
export interface PortalPrincipal {
  userId: string;
  username: string;
  displayName: string;
  role: Role;
  /** A supplier's partner; undefined for the operator's roles. */
  partner?: Readonly<PartnerProfile>;
  /** What a supplier may do for its partner: the partner's scopes, as its API credentials get them (scopes.ts). Empty for other roles. */
  scopes: ReadonlySet<string>;
  session: SessionRow;
}

export type SignInResult =
  | { ok: true; cookieValue: string; principal: PortalPrincipal }
  | { ok: false; code: 'GW_PORTAL_SIGN_IN' }
  | { ok: false; code: 'GW_PORTAL_LOCKED'; retryAfterSeconds: number };

export interface PortalAccessDeps {
  knex: Knex;
  /** Read on every request, so a configuration reload takes effect at once. */
  config: () => GatewayConfig;
  settings: PortalSettings;
  /** The time sessions and lockouts are measured by; tests move it forward instead of sleeping. */
  now: () => Date;
}

/** Sign-in, sessions and sign-out of the portal, each audited (decision 0023). */
export class PortalAccess {
  constructor(private readonly d: PortalAccessDeps) {}

  private get lockout(): LockoutRule {
    const s = this.d.settings;
    return { userFailures: s.lockoutUserFailures, addressFailures: s.lockoutAddressFailures, windowMs: s.lockoutMs };
  }

  private get times() {
    return { idleMs: this.d.settings.sessionIdleMs, maxMs: this.d.settings.sessionMaxMs };
  }

  /**
   * Checks a username and password from `source` (the client's address). Every refusal looks the
   * same whether or not the user exists, and a locked username or address is refused before the
   * password is looked at.
   */
  async signIn(typed: string, password: string, source: string): Promise<SignInResult> {
    const { knex } = this.d;
    const username = normalUsername(typed).slice(0, 200);
    const now = this.d.now();
    const lockedMs = await lockedForMs(knex, username, source, now, this.lockout);
    if (lockedMs > 0) {
      await audit(knex, { actor: `portal:${username}`, action: 'portal.sign-in', source, outcome: 'denied', details: { reason: 'locked' } });
      return { ok: false, code: 'GW_PORTAL_LOCKED', retryAfterSeconds: Math.ceil(lockedMs / 1000) };
    }
    const user = await findUser(knex, username);
    // The password is checked even for a disabled user: every refusal costs the same scrypt.
    const matches = await passwordMatches(user, password);
    const principal = user && !user.disabled && matches ? await this.open(user.id, now) : undefined;
    if (!principal) {
      return this.refuse(username, source, now, user?.disabled ? 'disabled' : 'password');
    }
    await Promise.all([recordSignIn(knex, user!.id, now), clearUserFailures(knex, username)]);
    await audit(knex, { actor: `portal:${username}`, action: 'portal.sign-in', target: `portal-user:${username}`, source, outcome: 'ok' });
    return { ok: true, cookieValue: principal.cookieValue, principal: principal.principal };
  }

  /** A failed sign-in: recorded, audited, and audited again when it is the one that locks. */
  private async refuse(username: string, source: string, now: Date, reason: string): Promise<SignInResult> {
    const { knex } = this.d;
    await recordFailure(knex, username, source, now, this.lockout);
    await audit(knex, { actor: `portal:${username}`, action: 'portal.sign-in', source, outcome: 'denied', details: { reason } });
    if ((await lockedForMs(knex, username, source, now, this.lockout)) > 0)
      await audit(knex, { actor: `portal:${username}`, action: 'portal.lockout', source, outcome: 'denied', details: { windowMs: this.lockout.windowMs } });
    return { ok: false, code: 'GW_PORTAL_SIGN_IN' };
  }

  /**
   * A session for a user the OIDC provider vouched for (portal-oidc.ts): recorded and audited like a
   * password sign-in, the method named in the audit. Undefined when the user has no principal (disabled).
   */
  async openVerified(user: { id: string; username: string }, source: string, details: Record<string, unknown>) {
    const now = this.d.now();
    const opened = await this.open(user.id, now);
    if (!opened) return undefined;
    await recordSignIn(this.d.knex, user.id, now);
    const target = `portal-user:${user.username}`;
    await audit(this.d.knex, { actor: `portal:${user.username}`, action: 'portal.sign-in', target, source, outcome: 'ok', details });
    return opened;
  }

  private async open(userId: string, now: Date): Promise<{ cookieValue: string; principal: PortalPrincipal } | undefined> {
    const { id, row } = await createSession(this.d.knex, userId, now, this.times);
    const principal = await this.principalOf(row);
    return principal ? { cookieValue: id, principal } : undefined;
  }

  /** The principal of a session cookie's value; undefined when the session is unknown or has ended. */
  async resume(cookieValue: string): Promise<PortalPrincipal | undefined> {
    const session = await resumeSession(this.d.knex, cookieValue, this.d.now(), this.times);
    return session ? this.principalOf(session) : undefined;
  }

  async signOut(p: PortalPrincipal, source: string): Promise<void> {
    await endSession(this.d.knex, p.session.idSha256);
    await audit(this.d.knex, { actor: `portal:${p.username}`, action: 'portal.sign-out', target: `portal-user:${p.username}`, source, outcome: 'ok' });
  }

  /** A disabled user, or a supplier whose partner left the configuration, has no principal (and the session ends). */
  private async principalOf(session: SessionRow): Promise<PortalPrincipal | undefined> {
    const row = await this.d.knex('portal_users').where({ id: session.userId }).first();
    const partner = row?.partner_id ? this.d.config().partners.get(row.partner_id as string) : undefined;
    if (!row || row.disabled || (row.partner_id && !partner)) {
      await endSession(this.d.knex, session.idSha256);
      return undefined;
    }
    return {
      userId: session.userId,
      username: row.username as string,
      displayName: row.display_name as string,
      role: row.role as Role,
      ...(partner ? { partner } : {}),
      scopes: partner ? allowedScopes(partner) : new Set<string>(),
      session,
    };
  }
}
