import { errors, json, jsonBody, pathParam, schemaRef, section, SECURITY } from './section.js';

const STATES = ['onboarding', 'testing', 'live', 'suspended'];
const dateOrNull = { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] };

const LIFECYCLE = {
  type: 'object',
  required: ['state', 'yaml', 'database', 'applies'],
  properties: {
    state: { enum: STATES },
    yaml: { enum: STATES, description: 'The state in partners/<id>.yaml.' },
    database: { anyOf: [{ enum: STATES }, { type: 'null' }], description: 'A move made through this API, when there is one.' },
    applies: { enum: ['yaml', 'database'] },
    testingSince: dateOrNull,
    liveSince: dateOrNull,
    approval: { anyOf: [{ type: 'object', required: ['by', 'at'], properties: { by: { type: 'string' }, at: { type: 'string' } } }, { type: 'null' }] },
  },
};

const PARTNER = {
  type: 'object',
  required: ['id', 'name', 'lifecycle', 'checklist'],
  additionalProperties: false,
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    lifecycle: LIFECYCLE,
    checklist: {
      type: 'array',
      items: {
        type: 'object',
        required: ['item', 'done', 'detail'],
        properties: { item: { type: 'string' }, done: { type: 'boolean' }, detail: { type: 'string' } },
      },
    },
  },
};

const partnerId = pathParam('id', 'The partner id.', { type: 'string' }, 'hansen-textil');

export const partnersApi = section(import.meta.url, {
  tag: {
    name: 'Partner lifecycle',
    description:
      'Onboarding → testing → live → suspended, the checklist, a named approval and the go-live (decision 0034). ' +
      'An administrator key, or a portal session of the partner-manager or admin role.',
  },
  owns: ['/partners/'],
  paths: {
    '/partners/v1/whoami': {
      get: {
        summary: 'Who calls, and a session’s CSRF token',
        security: SECURITY.staff,
        responses: { '200': json('The caller.', schemaRef('Actor')), ...errors(401, 403) },
      },
    },
    '/partners/v1/partners': {
      get: {
        summary: 'Every partner with its lifecycle',
        security: SECURITY.staff,
        responses: {
          '200': json('The partners.', {
            type: 'object',
            required: ['partners'],
            properties: {
              partners: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['id', 'name', 'lifecycle'],
                  properties: { id: { type: 'string' }, name: { type: 'string' }, lifecycle: LIFECYCLE },
                },
              },
            },
          }),
          ...errors(401, 403),
        },
      },
    },
    '/partners/v1/partners/{id}': {
      get: {
        summary: 'One partner, its lifecycle and checklist',
        security: SECURITY.staff,
        parameters: [partnerId],
        responses: { '200': json('The partner.', PARTNER), ...errors(401, 403, 404) },
      },
    },
    '/partners/v1/partners/{id}/state': {
      post: {
        summary: 'Move the partner to a state (going live is POST …/go-live)',
        security: SECURITY.staff,
        parameters: [partnerId],
        requestBody: jsonBody({ type: 'object', required: ['state'], properties: { state: { enum: STATES } } }, { state: 'suspended' }),
        responses: { '200': json('The partner after the move.', PARTNER), ...errors(400, 401, 403, 404, 409) },
      },
    },
    '/partners/v1/partners/{id}/approval': {
      post: {
        summary: 'Record the named approval the go-live needs',
        security: SECURITY.staff,
        parameters: [partnerId],
        requestBody: jsonBody(
          { type: 'object', required: ['approvedBy'], properties: { approvedBy: { type: 'string', minLength: 1 } } },
          { approvedBy: 'Dana Ortiz (partner manager)' },
        ),
        responses: { '200': json('The partner with its approval.', PARTNER), ...errors(400, 401, 403, 404, 409) },
      },
    },
    '/partners/v1/partners/{id}/go-live': {
      post: {
        summary: 'Go live: the checklist done and approved',
        security: SECURITY.staff,
        parameters: [partnerId],
        responses: { '200': json('The partner, live.', PARTNER), ...errors(401, 403, 404, 409) },
      },
    },
  },
});
