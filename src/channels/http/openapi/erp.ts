import { subscriptionPaths } from './subscriptions.js';
import { errors, json, jsonBody, pathParam, queryParam, schemaRef, section, SECURITY } from './section.js';

/** A canonical purchase order, as the ERP sends one. */
const ORDER = {
  purchaseOrderNumber: 'PO-20261123-01',
  orderDate: '2026-11-23',
  currency: 'USD',
  requestedDeliveryDate: '2026-12-01',
  shipTo: { name: 'Distributor DC East', id: '0099', street: '1 Dock Rd', city: 'Newark', region: 'NJ', postalCode: '07101', country: 'US' },
  lines: [
    { lineNumber: '1', buyerSku: 'INT-100', vendorSku: '87787D', upc: '999999310145', description: 'BLUE WIDGET', quantity: 24, unit: 'each', unitPrice: 1.25 },
    { lineNumber: '2', vendorSku: '99887D', quantity: 2, unit: 'case', unitPrice: 30 },
  ],
};

/**
 * A PO the ERP sent Northwind by mail, registered so Northwind's documents are linked to it. The
 * partner, ERP and operations examples read this number back.
 */
export const REGISTERED_ORDER = {
  purchaseOrderNumber: 'PO-20261130-07',
  orderDate: '2026-11-30',
  currency: 'USD',
  lines: [
    { lineNumber: '1', vendorSku: 'NW-CHAI-12', description: 'Chai tea, 12 boxes', quantity: 12, unit: 'case', unitPrice: 18 },
    { lineNumber: '2', vendorSku: 'NW-SYRUP-6', description: 'Aniseed syrup', quantity: 6, unit: 'each', unitPrice: 10 },
  ],
};

/** The path parameter of a PO number; its example is the registered PO. */
export const poNumberParam = (description: string) =>
  pathParam('po', description, { type: 'string', minLength: 1, maxLength: 100 }, REGISTERED_ORDER.purchaseOrderNumber);

const SENT = {
  type: 'object',
  required: ['messageId', 'duplicate', 'format', 'fileName', 'statusUrl'],
  additionalProperties: false,
  properties: {
    messageId: { type: 'string', format: 'uuid' },
    duplicate: { type: 'boolean' },
    format: { type: 'string', examples: ['x12', 'edifact', 'xml', 'json'] },
    fileName: { type: 'string' },
    statusUrl: { type: 'string' },
    interchangeControl: { type: 'string', description: 'X12 partners: ISA13 of the interchange; EDIFACT partners: UNB 0020.' },
    groupControl: { type: ['string', 'integer'] },
    setControl: { type: 'string', description: 'X12: ST02; EDIFACT: UNH 0062.' },
  },
};

export const erpApi = section(import.meta.url, {
  tag: { name: 'ERP API', description: 'The ERP’s calls, with its service key: purchase orders to send to a partner, and the status of any message.' },
  owns: ['/v1/erp/'],
  paths: {
    ...subscriptionPaths({ base: '/v1/erp/subscriptions', erp: true, exampleUrl: 'https://erp.example.com/gateway-events' }),
    '/v1/erp/partners/{partner}/purchase-orders': {
      post: {
        summary: 'Send a canonical purchase order to a partner, rendered in its format and over its channel',
        security: SECURITY.erp,
        parameters: [
          pathParam('partner', 'The partner id.', { type: 'string' }, 'acme-supply'),
          {
            name: 'Idempotency-Key',
            in: 'header',
            description: 'The same key answers the first order again (200), never a second one.',
            schema: { type: 'string' },
          },
        ],
        requestBody: jsonBody(schemaRef('PurchaseOrder'), ORDER),
        responses: {
          '201': json('Rendered and queued for delivery; Location is the status URL.', SENT),
          '200': json('The Idempotency-Key named an earlier order: that one is answered.', SENT),
          ...errors(400, 401, 404, 409, 413, 415, 422, 503),
        },
      },
    },
    '/v1/erp/partners/{partner}/purchase-orders/registered': {
      post: {
        summary: 'Register a purchase order the ERP sent the partner another way (mail, the partner’s portal)',
        description:
          'Checked against the canonical purchase order and entered in the ledger (decision 0036): the partner’s po-acks, ' +
          'ship notices and invoices are then linked to it and checked against its tolerances, like those of a PO the gateway sent. ' +
          'Nothing is sent to the partner.',
        security: SECURITY.erp,
        parameters: [pathParam('partner', 'The partner id.', { type: 'string' }, 'northwind')],
        requestBody: jsonBody(schemaRef('PurchaseOrder'), REGISTERED_ORDER),
        responses: {
          '201': json('Registered; Location is its ledger URL.', schemaRef('PurchaseOrderLedger')),
          ...errors(400, 401, 404, 409, 413, 415, 422),
        },
      },
    },
    '/v1/erp/purchase-orders/{po}': {
      get: {
        summary: 'A purchase order’s ledger: its lines, the documents that named it, its tolerance exceptions',
        security: SECURITY.erp,
        parameters: [
          poNumberParam('The purchase order number.'),
          queryParam('partner', 'The partner id: needed when two partners use the number (409 GW_PO_AMBIGUOUS otherwise).'),
        ],
        responses: {
          '200': json('The PO, sent or registered.', schemaRef('PurchaseOrderLedger')),
          ...errors(400, 401, 404, 409),
        },
      },
    },
    '/v1/erp/messages/{id}': {
      get: {
        summary: 'Follow any message, inbound or outbound',
        security: SECURITY.erp,
        parameters: [pathParam('id', 'The message id.', { type: 'string', format: 'uuid' })],
        responses: { '200': json('The message, its documents, deliveries and timeline.', schemaRef('MessageStatus')), ...errors(401, 404) },
      },
    },
  },
});
