import { EXCEPTION_STATES, HOLD_STATES } from '../../../pipeline/business-exceptions.js';
import { PO_STATUSES, RULE_NAMES } from '../../../pipeline/po-tolerances.js';
import type { Schema } from './section.js';

/*
 * The purchase-order ledger's answers (decision 0036) as shared schemas: a PO with its timeline
 * (pipeline/purchase-order-views.ts), a tolerance exception and a held document
 * (pipeline/business-exceptions.ts). Partners, the ERP and operations read the same PO; only the
 * partner's copy leaves the exceptions out.
 */

const dateTime = { type: 'string', format: 'date-time' };
const date = { type: 'string', format: 'date' };
const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: 'null' }] });
const uuid = { type: 'string', format: 'uuid' };
const quantity = { type: 'number' };

/** A broken tolerance's consequence: delivered anyway, or held for a person (types.ts RuleAction). */
const RULE_ACTION = { enum: ['deliver', 'hold'] };
const HOLD_STATE = { enum: [...HOLD_STATES] };

const PO_LINE: Schema = {
  type: 'object',
  required: ['lineNumber', 'item', 'unit', 'unitPrice', 'ordered', 'confirmed', 'confirmedDate', 'shipped', 'invoiced'],
  additionalProperties: false,
  properties: {
    lineNumber: { type: 'string' },
    item: {
      type: 'object',
      description: 'How the order named the item.',
      additionalProperties: false,
      properties: { buyerSku: { type: 'string' }, vendorSku: { type: 'string' }, upc: { type: 'string' }, description: { type: 'string' } },
    },
    unit: { type: 'string' },
    unitPrice: nullable({ type: 'number' }),
    ordered: quantity,
    confirmed: nullable({ ...quantity, description: 'What the supplier’s po-ack confirmed; null until one came.' }),
    confirmedDate: nullable(date),
    shipped: quantity,
    invoiced: quantity,
  },
};

/** What one document set (confirmed) or added (shipped, invoiced) on a line. */
const LINE_CHANGE: Schema = {
  type: 'object',
  required: ['line'],
  additionalProperties: false,
  properties: { line: { type: 'string' }, confirmed: quantity, confirmedDate: date, shipped: quantity, invoiced: quantity },
};

const STEP: Schema = {
  type: 'object',
  description: 'A document that named the PO, and where the PO stood after it.',
  required: ['at', 'type', 'documentNumber', 'documentId', 'messageId', 'changes', 'status', 'lines'],
  additionalProperties: false,
  properties: {
    at: dateTime,
    type: { type: 'string', examples: ['purchase-order', 'po-ack', 'asn', 'invoice'] },
    documentNumber: nullable({ type: 'string' }),
    documentId: nullable(uuid),
    messageId: nullable(uuid),
    changes: { type: 'array', items: { $ref: '#/components/schemas/PurchaseOrderLineChange' } },
    status: { $ref: '#/components/schemas/PurchaseOrderStatus' },
    lines: {
      type: 'array',
      description: 'Each line’s quantities after this step.',
      items: {
        type: 'object',
        required: ['lineNumber', 'ordered', 'confirmed', 'shipped', 'invoiced'],
        additionalProperties: false,
        properties: { lineNumber: { type: 'string' }, ordered: quantity, confirmed: nullable(quantity), shipped: quantity, invoiced: quantity },
      },
    },
    hold: { ...HOLD_STATE, description: 'The document waits for a person (held), or was released or rejected.' },
  },
};

const PO_PROPERTIES = {
  partnerId: { type: 'string' },
  purchaseOrderNumber: { type: 'string' },
  source: { enum: ['sent', 'registered'], description: 'sent by the gateway, or registered by the ERP (sent to the partner another way).' },
  status: { $ref: '#/components/schemas/PurchaseOrderStatus' },
  orderDate: nullable(date),
  currency: nullable({ type: 'string' }),
  messageId: nullable({ ...uuid, description: 'The outbound message that sent it; null when registered.' }),
  lines: { type: 'array', items: PO_LINE },
  timeline: { type: 'array', items: STEP },
};
const PO_REQUIRED = Object.keys(PO_PROPERTIES);

