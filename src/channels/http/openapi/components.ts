import { CANONICAL_SCHEMAS } from '../../../canonical/index.js';
import { ERROR_CODES } from '../../../errors.js';
import { ALL_SCOPES } from '../../../security/scopes.js';
import { SIGNATURE_HEADER } from '../../../security/webhooks.js';
import { PURCHASE_ORDER_SCHEMAS } from './purchase-order-schemas.js';
import type { Schema } from './section.js';

/**
 * What the sections share: the security schemes (auth.ts), the error answer (error-answers.ts), the
 * canonical documents (src/canonical/*.schema.json, taken as they are, their `$id` kept, so they are
 * the same schemas the pipeline validates with) and the answers several audiences give.
 */

/** The canonical schemas, by the component name the sections refer to. */
const CANONICAL: Record<string, object> = {
  Asn: CANONICAL_SCHEMAS.asn[1] as object,
  Invoice: CANONICAL_SCHEMAS.invoice[1] as object,
  PurchaseOrder: CANONICAL_SCHEMAS['purchase-order'][1] as object,
  PoAck: CANONICAL_SCHEMAS['po-ack'][1] as object,
  Inventory: CANONICAL_SCHEMAS.inventory[1] as object,
  PriceList: CANONICAL_SCHEMAS['price-list'][1] as object,
};

const dateTime = { type: 'string', format: 'date-time' };
const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: 'null' }] });

const SOURCE_LOCATION: Schema = {
  type: 'object',
  description: 'Where in the source the problem is: X12 segment and element, a JSONPath, an XML path or a line.',
  additionalProperties: true,
  properties: {
    segment: { type: 'string' },
    position: { type: 'integer' },
    element: { type: 'integer' },
    jsonPath: { type: 'string' },
    xmlPath: { type: 'string' },
  },
};

const ERROR_CODE: Schema = {
  type: 'string',
  enum: Object.keys(ERROR_CODES),
  description: 'A stable code; docs/errors.md says what each means and what to do.',
};

const SHARED_SCHEMAS: Record<string, Schema> = {
  ErrorCode: ERROR_CODE,
  ErrorAnswer: {
    type: 'object',
    description: 'Every refusal and failure (error-answers.ts): a stable code and a message saying what to do. A 5xx never carries details.',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        additionalProperties: false,
        properties: { code: ERROR_CODE, message: { type: 'string' }, location: SOURCE_LOCATION },
      },
    },
  },
  OAuthError: {
    type: 'object',
    description: 'The token endpoint answers errors in the names of RFC 6749 §5.2, with the gateway code beside them.',
    required: ['error', 'error_description', 'code'],
    additionalProperties: false,
    properties: {
      error: { type: 'string', examples: ['invalid_client', 'invalid_scope', 'invalid_request'] },
      error_description: { type: 'string' },
      code: ERROR_CODE,
    },
  },
  Problem: {
    type: 'object',
    required: ['code', 'message'],
    additionalProperties: true,
    properties: { code: { type: 'string' }, message: { type: 'string' }, location: SOURCE_LOCATION },
  },
  Receipt: {
    type: 'object',
    description: 'The bytes are stored: the message will be interpreted, mapped, validated and routed. Poll statusUrl.',
    required: ['messageId', 'correlationId', 'statusUrl', 'duplicate'],
    additionalProperties: false,
    properties: {
      messageId: { type: 'string', format: 'uuid' },
      correlationId: { type: 'string' },
      statusUrl: { type: 'string' },
      duplicate: { type: 'boolean', description: 'true when the Idempotency-Key named an earlier message: that message is answered.' },
    },
  },
  MessageStatus: {
    type: 'object',
    description: 'A message from raw bytes to delivery: its documents, deliveries and timeline (pipeline/status.ts).',
    required: ['id', 'partner', 'channel', 'direction', 'state', 'correlationId', 'receivedAt', 'documents', 'deliveries', 'timeline'],
    additionalProperties: true,
    properties: {
      id: { type: 'string', format: 'uuid' },
      partner: { type: 'string' },
      channel: { type: 'string', examples: ['rest', 'webhook', 'as2', 'sftp', 'portal', 'erp'] },
      contentType: { type: 'string' },
      format: nullable({ type: 'string' }),
      sizeBytes: { type: ['integer', 'string'] },
      sha256: { type: 'string' },
      correlationId: { type: 'string' },
      direction: { enum: ['inbound', 'outbound'] },
      type: { type: 'string' },
      state: { type: 'string', examples: ['received', 'processed', 'delivered', 'rejected', 'failed', 'dead'] },
      problems: nullable({ type: 'array', items: { $ref: '#/components/schemas/Problem' } }),
      receivedAt: dateTime,
      processedAt: nullable(dateTime),
      documents: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'type', 'state'],
          properties: {
            id: { type: 'string' },
            seq: { type: 'integer' },
            type: { type: 'string' },
            state: { type: 'string' },
            canonical: nullable({ type: 'object' }),
          },
        },
      },
      deliveries: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'target', 'state', 'attempts'],
          properties: {
            id: { type: 'string' },
            target: { type: 'string' },
            kind: { type: 'string' },
            state: { type: 'string' },
            attempts: { type: 'integer' },
          },
        },
      },
      timeline: {
        type: 'array',
        // Each event also carries its detail (and, for some, data and documentId): docs/events.md.
        items: { type: 'object', required: ['at', 'type'], properties: { at: dateTime, type: { type: 'string' }, code: { type: 'string' } } },
      },
    },
  },
  Actor: {
    type: 'object',
    required: ['actor'],
    additionalProperties: false,
    properties: {
      actor: { type: 'string', description: 'admin:<key id> or portal:<username>', examples: ['admin:ops-key'] },
      csrfToken: { type: 'string', description: 'With a portal session: the token its POSTs carry in X-CSRF-Token.' },
    },
  },
  ...PURCHASE_ORDER_SCHEMAS,
  ...CANONICAL,
};

