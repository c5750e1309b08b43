import { CREDENTIAL_KINDS } from '../../../security/credentials.js';
import { errors, json, jsonBody, pathParam, queryParam, section, SECURITY } from './section.js';

const dateTime = { type: 'string', format: 'date-time' };
const orNull = (s: object) => ({ anyOf: [s, { type: 'null' }] });
const kind = { type: 'string', enum: [...CREDENTIAL_KINDS] };

const CREDENTIAL = {
  type: 'object',
  description: 'A credential as the admin API shows it: never a secret or a hash.',
  required: ['kind', 'ref', 'partner', 'source', 'state', 'notBefore'],
  additionalProperties: false,
  properties: {
    kind,
    ref: { type: 'string' },
    partner: orNull({ type: 'string' }),
    source: { type: 'string', examples: ['store', 'profile'] },
    state: { enum: ['active', 'next', 'expired', 'revoked'] },
    scopes: orNull({ type: 'array', items: { type: 'string' } }),
    notBefore: dateTime,
    expiresAt: orNull(dateTime),
    revokedAt: orNull(dateTime),
    createdAt: orNull(dateTime),
    createdBy: orNull({ type: 'string' }),
    lastUsedAt: { ...orNull(dateTime), description: 'When it last authenticated someone (decision 0042); null: not seen.' },
    jwk: { type: 'object' },
    subject: { type: 'string' },
    key: { type: 'string' },
    daysLeft: { type: 'integer' },
  },
};

const ISSUE = {
  type: 'object',
  required: ['kind'],
  additionalProperties: false,
  properties: {
    kind,
    partner: orNull({ type: 'string' }),
    material: { type: 'string', description: 'Public material (PEM certificate, JWK, OpenSSH key) for kinds that take one.' },
    expiresAt: dateTime,
    scopes: { type: 'array', items: { type: 'string' }, description: 'At most the partner’s scopes; all of them when absent.' },
    publishSeconds: { type: 'integer', minimum: 0, description: 'Signing keys: publish this long before signing.' },
    overlapSeconds: { type: 'integer', minimum: 0, description: 'Rotation only: how long the old credentials keep working (default 7 days).' },
  },
};

const ISSUED = {
  type: 'object',
  required: ['credential'],
  additionalProperties: false,
  properties: {
    credential: CREDENTIAL,
    secret: { type: 'string', description: 'The secret, shown this once (API keys, client and webhook secrets).' },
    retiring: { type: 'array', items: CREDENTIAL },
  },
};

const credentialList = (extra: object = {}) => ({
  type: 'object',
  required: ['credentials'],
  additionalProperties: false,
  properties: { credentials: { type: 'array', items: CREDENTIAL }, ...extra },
});

const AUDIT_ENTRY = {
  type: 'object',
  required: ['id', 'at', 'actor', 'action', 'outcome'],
  properties: {
    id: { type: ['string', 'integer'] },
    at: dateTime,
    actor: { type: 'string' },
    action: { type: 'string' },
    target: orNull({ type: 'string' }),
    source: orNull({ type: 'string' }),
    outcome: { enum: ['ok', 'denied', 'failed'] },
    details: orNull({ type: 'object' }),
  },
};

export const adminApi = section(import.meta.url, {
  tag: {
    name: 'Security administration',
    description: 'Credentials (issue, rotate with an overlap, revoke, expiry) and the audit log, with an administrator key.',
  },
  owns: ['/admin/'],
  paths: {
    '/admin/v1/credentials': {
      get: {
        summary: 'List credentials',
        security: SECURITY.admin,
        parameters: [queryParam('kind', 'Only this kind.', kind), queryParam('partner', 'Only this partner’s.')],
        responses: { '200': json('The credentials.', credentialList()), ...errors(400, 401) },
      },
      post: {
        summary: 'Issue a credential',
        security: SECURITY.admin,
        requestBody: jsonBody(ISSUE, { kind: 'api-key', partner: 'northwind', scopes: ['asn:write', 'status:read'] }),
        responses: { '201': json('Issued; a secret is shown this once.', ISSUED), ...errors(400, 401, 404) },
      },
    },
    '/admin/v1/credentials/rotate': {
      post: {
        summary: 'Rotate: issue a new credential, the current ones of that kind retiring after the overlap',
        security: SECURITY.admin,
        requestBody: jsonBody(ISSUE, { kind: 'webhook-secret', partner: 'northwind', overlapSeconds: 86400 }),
        responses: { '201': json('The new credential, its secret once, and those retiring.', ISSUED), ...errors(400, 401, 404) },
      },
    },
    '/admin/v1/credentials/{kind}/{ref}/revoke': {
      post: {
        summary: 'Revoke a credential at once',
        security: SECURITY.admin,
        parameters: [pathParam('kind', 'The credential kind.', kind, 'api-key'), pathParam('ref', 'The credential reference (ref).')],
        responses: {
          '200': json('The revoked credential.', {
            type: 'object',
            required: ['credential'],
            additionalProperties: false,
            properties: { credential: CREDENTIAL },
          }),
          ...errors(400, 401, 404),
        },
      },
    },
    '/admin/v1/credentials/expiring': {
      get: {
        summary: 'Credentials that expire within some days',
        security: SECURITY.admin,
        parameters: [queryParam('withinDays', 'Days ahead (default 30).', { type: 'integer', minimum: 0, maximum: 3650 })],
        responses: { '200': json('Each with daysLeft.', credentialList({ withinDays: { type: 'integer' } })), ...errors(400, 401) },
      },
    },
    '/admin/v1/audit': {
      get: {
        summary: 'Read the audit log, newest first',
        security: SECURITY.admin,
        parameters: [
          queryParam('action', 'Actions starting with this text.'),
          queryParam('actor', 'This actor only.'),
          queryParam('target', 'Targets starting with this text.'),
          queryParam('partner', 'Entries about this partner.'),
          queryParam('since', 'From this instant.', dateTime),
          queryParam('until', 'Before this instant.', dateTime),
          queryParam('before', 'The page cursor: entries older than this id.'),
          queryParam('limit', 'At most this many (default 100).', { type: 'integer', minimum: 1 }),
        ],
        responses: {
          '200': json('The entries.', { type: 'object', required: ['entries'], properties: { entries: { type: 'array', items: AUDIT_ENTRY } } }),
          ...errors(400, 401),
        },
      },
    },
  },
});