const PO_EXCEPTION: Schema = {
  type: 'object',
  required: ['id', 'rule', 'action', 'state', 'documentId', 'facts'],
  additionalProperties: false,
  properties: {
    id: uuid,
    rule: { $ref: '#/components/schemas/ToleranceRule' },
    action: RULE_ACTION,
    state: { $ref: '#/components/schemas/ExceptionState' },
    documentId: uuid,
    facts: { type: 'object' },
  },
};

const HOLD = {
  type: 'object',
  description: 'A document a tolerance rule holds back from delivery until a person releases or rejects it.',
  required: ['documentId', 'messageId', 'partnerId', 'state', 'decidedBy', 'note', 'heldAt', 'decidedAt'],
  additionalProperties: false,
  properties: {
    documentId: uuid,
    messageId: uuid,
    partnerId: { type: 'string' },
    state: HOLD_STATE,
    decidedBy: nullable({ type: 'string' }),
    note: nullable({ type: 'string' }),
    heldAt: dateTime,
    decidedAt: nullable(dateTime),
  },
};

export const PURCHASE_ORDER_SCHEMAS: Record<string, Schema> = {
  PurchaseOrderStatus: {
    enum: [...PO_STATUSES],
    description: 'Where a PO stands, from its lines: ordered → acknowledged → partially-shipped → shipped → invoiced.',
  },
  PurchaseOrderLineChange: LINE_CHANGE,
  ToleranceRule: { enum: [...RULE_NAMES], description: 'The tolerance rule an exception broke (docs/business.md).' },
  ExceptionState: { enum: [...EXCEPTION_STATES], description: 'open → assigned → resolved or waived (final).' },
  PurchaseOrderLedger: {
    type: 'object',
    description: 'A PO with its lines, the timeline of the documents that named it, and its tolerance exceptions.',
    required: [...PO_REQUIRED, 'exceptions'],
    additionalProperties: false,
    properties: { ...PO_PROPERTIES, exceptions: { type: 'array', items: PO_EXCEPTION } },
  },
  PartnerPurchaseOrder: {
    type: 'object',
    description: 'One of the partner’s POs with its lines and the timeline of its documents (whether one is held); exceptions stay internal.',
    required: PO_REQUIRED,
    additionalProperties: false,
    properties: PO_PROPERTIES,
  },
  PurchaseOrderSummary: {
    type: 'object',
    required: ['purchaseOrderNumber', 'status', 'source', 'orderDate', 'updatedAt'],
    additionalProperties: false,
    properties: {
      purchaseOrderNumber: { type: 'string' },
      status: { $ref: '#/components/schemas/PurchaseOrderStatus' },
      source: PO_PROPERTIES.source,
      orderDate: nullable(date),
      updatedAt: dateTime,
    },
  },
  BusinessException: {
    type: 'object',
    description: 'A broken tolerance raised as a document was accepted, and what people did about it.',
    required: [
      'id',
      'partnerId',
      'rule',
      'action',
      'facts',
      'documentId',
      'messageId',
      'poNumber',
      'state',
      'assignee',
      'note',
      'changedBy',
      'createdAt',
      'updatedAt',
      'hold',
    ],
    additionalProperties: false,
    properties: {
      id: uuid,
      partnerId: { type: 'string' },
      rule: { $ref: '#/components/schemas/ToleranceRule' },
      action: RULE_ACTION,
      facts: { type: 'object', description: 'What broke the rule (quantities, dates, prices), the line and a message.' },
      documentId: uuid,
      messageId: uuid,
      poNumber: nullable({ type: 'string' }),
      state: { $ref: '#/components/schemas/ExceptionState' },
      assignee: nullable({ type: 'string' }),
      note: nullable({ type: 'string' }),
      changedBy: nullable({ type: 'string', description: 'The actor of the last change.' }),
      createdAt: dateTime,
      updatedAt: dateTime,
      hold: nullable({ ...HOLD_STATE, description: 'The document’s hold, when its rule held it.' }),
    },
  },
  DocumentHold: HOLD,
  HoldDecision: {
    ...HOLD,
    description: 'The held document after the decision; a release queued `deliveries` through the outbox.',
    required: [...HOLD.required, 'deliveries'],
    properties: { ...HOLD.properties, deliveries: { type: 'integer', minimum: 0 } },
  },
};
