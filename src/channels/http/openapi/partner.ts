import { MEDIA_TYPES } from '../../../pipeline/interpret.js';
import { poNumberParam } from './erp.js';
import { subscriptionPaths } from './subscriptions.js';
import { errors, json, pathParam, queryParam, schemaRef, section, SECURITY } from './section.js';

/** A ship notice in the demo partner Northwind's own JSON (mappings/northwind/samples/asn.json). */
const NORTHWIND_ASN = {
  documentType: 'ship-notice',
  shipmentNumber: 'NW-SH-10045',
  shippedOn: '2026-11-20',
  tracking: { carrier: 'UPSN', number: '1Z999AA10123456784' },
  purchaseOrders: [
    {
      number: 'PO-44120',
      lines: [
        { line: '1', sku: 'NW-CHAI-12', gtin: '00012345678905', description: 'Chai tea, 12 boxes', quantity: 12, uom: 'CS' },
        { line: '2', sku: 'NW-SYRUP-6', description: 'Aniseed syrup', quantity: 6, uom: 'EA' },
      ],
    },
  ],
};

const messageId = pathParam('id', 'The message id (a UUID), from the receipt or the Location header.', { type: 'string', format: 'uuid' });
const documentId = pathParam('id', 'An outbound document id from GET /v1/outbound.', { type: 'string', format: 'uuid' });

const MAILBOX_ITEM = {
  type: 'object',
  required: ['id', 'type', 'fileName'],
  additionalProperties: true,
  properties: {
    id: { type: 'string', format: 'uuid' },
    type: { type: 'string', examples: ['purchase-order', '997', '999'] },
    fileName: { type: 'string' },
    contentType: { type: 'string' },
  },
};

/** Anything a partner sends is taken as the bytes it is: the mapping profile of the partner decides what it becomes. */
const anyBody = Object.fromEntries(Object.keys(MEDIA_TYPES).map((t) => [t, { schema: { type: 'string' } }]));

export const partnerApi = section(import.meta.url, {
  tag: {
    name: 'Partner API',
    description:
      "A supplier's own calls, with its API key, OAuth access token or pinned client certificate: send documents in its own format, " +
      'follow them, and collect what the gateway has for it. The examples are those of the demo partner Northwind.',
  },
  owns: ['/v1/messages', '/v1/outbound', '/v1/subscriptions', '/v1/purchase-orders'],
  paths: {
    ...subscriptionPaths({ base: '/v1/subscriptions', erp: false, exampleUrl: 'https://hooks.northwind.example/gateway/events' }),
    '/v1/messages': {
      post: {
        summary: 'Send a document (ship notice, invoice, …) in the partner’s own format',
        description:
          'The body is stored before the answer (202): it is then interpreted, mapped by the partner’s profile, validated and routed. ' +
          'The scope needed is the write scope of the document types the partner sends in that format.',
        security: SECURITY.partner,
        parameters: [
          {
            name: 'Idempotency-Key',
            in: 'header',
            description: 'Repeat it on a retry: the first message is answered, not a second one.',
            schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
          },
          {
            name: 'X-Correlation-Id',
            in: 'header',
            description: 'Your id for the request, kept on the message’s timeline.',
            schema: { type: 'string', pattern: '^[\\w.:-]{1,128}$' },
          },
        ],
        requestBody: { required: true, content: { ...anyBody, 'application/json': { schema: { type: 'object' }, example: NORTHWIND_ASN } } },
        responses: {
          '202': json('Stored; follow statusUrl.', schemaRef('Receipt')),
          ...errors(400, 401, 403, 413, 415, 429, 503),
        },
      },
    },
    '/v1/messages/{id}': {
      get: {
        summary: 'Follow one of the partner’s messages',
        security: SECURITY.partner,
        parameters: [messageId],
        responses: { '200': json('The message, its documents, deliveries and timeline.', schemaRef('MessageStatus')), ...errors(401, 403, 404) },
      },
    },
    '/v1/purchase-orders': {
      get: {
        summary: 'List the partner’s purchase orders and where each stands, newest first',
        description: 'The POs the gateway sent the partner and those the ERP registered (decision 0036). Needs the po:read scope.',
        security: SECURITY.partner,
        parameters: [queryParam('limit', 'At most this many (default 50).', { type: 'integer', minimum: 1, maximum: 500 })],
        responses: {
          '200': json('The POs.', {
            type: 'object',
            required: ['items'],
            additionalProperties: false,
            properties: { items: { type: 'array', items: schemaRef('PurchaseOrderSummary') } },
          }),
          ...errors(400, 401, 403),
        },
      },
    },
    '/v1/purchase-orders/{po}': {
      get: {
        summary: 'One purchase order: its lines’ ordered, confirmed, shipped and invoiced quantities, and the documents that named it',
        description: 'Each step of the timeline says whether the document is held for the buyer’s review. Needs the po:read scope.',
        security: SECURITY.partner,
        parameters: [poNumberParam('The purchase order number.')],
        responses: { '200': json('The PO.', schemaRef('PartnerPurchaseOrder')), ...errors(400, 401, 403, 404) },
      },
    },
    '/v1/outbound': {
      get: {
        summary: 'List the mailbox: purchase orders and acknowledgments not collected yet',
        security: SECURITY.partner,
        responses: {
          '200': json('Items the credential’s scopes may read (po:read, ack:read).', {
            type: 'object',
            required: ['items'],
            additionalProperties: false,
            properties: { items: { type: 'array', items: MAILBOX_ITEM } },
          }),
          ...errors(401, 403),
        },
      },
    },
    '/v1/outbound/{id}': {
      get: {
        summary: 'Read one mailbox document as rendered for the partner (X12, cXML, JSON)',
        security: SECURITY.partner,
        parameters: [documentId],
        responses: {
          '200': {
            description: 'The document’s bytes; X-Gateway-Document-Type names its type.',
            headers: { 'X-Gateway-Document-Type': { schema: { type: 'string' } } },
            content: {
              'application/edi-x12': { schema: { type: 'string' } },
              'application/xml': { schema: { type: 'string' } },
              'application/json': { schema: { description: 'The partner’s own JSON, as its outbound mapping renders it.' } },
            },
          },
          ...errors(401, 403, 404),
        },
      },
      delete: {
        summary: 'Collect a mailbox document: it leaves the mailbox (SFTP’s /outbound alike)',
        security: SECURITY.partner,
        parameters: [documentId],
        responses: { '204': { description: 'Collected.' }, ...errors(401, 403, 404) },
      },
    },
  },
});
