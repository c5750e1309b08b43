import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import asnV1 from './asn.v1.schema.json' with { type: 'json' };
import inventoryV1 from './inventory.v1.schema.json' with { type: 'json' };
import invoiceV1 from './invoice.v1.schema.json' with { type: 'json' };
import priceListV1 from './price-list.v1.schema.json' with { type: 'json' };
import poAckV1 from './po-ack.v1.schema.json' with { type: 'json' };
import purchaseOrderV1 from './purchase-order.v1.schema.json' with { type: 'json' };
import type { Problem } from '../errors.js';
import type { DocumentType } from '../types.js';
import type { AsnV1, InventoryV1, InvoiceV1, PoAckV1, PriceListV1, PurchaseOrderV1 } from './types.js';

export type { AsnV1, InventoryV1, InvoiceV1, PoAckV1, PriceListV1, PurchaseOrderV1 } from './types.js';

/** Each canonical type's TypeScript shape (its schema's current version; test/unit/canonical.test.ts keeps them in step). */
export interface CanonicalTypes {
  asn: AsnV1;
  invoice: InvoiceV1;
  'purchase-order': PurchaseOrderV1;
  'po-ack': PoAckV1;
  inventory: InventoryV1;
  'price-list': PriceListV1;
}

/** A canonical document of any type. */
export type CanonicalDocument = CanonicalTypes[DocumentType];

/** A canonical document with its type: narrowing on `type` gives the document's shape. */
export type TypedCanonical = { [K in DocumentType]: { type: K; document: CanonicalTypes[K] } }[DocumentType];

/** The outcome of checking a value against a canonical schema: the typed document, or why not. */
export type CanonicalCheck<K extends DocumentType> = { ok: true; document: CanonicalTypes[K] } | { ok: false; problems: Problem[] };

// ajv-formats is CommonJS: its module object is the plugin and also carries it as `default`.
const addFormats = addFormatsModule.default;

/** The canonical schemas this build knows, by type and version. */
export const CANONICAL_SCHEMAS: Record<DocumentType, Record<number, object>> = {
  asn: { 1: asnV1 },
  invoice: { 1: invoiceV1 },
  'purchase-order': { 1: purchaseOrderV1 },
  'po-ack': { 1: poAckV1 },
  inventory: { 1: inventoryV1 },
  'price-list': { 1: priceListV1 },
};

// strictRequired is off: the anyOf item-identifier rules name properties declared beside them.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, useDefaults: true });
addFormats(ajv, ['date', 'date-time']);
for (const byVersion of Object.values(CANONICAL_SCHEMAS)) for (const schema of Object.values(byVersion)) ajv.addSchema(schema);

const compiled = new Map<string, ValidateFunction>();

export function hasCanonicalSchema(type: string, version: number): boolean {
  return Boolean(CANONICAL_SCHEMAS[type as DocumentType]?.[version]);
}

function validatorFor(type: DocumentType, version: number): ValidateFunction {
  const key = `${type}/v${version}`;
  let fn = compiled.get(key);
  if (!fn) {
    const schema = CANONICAL_SCHEMAS[type]?.[version] as { $id: string } | undefined;
    if (!schema) throw new Error(`no canonical schema ${key}`);
    fn = ajv.getSchema(schema.$id) as ValidateFunction;
    compiled.set(key, fn);
  }
  return fn;
}

/**
 * Checks a value against the canonical schema of `type` (applying schema defaults in place): the
 * value, now typed as that document, or one problem per violation. The only way a value becomes a
 * canonical document.
 */
export function checkCanonical<K extends DocumentType>(type: K, version: number, doc: unknown): CanonicalCheck<K> {
  const problems = validateCanonical(type, version, doc);
  return problems.length ? { ok: false, problems } : { ok: true, document: doc as CanonicalTypes[K] };
}

/**
 * Validates a canonical document (applying schema defaults in place) and returns one problem per
 * violation, each with the JSON Pointer of the offending field.
 */
export function validateCanonical(type: DocumentType, version: number, doc: unknown): Problem[] {
  const validate = validatorFor(type, version);
  if (validate(doc)) return [];
  return collapse(validate.errors ?? []).map((e) => ({
    code: 'GW_CANONICAL_INVALID' as const,
    message: sentence(e),
    location: { pointer: pointerOf(e) },
  }));
}

function pointerOf(e: ErrorObject): string {
  if (e.keyword === 'required') return `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`;
  if (e.keyword === 'additionalProperties') return `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}`;
  return e.instancePath || '/';
}

/** anyOf branches produce one error each plus a summary; keep the summary only. */
function collapse(errors: ErrorObject[]): ErrorObject[] {
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.schemaPath.replace(/\/anyOf$/, '/anyOf/')));
  return errors.filter((e) => ![...anyOfPaths].some((p) => e.schemaPath.startsWith(p)));
}

function sentence(e: ErrorObject): string {
  const where = pointerOf(e);
  switch (e.keyword) {
    case 'required':
      return `The canonical document has no ${where}, which is required.`;
    case 'anyOf':
      return `${where} needs at least one item identifier (buyerSku, vendorSku, upc or ndc).`;
    case 'enum':
      return `${where} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}.`;
    case 'additionalProperties':
      return `${where} is not a field of this canonical type.`;
    default:
      return `${where} ${e.message ?? 'is invalid'}.`;
  }
}
