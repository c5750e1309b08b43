import { json, section, SECURITY } from './section.js';

const TOKEN = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in', 'scope'],
  additionalProperties: false,
  properties: {
    access_token: { type: 'string' },
    token_type: { const: 'Bearer' },
    expires_in: { type: 'integer', description: 'Seconds.' },
    scope: { type: 'string', description: 'The scopes granted, space-separated.' },
  },
};

const JWKS = { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: { type: 'object', required: ['kty'] } } } };

const oauthError = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/OAuthError' } } },
});

export const oauthApi = section(import.meta.url, {
  tag: {
    name: 'OAuth 2.0',
    description: 'The authorization server partners take access tokens from: client credentials (RFC 6749 §4.4), its keys (RFC 7517) and metadata (RFC 8414).',
  },
  owns: ['/oauth/', '/.well-known/'],
  paths: {
    '/oauth/token': {
      post: {
        summary: 'Take an access token (client credentials grant)',
        description:
          'The client authenticates with HTTP Basic (client_secret_basic: partner id and client secret), a signed assertion ' +
          '(private_key_jwt: client_assertion_type and client_assertion) or, on the HTTPS port, its pinned certificate (tls_client_auth).',
        security: [{ clientSecretBasic: [] }, {}],
        requestBody: {
          required: true,
          content: {
            'application/x-www-form-urlencoded': {
              schema: {
                type: 'object',
                required: ['grant_type'],
                properties: {
                  grant_type: { const: 'client_credentials' },
                  scope: { type: 'string', description: 'Space-separated; all the client may have when absent.' },
                  client_id: { type: 'string' },
                  client_assertion_type: { const: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' },
                  client_assertion: { type: 'string' },
                },
              },
              example: { grant_type: 'client_credentials', scope: 'asn:write status:read' },
            },
          },
        },
        responses: {
          '200': json('The access token (a JWT), never cached (Cache-Control: no-store).', TOKEN),
          '400': oauthError('invalid_request (also a body that is not application/x-www-form-urlencoded), invalid_scope or unsupported_grant_type.'),
          '401': oauthError('invalid_client: the client did not authenticate.'),
          '413': oauthError('The token request is larger than 16 KiB.'),
          '429': oauthError('Too many token requests from this address: retry after Retry-After.'),
          '503': oauthError('The gateway cannot reach its store now: retry.'),
        },
      },
    },
    '/.well-known/jwks.json': {
      get: { summary: 'The keys access tokens are signed with', security: SECURITY.none, responses: { '200': json('A JWK Set.', JWKS) } },
    },
    '/.well-known/oauth-authorization-server': {
      get: {
        summary: 'Authorization server metadata',
        security: SECURITY.none,
        responses: {
          '200': json('RFC 8414 metadata.', {
            type: 'object',
            required: ['issuer', 'token_endpoint', 'jwks_uri', 'grant_types_supported'],
            properties: {
              issuer: { type: 'string' },
              token_endpoint: { type: 'string' },
              jwks_uri: { type: 'string' },
              grant_types_supported: { type: 'array', items: { type: 'string' } },
              token_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' } },
              scopes_supported: { type: 'array', items: { type: 'string' } },
            },
          }),
        },
      },
    },
  },
});