/** One shared answer per error status: the same shape, a different reason. */
const ERROR_RESPONSES: Record<string, string> = {
  '400': 'The request is malformed: a parameter, header or body field is wrong (the message names it).',
  '401': 'No credential, or one that is unknown, expired or revoked.',
  '403': 'The credential is valid but may not do this (a scope, a role, a channel, a suspended partner).',
  '404': 'No such resource, or not one the caller may see.',
  '409': 'The request conflicts with the current state (a replayed webhook, a duplicate, a wrong lifecycle move).',
  '413': 'The body is larger than the limit.',
  '415': 'The Content-Type is not one this operation takes.',
  '422': 'The body is well-formed but its content is refused (the message says where).',
  '429': 'Too many requests: retry after the number of seconds in Retry-After.',
  '503': 'The gateway cannot store or reach what it needs now: retry after Retry-After. Nothing was accepted.',
};

function errorResponses() {
  return Object.fromEntries(
    Object.entries(ERROR_RESPONSES).map(([status, description]) => [
      `Error${status}`,
      { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorAnswer' } } } },
    ]),
  );
}

/** How each audience authenticates (see src/channels/http/auth.ts). */
const SECURITY_SCHEMES = {
  partnerApiKey: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'gw_<id>_<secret>',
    description: 'A partner API key (issued by POST /admin/v1/credentials, kind api-key), sent as "Authorization: Bearer gw_…".',
  },
  partnerOAuth: {
    type: 'oauth2',
    description:
      'An access token from the client credentials grant. The client authenticates with client_secret_basic, ' +
      'private_key_jwt or tls_client_auth; a certificate-bound token needs its certificate on the HTTPS port.',
    flows: { clientCredentials: { tokenUrl: '/oauth/token', scopes: Object.fromEntries(ALL_SCOPES.map((s) => [s, scopeText(s)])) } },
  },
  clientSecretBasic: {
    type: 'http',
    scheme: 'basic',
    description: "The token endpoint's client_secret_basic: the partner id and a client secret (kind client-secret).",
  },
  partnerMtls: {
    type: 'mutualTLS',
    description: 'On the HTTPS port only: a TLS client certificate pinned for the partner (kind client-cert), with no Authorization header.',
  },
  erpApiKey: { type: 'http', scheme: 'bearer', description: 'The ERP service key (ERP_API_KEYS), sent as "Authorization: Bearer <key>".' },
  adminApiKey: { type: 'http', scheme: 'bearer', description: 'An administrator key (ADMIN_API_KEYS), sent as "Authorization: Bearer <key>".' },
  portalSession: {
    type: 'apiKey',
    in: 'cookie',
    name: 'gw_session',
    description: 'A portal session (sign in at /portal/sign-in). Its POSTs carry the session token in X-CSRF-Token (from GET …/whoami).',
  },
  webhookSignature: {
    type: 'apiKey',
    in: 'header',
    name: SIGNATURE_HEADER,
    description:
      "`t=<unix seconds>,v1=<hex>[,v1=<hex>]`: each v1 is HMAC-SHA256 over `<t>.<body>` with one of the partner's " +
      'active webhook secrets (kind webhook-secret). A timestamp outside the tolerance, or a request seen before, is refused.',
  },
};

function scopeText(scope: string): string {
  const [what, how] = scope.split(':');
  return how === 'write' ? `Send ${what} documents` : `Read ${what}`;
}

export function components() {
  return { schemas: SHARED_SCHEMAS, responses: errorResponses(), securitySchemes: SECURITY_SCHEMES };
}
