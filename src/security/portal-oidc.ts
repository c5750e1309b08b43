import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Knex } from 'knex';
import * as oidc from 'openid-client';
import type { PortalOidcSettings } from '../config/env.js';
import { GatewayError } from '../errors.js';
import { audit } from './audit.js';
import type { PortalAccess, PortalPrincipal } from './portal-sign-in.js';
import { upsertOidcUser, type Role } from './users.js';

/**
 * Staff sign-in through an OpenID Connect provider (decision 0025): authorization code with PKCE
 * (S256), state and nonce, the ID token verified by openid-client (signature against the provider's
 * JWKS, issuer, audience, expiry, nonce). The provider's groups pick one staff role; the session is
 * the one a password sign-in gets (portal-sign-in.ts). Every sign-in and every refusal is audited.
 */

/** A pending sign-in lives this long: time enough to type a password and answer a second factor at the provider. */
const PENDING_MS = 10 * 60_000;

/** When groups map to several roles, the first of these wins. */
const ROLE_RANK: readonly Role[] = ['admin', 'security', 'operations', 'partner-manager'];

export interface PortalOidcDeps {
  knex: Knex;
  settings: PortalOidcSettings;
  access: PortalAccess;
  now: () => Date;
}

function sha256(v: string): string {
  return createHash('sha256').update(v).digest('hex');
}

export class PortalOidc {
  private provider: Promise<oidc.Configuration> | undefined;

  constructor(private readonly d: PortalOidcDeps) {}

  get name(): string {
    return this.d.settings.name;
  }

