import { EXCEPTION_ACTIONS, EXCEPTION_STATES, HOLD_DECISIONS, HOLD_STATES } from '../../../pipeline/business-exceptions.js';
import { SEARCH_LIMIT_MAX } from '../../../pipeline/message-search.js';
import { BULK_ACTION_MAX, OPS_ACTIONS } from '../../../pipeline/ops-actions.js';
import { STATS_WINDOWS } from '../../../pipeline/ops-stats.js';
import { RULE_NAMES } from '../../../pipeline/po-tolerances.js';
import { FILTER_NAMES } from '../routes/ops.js';
import { LIST_MAX } from '../routes/ops-business.js';
import { poNumberParam } from './erp.js';
import { errors, json, jsonBody, pathParam, queryParam, schemaRef, section, SECURITY, type Paths } from './section.js';

const messageId = pathParam('id', 'The message id.', { type: 'string', format: 'uuid' });
const limit = queryParam('limit', 'Page size (default 50).', { type: 'integer', minimum: 1, maximum: SEARCH_LIMIT_MAX });
const cursor = queryParam('cursor', 'nextCursor of the previous page.');
const page = (name: string, item: object) => ({
  type: 'object',
  required: [name, 'nextCursor'],
  properties: { [name]: { type: 'array', items: item }, nextCursor: { anyOf: [{ type: 'string' }, { type: 'null' }] } },
});

const FILTER = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(
    FILTER_NAMES.map((n) => [n, n === 'receivedFrom' || n === 'receivedTo' ? { type: 'string', format: 'date-time' } : { type: 'string' }]),
  ),
};
const OUTCOME = {
  type: 'object',
  required: ['messageId', 'action', 'deliveries'],
  additionalProperties: false,
  properties: { messageId: { type: 'string' }, action: { enum: ['reinterpret', 'redeliver'] }, deliveries: { type: 'integer' } },
};
const BULK = {
  type: 'object',
  required: ['selected', 'more', 'outcomes'],
  additionalProperties: false,
  properties: {
    selected: { type: 'integer' },
    more: { type: 'boolean', description: 'More matched than limit: ask again to go on.' },
    outcomes: {
      type: 'array',
      items: { type: 'object', required: ['messageId', 'outcome'], properties: { messageId: { type: 'string' }, outcome: { type: 'string' } } },
    },
  },
};
const anyObject = { type: 'object' };

/** Replay (interpret again from the raw bytes) and redeliver (send the documents again): one message, or many by filter. */
function actionPaths(): Paths {
  const paths: Paths = {};
  for (const action of OPS_ACTIONS) {
    paths[`/ops/v1/messages/${action}`] = {
      post: {
        summary: `Bulk ${action}: the newest messages matching a filter (at most ${BULK_ACTION_MAX})`,
        security: SECURITY.staff,
        requestBody: jsonBody(
          {
            type: 'object',
            required: ['confirm'],
            properties: { filter: FILTER, confirm: { const: true }, limit: { type: 'integer', minimum: 1, maximum: BULK_ACTION_MAX } },
          },
          { filter: { partner: 'northwind', state: 'failed' }, confirm: true, limit: 50 },
        ),
        responses: { '200': json('Each selected message’s outcome.', BULK), ...errors(400, 401, 403, 422) },
      },
    };
    paths[`/ops/v1/messages/{id}/${action}`] = {
      post: {
        summary: `${action[0]?.toUpperCase()}${action.slice(1)} one message`,
        security: SECURITY.staff,
        parameters: [messageId],
        responses: { '200': json('What was done.', OUTCOME), ...errors(401, 403, 404, 409) },
      },
    };
  }
  return paths;
}

const businessLimit = queryParam('limit', 'At most this many, newest first (default 50).', { type: 'integer', minimum: 1, maximum: LIST_MAX });
const items = (name: string) => ({
  type: 'object',
  required: ['items'],
  additionalProperties: false,
  properties: { items: { type: 'array', items: schemaRef(name) } },
});
const note = (max: number) => ({ type: 'string', minLength: 1, maxLength: max });

