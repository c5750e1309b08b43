import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { GatewayConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import type { PartnerProfile } from '../types.js';
import { credentialState, type Actor, type Credential, type CredentialStore } from './credentials.js';
import { allowedScopes } from './scopes.js';

/** Our tokens are signed with ES256 only; partners' assertions and external tokens with these. */
export const OUR_ALGORITHMS = ['ES256'];
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const CLOCK_TOLERANCE_S = 5;

export interface TokenSettings {
  /** Our issuer identifier (`iss` of our tokens). */
  issuer: string;
  /** The audience our tokens are for, and that external tokens must name. */
  audience: string;
  ttlSeconds: number;
  /** An enterprise identity provider whose tokens are accepted as well. */
  external?: { issuer: string; jwksUrl: string; audience: string };
}

export interface TokenPrincipal {
  partner: Readonly<PartnerProfile>;
  scopes: ReadonlySet<string>;
  clientId: string;
  method: 'oauth' | 'external';
  /** Base64url SHA-256 of the certificate the token is bound to (cnf.x5t#S256). */
  boundTo?: string;
  tokenId?: string;
}

function invalid(message: string): GatewayError {
  return new GatewayError('GW_AUTH_INVALID', message);
}

/**
 * Issues and checks access tokens. Signing keys are `signing-key` credentials: a new key is
 * published in the JWKS before it signs (its not_before), and an old one stays published until the
 * tokens it signed have expired.
 */
export class TokenService {
  private readonly keyCache = new Map<string, { key: Awaited<ReturnType<typeof importJWK>>; private?: KeyObject }>();
  private readonly remote?: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    private readonly store: CredentialStore,
    private readonly config: () => GatewayConfig,
    readonly settings: TokenSettings,
  ) {
    if (settings.external)
      this.remote = createRemoteJWKSet(new URL(settings.external.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
  }

  /** The published keys: the one signing, the next one, and previous ones still verifying. */
  async publishedKeys(now = new Date()): Promise<Credential[]> {
    return (await this.store.list({ kind: 'signing-key' })).filter((c) => ['active', 'next'].includes(credentialState(c, now)));
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: (await this.publishedKeys()).map((c) => c.public.jwk as JWK) };
  }

  /** The key that signs now: of the published ones already started, the newest. Made on first use. */
  private async signer(by: Actor): Promise<{ kid: string; key: KeyObject }> {
    const now = new Date();
    let current = (await this.publishedKeys(now)).filter((c) => c.notBefore <= now).sort((a, b) => b.notBefore.getTime() - a.notBefore.getTime())[0];
    if (!current) {
      await this.store.issue({ kind: 'signing-key', partnerId: null }, by).catch(() => undefined); // a concurrent first issue may win
      current = (await this.publishedKeys(now)).filter((c) => c.notBefore <= new Date()).sort((a, b) => b.notBefore.getTime() - a.notBefore.getTime())[0];
      if (!current) throw new GatewayError('GW_INTERNAL', 'No token-signing key could be made.');
    }
    const cached = this.keyCache.get(current.ref);
    if (cached?.private) return { kid: current.ref, key: cached.private };
    const key = createPrivateKey(this.store.open(current).toString('utf8'));
    this.keyCache.set(current.ref, { key: await importJWK(current.public.jwk as JWK, 'ES256'), private: key });
    return { kid: current.ref, key };
  }

  async issue(
    partner: Readonly<PartnerProfile>,
    scopes: readonly string[],
    boundTo?: string,
  ): Promise<{ token: string; expiresIn: number; jti: string; kid: string }> {
    const { kid, key } = await this.signer({ actor: 'gateway', source: 'token endpoint' });
    const jti = randomUUID();
    const token = await new SignJWT({ client_id: partner.oauth.clientId, scope: scopes.join(' '), ...(boundTo ? { cnf: { 'x5t#S256': boundTo } } : {}) })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .setIssuer(this.settings.issuer)
      .setSubject(partner.oauth.clientId)
      .setAudience(this.settings.audience)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime(`${this.settings.ttlSeconds}s`)
      .setJti(jti)
      .sign(key);
    return { token, expiresIn: this.settings.ttlSeconds, jti, kid };
  }

  /** Checks a bearer JWT: ours or the external issuer's; algorithm, signature, iss, aud, exp, nbf. */
  async verify(token: string): Promise<TokenPrincipal> {
    let iss: string | undefined;
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(token);
      kid = header.kid;
      iss = decodeJwt(token).iss;
      if (!header.alg || !ASYMMETRIC_ALGORITHMS.includes(header.alg)) throw invalid(`Tokens signed with ${header.alg ?? 'no algorithm'} are refused.`);
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw invalid('The bearer token is neither an API key nor a well-formed JWT.');
    }
    if (iss === this.settings.issuer) return this.verifyOurs(token, kid);
    const ext = this.settings.external;
    if (ext && this.remote && iss === ext.issuer) return this.verifyExternal(token, ext);
    throw invalid('The token is from an issuer this gateway does not trust.');
  }

  private async verifyOurs(token: string, kid: string | undefined): Promise<TokenPrincipal> {
    const published = await this.publishedKeys();
    const cred = published.find((c) => c.ref === kid);
    if (!cred) throw invalid('The token is signed with a key that is unknown, retired or revoked.');
    let entry = this.keyCache.get(cred.ref);
    if (!entry) this.keyCache.set(cred.ref, (entry = { key: await importJWK(cred.public.jwk as JWK, 'ES256') }));
    const payload = await this.check(() =>
      jwtVerify(token, entry.key, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: OUR_ALGORITHMS,
        requiredClaims: ['exp', 'sub', 'jti'],
        clockTolerance: CLOCK_TOLERANCE_S,
      }),
    );
    const clientId = String(payload.client_id ?? payload.sub);
    const partner = this.config().clients.get(clientId);
    if (!partner) throw invalid(`The token's client ${clientId} is no longer configured.`);
    const allowed = allowedScopes(partner);
    const scopes = new Set(
      String(payload.scope ?? '')
        .split(' ')
        .filter((s) => allowed.has(s)),
    );
    const cnf = (payload.cnf as Record<string, unknown> | undefined)?.['x5t#S256'];
    return {
      partner,
      scopes,
      clientId,
      method: 'oauth',
      ...(typeof cnf === 'string' ? { boundTo: cnf } : {}),
      ...(payload.jti ? { tokenId: payload.jti } : {}),
    };
  }

  private async verifyExternal(token: string, ext: NonNullable<TokenSettings['external']>): Promise<TokenPrincipal> {
    const remote = this.remote as NonNullable<typeof this.remote>;
    const payload = await this.check(() =>
      jwtVerify(token, remote, {
        issuer: ext.issuer,
        audience: ext.audience,
        algorithms: ASYMMETRIC_ALGORITHMS,
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_S,
      }),
    );
    const subject = String(payload.client_id ?? payload.azp ?? payload.sub ?? '');
    const partner = this.config().externalSubjects.get(subject);
    if (!partner) throw invalid(`No partner is configured for ${subject || 'the token'} of ${ext.issuer} (oauth.externalSubjects).`);
    const asked = typeof payload.scope === 'string' ? payload.scope.split(' ') : Array.isArray(payload.scp) ? payload.scp.map(String) : [];
    const allowed = allowedScopes(partner);
    return { partner, scopes: new Set(asked.filter((s) => allowed.has(s))), clientId: subject, method: 'external' };
  }

  private async check(verify: () => Promise<{ payload: JWTPayload }>): Promise<JWTPayload> {
    try {
      return (await verify()).payload;
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      const why: Record<string, string> = {
        ERR_JWT_EXPIRED: 'The token has expired.',
        ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'The token signature does not verify.',
        ERR_JOSE_ALG_NOT_ALLOWED: 'The token algorithm is not allowed.',
        ERR_JWKS_NO_MATCHING_KEY: 'The token is signed with a key the issuer does not publish.',
        ERR_JWKS_TIMEOUT: "The external issuer's JWKS could not be fetched.",
      };
      const claim = (err as { claim?: string }).claim;
      throw invalid(why[code] ?? (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' ? `The token's ${claim} claim is not acceptable.` : 'The token is not valid.'));
    }
  }
}