  /**
   * A new pending sign-in: the value for the browser's cookie (only its hash is stored) and the
   * provider's authorization URL to send the browser to.
   */
  async start(): Promise<{ cookieValue: string; url: string }> {
    const config = await this.configuration();
    const [cookieValue, state, nonce, verifier] = [
      randomBytes(32).toString('base64url'),
      oidc.randomState(),
      oidc.randomNonce(),
      oidc.randomPKCECodeVerifier(),
    ];
    const now = this.d.now();
    await this.d.knex('portal_oidc_logins').where('expires_at', '<', now).del();
    await this.d.knex('portal_oidc_logins').insert({
      id_sha256: sha256(cookieValue),
      ...{ state, nonce, code_verifier: verifier, created_at: now },
      expires_at: new Date(now.getTime() + PENDING_MS),
    });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.d.settings.redirectUrl,
      scope: 'openid profile email',
      ...{ state, nonce, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' },
    });
    return { cookieValue, url: url.href };
  }

  /**
   * The provider's answer (`query`, the callback's query string) to the sign-in this browser started
   * (`cookieValue`). The pending sign-in is deleted first, so an answer is taken once.
   * Refusals throw GW_PORTAL_OIDC (or GW_PORTAL_OIDC_GROUP) after an audit row.
   */
  async callback(cookieValue: string | undefined, query: string, source: string): Promise<{ cookieValue: string; principal: PortalPrincipal }> {
    const rows = cookieValue
      ? await this.d
          .knex('portal_oidc_logins')
          .where({ id_sha256: sha256(cookieValue) })
          .del()
          .returning('*')
      : [];
    const pending = rows[0] as { state: string; nonce: string; code_verifier: string; expires_at: Date } | undefined;
    if (!pending || pending.expires_at <= this.d.now())
      return this.refuse(
        'portal:oidc',
        source,
        { reason: 'not-pending' },
        'This sign-in was not started in this browser, is older than 10 minutes or was used already.',
      );
    const claims = await this.verifiedClaims(query, pending, source);
    const subject = `portal:oidc:${claims.sub}`;
    const groups = groupsOf(claims[this.d.settings.groupsClaim]);
    const role = ROLE_RANK.find((r) => groups.some((g) => this.d.settings.roleMap.get(g) === r));
    if (!role) {
      await audit(this.d.knex, {
        actor: subject,
        action: 'portal.sign-in',
        source,
        outcome: 'denied',
        details: { method: 'oidc', reason: 'no-mapped-group', groups },
      });
      throw new GatewayError('GW_PORTAL_OIDC_GROUP', 'None of your groups at the identity provider gives a role in the portal. Ask an administrator.');
    }
    const user = await upsertOidcUser(
      this.d.knex,
      { issuer: claims.iss, subject: claims.sub, handle: handleOf(claims), displayName: nameOf(claims), role },
      this.d.now(),
    );
    const details = { method: 'oidc', issuer: claims.iss, subject: claims.sub, role, groups };
    const opened = user.disabled ? undefined : await this.d.access.openVerified(user, source, details);
    return opened ?? this.refuse(`portal:${user.username}`, source, { ...details, reason: 'disabled' }, 'This portal user is disabled.');
  }

  /** The ID token's claims once openid-client has checked the answer; any failure is a refusal naming what failed. */
  private async verifiedClaims(query: string, pending: { state: string; nonce: string; code_verifier: string }, source: string): Promise<oidc.IDToken> {
    const config = await this.configuration();
    try {
      const tokens = await oidc.authorizationCodeGrant(config, new URL(`${this.d.settings.redirectUrl}?${query}`), {
        pkceCodeVerifier: pending.code_verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new Error('no ID token');
      return claims;
    } catch (err) {
      return this.refuse('portal:oidc', source, { reason: reasonOf(err) }, 'The identity provider’s answer could not be verified. Start the sign-in again.');
    }
  }

  private async refuse(actor: string, source: string, details: Record<string, unknown>, message: string): Promise<never> {
    await audit(this.d.knex, { actor, action: 'portal.sign-in', source, outcome: 'denied', details: { method: 'oidc', ...details } });
    throw new GatewayError('GW_PORTAL_OIDC', message);
  }

  /** The provider's metadata, discovered on first use and kept; a failed discovery is tried again next time. */
  private async configuration(): Promise<oidc.Configuration> {
    this.provider ??= this.discover();
    try {
      return await this.provider;
    } catch (err) {
      this.provider = undefined;
      throw new GatewayError('GW_PORTAL_OIDC_PROVIDER', `The identity provider ${this.d.settings.issuer} could not be reached: ${(err as Error).message}`);
    }
  }

  private async discover(): Promise<oidc.Configuration> {
    const s = this.d.settings;
    const secret = s.clientSecretFile ? (await readFile(s.clientSecretFile, 'utf8')).trim() : s.clientSecret;
    const issuer = new URL(s.issuer);
    // Plain HTTP only to a provider on this machine (a test or a local development provider).
    const loopback = issuer.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
    return oidc.discovery(issuer, s.clientId, undefined, secret ? oidc.ClientSecretBasic(secret) : oidc.None(), {
      // Non-repudiation: the ID token's signature is checked against the JWKS even though it came straight from the token endpoint.
      execute: [oidc.enableNonRepudiationChecks, ...(loopback ? [oidc.allowInsecureRequests] : [])],
      timeout: 10,
    });
  }
}

/** What failed, for the audit: openid-client's code and the message of its cause, which names the claim or parameter. */
function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, 500);
  const e = err as Error & { code?: string };
  const cause = (e.cause ?? {}) as { message?: string; error?: string; error_description?: string };
  // The provider's own refusal (invalid_grant, …) when it gave one, else what openid-client found wrong.
  const detail = cause.error ? `${cause.error} ${cause.error_description ?? ''}` : (cause.message ?? e.message);
  return `${e.code ?? e.name}: ${detail.trim()}`.slice(0, 500);
}

function groupsOf(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((g): g is string => typeof g === 'string').slice(0, 500) : [];
}

function handleOf(c: oidc.IDToken): string {
  for (const v of [c.preferred_username, c.email]) if (typeof v === 'string' && v.trim()) return v;
  return c.sub;
}

function nameOf(c: oidc.IDToken): string {
  const name =
    typeof c.name === 'string'
      ? c.name
          .replace(/[\u0000-\u001f]/g, ' ')
          .trim()
          .slice(0, 200)
      : '';
  return name || handleOf(c).slice(0, 200);
}
