import { MEDIA_TYPES } from '../../../pipeline/interpret.js';
import { errors, json, pathParam, schemaRef, section, SECURITY } from './section.js';

/** An invoice in the demo partner Northwind's JSON (mappings/northwind/samples/invoice.json), as a SaaS platform would post it. */
const NORTHWIND_INVOICE_EVENT = {
  documentType: 'invoice',
  invoiceNumber: 'NW-INV-2231',
  issuedOn: '2026-11-21',
  purchaseOrder: 'PO-44120',
  currency: 'usd',
  lines: [
    { line: '1', sku: 'NW-CHAI-12', quantity: 12, uom: 'CS', unitPrice: 18.0 },
    { line: '2', sku: 'NW-SYRUP-6', quantity: 6, uom: 'EA', unitPrice: 10.0 },
  ],
  total: 276.0,
};

export const webhookApi = section(import.meta.url, {
  tag: {
    name: 'Webhooks',
    description:
      'Events from SaaS platforms acting for a partner. No API key: the HMAC signature over timestamp and body is the credential, ' +
      'checked with the partner’s active webhook secrets. A signed request is accepted once.',
  },
  owns: ['/v1/webhooks'],
  paths: {
    '/v1/webhooks/{partner}': {
      post: {
        summary: 'Deliver a signed event for a partner',
        security: SECURITY.webhook,
        parameters: [pathParam('partner', 'The partner id (its profile’s id).', { type: 'string' }, 'northwind')],
        requestBody: {
          required: true,
          content: {
            ...Object.fromEntries(Object.keys(MEDIA_TYPES).map((t) => [t, { schema: { type: 'string' } }])),
            'application/json': { schema: { type: 'object' }, example: NORTHWIND_INVOICE_EVENT },
          },
        },
        responses: {
          '202': json('Stored; the receipt’s statusUrl is for the partner’s credentials.', schemaRef('Receipt')),
          ...errors(400, 401, 403, 409, 413, 415, 429, 503),
        },
      },
    },
  },
});
