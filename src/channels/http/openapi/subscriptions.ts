import { EVENT_TYPES } from '../../../delivery/subscriptions.js';
import { errors, json, jsonBody, pathParam, SECURITY } from './section.js';

/** Where a broker subscriber publishes (decision 0038, "Broker subscribers"): amqp(s) URLs take exchange and routingKey, nats URLs subject and stream. */
const BROKER_FIELDS = {
  exchange: { type: 'string', description: 'amqp(s) URLs: the exchange to publish to ("" is the default exchange).' },
  routingKey: { type: 'string', minLength: 1, description: 'amqp(s) URLs: the routing key.' },
  subject: { type: 'string', pattern: '^[^\\s*>]{1,255}$', description: 'nats URLs: the JetStream subject to publish to (no wildcards).' },
  stream: {
    type: 'string',
    pattern: '^[^\\s.*>/\\\\]{1,255}$',
    description: 'nats URLs, optional: the stream expected to capture the subject; a publish another stream (or none) would take is refused.',
  },
};

/** A subscription as listed (never its secret). */
const SUBSCRIPTION = {
  type: 'object',
  required: ['id', 'owner', 'partnerId', 'url', 'types', 'description', 'createdAt'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', format: 'uuid' },
    owner: { enum: ['erp', 'partner'] },
    partnerId: {
      anyOf: [{ type: 'string' }, { type: 'null' }],
      description: 'The owning partner, or the one partner an ERP subscription is narrowed to; null: all.',
    },
    url: { type: 'string' },
    types: { type: 'array', items: { enum: [...EVENT_TYPES] } },
    description: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    createdAt: { type: 'string', format: 'date-time' },
    ...BROKER_FIELDS,
  },
};

const CREATED = {
  ...SUBSCRIPTION,
  required: [...SUBSCRIPTION.required, 'secret'],
  properties: { ...SUBSCRIPTION.properties, secret: { type: 'string', description: 'Signs every event (the ERP deliveries’ HMAC scheme); shown here once.' } },
};

/**
 * The subscription calls (decision 0037) under `base`: `/v1/erp/subscriptions` (the ERP's key, every
 * partner's events or one's) and `/v1/subscriptions` (a partner's own events, scope status:read).
 */
export function subscriptionPaths(o: { base: string; erp: boolean; exampleUrl: string }) {
  const security = o.erp ? SECURITY.erp : SECURITY.partner;
  const registration = {
    type: 'object',
    required: ['url', 'types'],
    additionalProperties: false,
    properties: {
      url: {
        type: 'string',
        description:
          `On the subscriber’s allow-list (${o.erp ? 'ERP_EVENT_URLS' : 'the profile’s events.urls'}). https:// (or http://): a webhook, never redirected; ` +
          'amqp://host:port/vhost (amqps://) or nats://host:port: a broker, with exchange and routingKey, or subject (and stream).',
      },
      types: { type: 'array', minItems: 1, items: { enum: [...EVENT_TYPES] } },
      description: { type: 'string' },
      ...BROKER_FIELDS,
      ...(o.erp ? { partnerId: { type: 'string', description: 'Only this partner’s events.' } } : {}),
    },
  };
  return {
    [o.base]: {
      post: {
        summary: o.erp
          ? 'Register a webhook or broker subscriber for events of every partner (or of one)'
          : 'Register a webhook or broker subscriber for the partner’s own events',
        security,
        requestBody: jsonBody(registration, { url: o.exampleUrl, types: ['document.received', 'document.delivered'], description: 'example' }),
        responses: { '201': json('Registered; its secret is in this answer only.', CREATED), ...errors(400, 401, 403, 415, 503) },
      },
      get: {
        summary: 'List the subscriptions',
        security,
        responses: {
          '200': json('Without their secrets.', {
            type: 'object',
            required: ['subscriptions'],
            additionalProperties: false,
            properties: { subscriptions: { type: 'array', items: SUBSCRIPTION } },
          }),
          ...errors(401, 403, 503),
        },
      },
    },
    [`${o.base}/{id}`]: {
      delete: {
        summary: 'Remove a subscription; its queued events are not sent',
        security,
        parameters: [pathParam('id', 'The subscription id.', { type: 'string', format: 'uuid' })],
        responses: { '204': { description: 'Removed.' }, ...errors(400, 401, 403, 404, 503) },
      },
    },
  };
}