/** Tolerance exceptions, held documents and any partner's PO (decision 0036); every action is audited. */
function businessPaths(): Paths {
  const exceptionId = pathParam('id', 'The exception id.', { type: 'string', format: 'uuid' });
  const documentId = pathParam('id', 'The held document’s id (documentId of GET /ops/v1/holds).', { type: 'string', format: 'uuid' });
  return {
    '/ops/v1/exceptions': {
      get: {
        summary: 'Tolerance exceptions, newest first',
        security: SECURITY.staff,
        parameters: [
          queryParam('state', 'Only in this state.', { enum: [...EXCEPTION_STATES] }),
          queryParam('partner', 'Only this partner’s.'),
          queryParam('rule', 'Only this rule’s.', { enum: [...RULE_NAMES] }),
          queryParam('poNumber', 'Only those about this PO number.'),
          businessLimit,
        ],
        responses: { '200': json('The exceptions.', items('BusinessException')), ...errors(400, 401, 403) },
      },
    },
    '/ops/v1/exceptions/{id}': {
      get: {
        summary: 'One tolerance exception, with its document’s hold',
        security: SECURITY.staff,
        parameters: [exceptionId],
        responses: { '200': json('The exception.', schemaRef('BusinessException')), ...errors(401, 403, 404) },
      },
    },
    '/ops/v1/exceptions/{id}/{action}': {
      post: {
        summary: 'Assign, resolve or waive an exception',
        description:
          'assign needs an assignee; resolve needs a note saying how; waive takes an optional note. ' +
          'A resolved or waived exception is final (409 GW_EXCEPTION_STATE). Releasing a held document is a separate decision.',
        security: SECURITY.staff,
        parameters: [exceptionId, pathParam('action', 'What to do.', { enum: [...EXCEPTION_ACTIONS] }, 'assign')],
        requestBody: jsonBody(
          { type: 'object', properties: { assignee: note(200), note: note(2000) } },
          { assignee: 'rita' },
          'assignee (assign) or note (resolve, waive).',
        ),
        responses: { '200': json('The exception now.', schemaRef('BusinessException')), ...errors(400, 401, 403, 404, 409, 413, 422) },
      },
    },
    '/ops/v1/holds': {
      get: {
        summary: 'Documents held back from delivery by a tolerance rule, newest first',
        security: SECURITY.staff,
        parameters: [queryParam('state', 'Only in this state.', { enum: [...HOLD_STATES] }), businessLimit],
        responses: { '200': json('The held documents.', items('DocumentHold')), ...errors(400, 401, 403) },
      },
    },
    '/ops/v1/documents/{id}/{decision}': {
      post: {
        summary: 'Release a held document (its deliveries are queued) or reject it (never delivered)',
        description: 'reject needs a note saying why. Either is final (409 GW_EXCEPTION_STATE).',
        security: SECURITY.staff,
        parameters: [documentId, pathParam('decision', 'The decision.', { enum: [...HOLD_DECISIONS] }, 'release')],
        requestBody: {
          required: false,
          content: {
            'application/json': {
              schema: { type: 'object', properties: { note: note(2000) } },
              example: { note: 'Confirmed with the buyer by phone.' },
            },
          },
        },
        responses: { '200': json('The decision made.', schemaRef('HoldDecision')), ...errors(400, 401, 403, 404, 409, 413, 422) },
      },
    },
    '/ops/v1/purchase-orders/{po}': {
      get: {
        summary: 'Any partner’s purchase order with its timeline and exceptions',
        security: SECURITY.staff,
        parameters: [
          poNumberParam('The purchase order number.'),
          queryParam('partner', 'The partner id: needed when two partners use the number (409 GW_PO_AMBIGUOUS otherwise).'),
        ],
        responses: { '200': json('The PO.', schemaRef('PurchaseOrderLedger')), ...errors(400, 401, 403, 404, 409) },
      },
    },
  };
}

