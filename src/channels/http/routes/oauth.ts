import Router from '@koa/router';
import type { GatewayConfig } from '../../../config/load.js';
import { GatewayError } from '../../../errors.js';
import { peerCertificate } from '../../../security/mtls.js';
import type { TokenEndpoint } from '../../../security/oauth.js';
import type { RateLimiter } from '../../../security/rate-limit.js';
import { allowedScopes } from '../../../security/scopes.js';
import type { TokenService } from '../../../security/tokens.js';
import { mediaTypeOf, readBody, throttle } from '../request.js';

export interface OAuthDeps {
  config: () => GatewayConfig;
  tokens: TokenService;
  tokenEndpoint: TokenEndpoint;
  limiter: RateLimiter;
  /** Token requests per minute from one address. */
  tokenRatePerMinute: number;
  /** The URLs the token endpoint answers at (HTTP and HTTPS): a client assertion's aud. */
  endpointUrls: () => string[];
}

/**
 * The OAuth 2.0 server partners get their access tokens from: client credentials (RFC 6749 §4.4),
 * our keys (RFC 7517) and server metadata (RFC 8414). No authentication middleware: the token
 * endpoint authenticates the client itself (secret, signed assertion or certificate), and the keys
 * and metadata are public. Its errors take the RFC 6749 shape in error-answers.ts.
 */
export function oauthRoutes(d: OAuthDeps): Router {
  const router = new Router();

  router.post('/oauth/token', async (ctx) => {
    await throttle(ctx, d.limiter, `token:${ctx.ip}`, d.tokenRatePerMinute);
    if (mediaTypeOf(ctx) !== 'application/x-www-form-urlencoded')
      throw new GatewayError('GW_OAUTH_REQUEST', 'Send the token request as application/x-www-form-urlencoded.');
    const form = new URLSearchParams((await readBody(ctx, 16_384, ' for a token request')).toString('utf8'));
    const cert = peerCertificate(ctx.req);
    const res = await d.tokenEndpoint.handle({
      form,
      ...(ctx.get('authorization') ? { authorization: ctx.get('authorization') } : {}),
      ...(cert ? { cert } : {}),
      remote: ctx.ip,
      endpointUrls: d.endpointUrls(),
    });
    ctx.set('cache-control', 'no-store');
    ctx.set('pragma', 'no-cache');
    ctx.body = res;
  });

  router.get('/.well-known/jwks.json', async (ctx) => {
    ctx.set('cache-control', 'public, max-age=60');
    ctx.body = await d.tokens.jwks();
  });

  router.get('/.well-known/oauth-authorization-server', (ctx) => {
    const issuer = d.tokens.settings.issuer;
    ctx.body = {
      issuer,
      token_endpoint: `${issuer}/oauth/token`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt', 'tls_client_auth'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256'],
      tls_client_certificate_bound_access_tokens: true,
      scopes_supported: [...new Set([...d.config().partners.values()].flatMap((p) => [...allowedScopes(p)]))].sort(),
    };
  });

  return router;
}
