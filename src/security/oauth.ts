import type { X509Certificate } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import type { PartnerProfile } from '../types.js';
import { audit } from './audit.js';
import { unusableBecause, type CredentialStore } from './credentials.js';
import { matchPartnerCertificate, thumbprint } from './mtls.js';
import { grantedScopes, parseScopeParam } from './scopes.js';
import { ASYMMETRIC_ALGORITHMS, type TokenService } from './tokens.js';
import { isSuspended } from '../types.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Client assertions may live this long at most (exp − now). */
const MAX_ASSERTION_SECONDS = 600;

/** RFC 6749 §5.2 error names for our codes. */
export const OAUTH_ERROR: Record<string, string> = {
  GW_OAUTH_CLIENT: 'invalid_client',
  GW_OAUTH_REQUEST: 'invalid_request',
  GW_OAUTH_SCOPE: 'invalid_scope',
  GW_RATE_LIMITED: 'slow_down',
  GW_REQUEST_TOO_LARGE: 'invalid_request',
  GW_REQUEST_MEDIA_TYPE: 'invalid_request',
};

export interface TokenRequest {
  form: URLSearchParams;
  authorization?: string;
  cert?: X509Certificate;
  remote: string;
  /** The URLs this token endpoint answers at: a client assertion's `aud` must be one of them. */
  endpointUrls: string[];
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

type Method = 'client_secret_basic' | 'private_key_jwt' | 'tls_client_auth';

function clientError(message: string): GatewayError {
  return new GatewayError('GW_OAUTH_CLIENT', message);
}

/**
 * One part of HTTP Basic client credentials, which RFC 6749 §2.3.1 form-urlencodes before joining
 * them. A malformed %-escape is the client's mistake: invalid_client, not a server error.
 */
function formDecoded(part: string, name: string): string {
  try {
    return decodeURIComponent(part.replaceAll('+', ' '));
  } catch {
    throw clientError(`The Basic credentials' ${name} is not form-urlencoded: a "%" must start an escape such as %25 (RFC 6749 §2.3.1).`);
  }
}

/**
 * POST /oauth/token, client credentials grant (RFC 6749 §4.4) with three client authentication
 * methods. Every request, granted or refused, leaves an audit entry.
 */
export class TokenEndpoint {
  constructor(private readonly d: { knex: Knex; store: CredentialStore; tokens: TokenService; config: () => GatewayConfig }) {}

  async handle(req: TokenRequest): Promise<TokenResponse> {
    let clientId = req.form.get('client_id') ?? undefined;
    let method: Method | undefined;
    try {
      if (req.form.get('grant_type') !== 'client_credentials')
        throw new GatewayError('GW_OAUTH_REQUEST', `grant_type must be client_credentials (found ${req.form.get('grant_type') ?? 'none'}).`);
      const authenticated = await this.authenticate(req, (m, id) => ((method = m), (clientId = id)));
      const { partner, credentialScopes } = authenticated;
      if (isSuspended(partner)) throw clientError(`Partner ${partner.id} is suspended.`);
      let boundTo: string | undefined;
      if (partner.oauth.certificateBound) {
        if (!req.cert || !(await matchPartnerCertificate(this.d.store, this.d.config(), partner, req.cert)))
          throw clientError('This client receives certificate-bound tokens only: request them over the HTTPS port with the pinned client certificate.');
        boundTo = thumbprint(req.cert);
      }
      const allowed = grantedScopes(partner, credentialScopes);
      const asked = parseScopeParam(req.form.get('scope') ?? undefined);
      const scopes = asked ? asked.filter((s) => allowed.has(s)) : [...allowed];
      if (!scopes.length)
        throw new GatewayError(
          'GW_OAUTH_SCOPE',
          asked
            ? `None of the requested scopes (${asked.join(' ')}) is allowed for client ${clientId}; allowed: ${[...allowed].join(' ')}.`
            : `Client ${clientId} is allowed no scope.`,
        );
      const issued = await this.d.tokens.issue(partner, scopes, boundTo);
      await audit(this.d.knex, {
        actor: `partner:${partner.id}`,
        action: 'oauth.token',
        target: `client:${clientId}`,
        source: req.remote,
        outcome: 'ok',
        details: { method, scopes, jti: issued.jti, kid: issued.kid, certificateBound: Boolean(boundTo) },
      });
      return { access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresIn, scope: scopes.join(' ') };
    } catch (err) {
      await audit(this.d.knex, {
        actor: clientId ? `client:${clientId}` : 'anonymous',
        action: 'oauth.token',
        target: clientId ? `client:${clientId}` : undefined,
        source: req.remote,
        outcome: 'denied',
        details: { method: method ?? null, code: (err as GatewayError).code ?? 'GW_INTERNAL', reason: (err as Error).message },
      }).catch(() => undefined);
      throw err;
    }
  }

  private partnerOf(clientId: string | undefined): Readonly<PartnerProfile> {
    const partner = clientId ? this.d.config().clients.get(clientId) : undefined;
    if (!partner) throw clientError(`Unknown client ${clientId ?? '(no client_id)'}.`);
    return partner;
  }