export const opsApi = section(import.meta.url, {
  tag: {
    name: 'Operations API',
    description:
      'Find messages by business keys, read one with its raw bytes, replay or redeliver, dead letters and late work (decision 0024); ' +
      'tolerance exceptions, held documents and any partner’s purchase order (decision 0036). ' +
      'An administrator key, or a portal session of the operations or admin role (POSTs then carry X-CSRF-Token).',
  },
  owns: ['/ops/'],
  paths: {
    '/ops/v1/whoami': {
      get: {
        summary: 'Who calls, and a session’s CSRF token',
        security: SECURITY.staff,
        responses: { '200': json('The caller.', schemaRef('Actor')), ...errors(401, 403) },
      },
    },
    '/ops/v1/messages': {
      get: {
        summary: 'Search messages, newest first',
        security: SECURITY.staff,
        parameters: [...FILTER_NAMES.map((n) => queryParam(n, `Filter: ${n}.`)), limit, cursor],
        responses: { '200': json('One page.', page('messages', anyObject)), ...errors(400, 401, 403) },
      },
    },
    '/ops/v1/messages/{id}': {
      get: {
        summary: 'One message with its documents, deliveries and timeline',
        security: SECURITY.staff,
        parameters: [messageId],
        responses: { '200': json('The message.', schemaRef('MessageStatus')), ...errors(401, 403, 404) },
      },
    },
    '/ops/v1/messages/{id}/raw': {
      get: {
        summary: 'Download the message’s bytes as they arrived (or as sent)',
        security: SECURITY.staff,
        parameters: [messageId],
        responses: {
          '200': {
            description: 'The raw bytes, as an attachment, with the Content-Type they arrived with.',
            content: {
              'application/octet-stream': { schema: { type: 'string' } },
              'application/json': { schema: { description: 'A JSON message: its bytes as they arrived, whatever their shape.' } },
            },
          },
          ...errors(401, 403, 404),
        },
      },
    },
    ...actionPaths(),
    '/ops/v1/dead-letters': {
      get: {
        summary: 'Dead deliveries, the most recent first',
        security: SECURITY.staff,
        parameters: [queryParam('partner', 'This partner’s only.'), queryParam('target', 'This target’s only.'), limit, cursor],
        responses: { '200': json('One page.', page('deadLetters', anyObject)), ...errors(400, 401, 403) },
      },
    },
    '/ops/v1/stats': {
      get: {
        summary: 'Counts and latencies per hour or day, per partner, and the queue',
        security: SECURITY.staff,
        parameters: [queryParam('window', 'The window (default 24h).', { enum: Object.keys(STATS_WINDOWS) }), queryParam('partner', 'One partner only.')],
        responses: {
          '200': json('The statistics.', {
            type: 'object',
            required: ['window', 'unit', 'since', 'until', 'buckets', 'partners', 'queue'],
            properties: {
              window: { type: 'string' },
              unit: { enum: ['hour', 'day'] },
              buckets: { type: 'array' },
              partners: { type: 'array' },
              queue: { type: 'array' },
            },
          }),
          ...errors(400, 401, 403),
        },
      },
    },
    ...businessPaths(),
    '/ops/v1/stuck': {
      get: {
        summary: 'Late work: deliveries past due or unanswered, acknowledgments overdue',
        security: SECURITY.staff,
        parameters: [queryParam('olderThanMinutes', 'Late by at least this (default 15).', { type: 'integer', minimum: 0 }), limit],
        responses: {
          '200': json('The late work.', {
            type: 'object',
            required: ['olderThanMinutes', 'pastDue', 'awaitingAnswer', 'overdueAcknowledgments'],
            properties: {
              olderThanMinutes: { type: 'integer' },
              pastDue: { type: 'array' },
              awaitingAnswer: { type: 'array' },
              overdueAcknowledgments: { type: 'array' },
            },
          }),
          ...errors(400, 401, 403),
        },
      },
    },
  },
});