  private async authenticate(
    req: TokenRequest,
    note: (m: Method, clientId: string) => void,
  ): Promise<{ partner: Readonly<PartnerProfile>; credentialScopes: string[] | null }> {
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.authorization ?? '');
    const assertion = req.form.get('client_assertion');
    const formId = req.form.get('client_id') ?? undefined;
    if (req.authorization && !basic) throw clientError('The Authorization header must be "Basic <client_id:client_secret>".');
    if (basic && assertion) throw new GatewayError('GW_OAUTH_REQUEST', 'Use one client authentication method, not two.');
    if (req.form.has('client_secret'))
      throw new GatewayError('GW_OAUTH_REQUEST', 'client_secret_post is not supported; send the secret with HTTP Basic (client_secret_basic).');

    if (basic) {
      const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw clientError('The Basic credentials must be client_id:client_secret.');
      const clientId = formDecoded(decoded.slice(0, colon), 'client_id');
      const secret = formDecoded(decoded.slice(colon + 1), 'client_secret');
      note('client_secret_basic', clientId);
      if (formId && formId !== clientId) throw clientError('client_id in the form differs from the authenticated client.');
      const partner = this.partnerOf(clientId);
      const cred = await this.d.store.verifySecret('client-secret', secret);
      if (!cred || cred.partnerId !== partner.id) throw clientError('The client secret is wrong.');
      const why = unusableBecause(cred);
      if (why) throw clientError(`The client secret ${cred.ref} ${why}.`);
      this.d.store.noteUse(cred);
      return { partner, credentialScopes: cred.scopes };
    }

    if (assertion !== null) {
      if (req.form.get('client_assertion_type') !== JWT_BEARER) throw new GatewayError('GW_OAUTH_REQUEST', `client_assertion_type must be ${JWT_BEARER}.`);
      let iss: string | undefined;
      let kid: string | undefined;
      let alg = '';
      try {
        iss = decodeJwt(assertion).iss;
        ({ kid, alg = '' } = decodeProtectedHeader(assertion));
      } catch {
        throw clientError('The client assertion is not a JWT.');
      }
      note('private_key_jwt', iss ?? formId ?? '');
      if (formId && formId !== iss) throw clientError('client_id differs from the assertion issuer.');
      const partner = this.partnerOf(iss);
      const keys = (await this.d.store.usable('jwt-key', partner.id)).filter((k) => !kid || k.ref === kid || (k.public.jwk as JWK).kid === kid);
      if (!keys.length) throw clientError(`Client ${iss} has no active public key${kid ? ` with kid ${kid}` : ''} for private_key_jwt.`);
      let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'] | undefined;
      let reason = 'the signature matches no registered key';
      for (const k of keys) {
        const jwk = k.public.jwk as JWK;
        try {
          const key = await importJWK(jwk, alg);
          payload = (
            await jwtVerify(assertion, key, {
              issuer: iss,
              subject: iss,
              audience: req.endpointUrls,
              algorithms: ASYMMETRIC_ALGORITHMS,
              requiredClaims: ['exp', 'jti', 'sub', 'aud'],
              clockTolerance: 5,
            })
          ).payload;
          this.d.store.noteUse(k);
          break;
        } catch (err) {
          const e = err as { code?: string; claim?: string; message: string };
          if (e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED')
            reason = `its ${e.claim} claim is not acceptable${e.claim === 'aud' ? ` (aud must be ${req.endpointUrls[0]})` : ''}`;
          else if (e.code === 'ERR_JWT_EXPIRED') reason = 'it has expired';
          else if (e.code === 'ERR_JOSE_ALG_NOT_ALLOWED' || e.code === 'ERR_JOSE_NOT_SUPPORTED') reason = 'its algorithm is not allowed';
        }
      }
      if (!payload) throw clientError(`The client assertion was refused: ${reason}.`);
      // RFC 7519 §4.1.7: jti is a string; it is stored, so it must be text PostgreSQL can hold.
      if (typeof payload.jti !== 'string' || !/^[^\u0000-\u001f\u007f]{1,255}$/.test(payload.jti))
        throw clientError('The client assertion jti must be a string of 1-255 characters without control characters, new for every request.');
      if ((payload.exp as number) - Date.now() / 1000 > MAX_ASSERTION_SECONDS)
        throw clientError(`The client assertion lives too long: exp may be at most ${MAX_ASSERTION_SECONDS} seconds ahead.`);
      // jti: each assertion once (RFC 7523 §3). The row lives until the assertion would expire anyway.
      await this.d
        .knex('oauth_assertions')
        .where('expires_at', '<', new Date(Date.now() - 60_000))
        .del();
      const fresh = await this.d
        .knex('oauth_assertions')
        .insert({ client_id: iss, jti: payload.jti, expires_at: new Date((payload.exp as number) * 1000 + 60_000) })
        .onConflict(['client_id', 'jti'])
        .ignore()
        .returning('jti');
      if (!fresh.length) throw clientError(`The client assertion ${payload.jti} was used before; make a new jti for every request.`);
      return { partner, credentialScopes: null };
    }

    if (formId && req.cert) {
      note('tls_client_auth', formId);
      const partner = this.partnerOf(formId);
      if (!(await matchPartnerCertificate(this.d.store, this.d.config(), partner, req.cert)))
        throw clientError(`The TLS client certificate is not pinned for client ${formId}.`);
      return { partner, credentialScopes: null };
    }
    throw clientError(
      formId
        ? `Client ${formId} presented no credentials (HTTP Basic, a client assertion, or a TLS client certificate on the HTTPS port).`
        : 'No client authentication was presented.',
    );
  }
}
