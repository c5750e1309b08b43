import { CANONICAL_SCHEMAS } from './index.js';
import type { DocumentType } from '../types.js';

/**
 * docs/canonical.md, written from the canonical JSON Schemas and their descriptions, so the page
 * cannot drift from the schemas (`npx gateway docs canonical > docs/canonical.md`; a test compares).
 */
type Prop = {
  type?: string;
  description?: string;
  enum?: unknown[];
  default?: unknown;
  format?: string;
  pattern?: string;
  $ref?: string;
  properties?: Record<string, Prop>;
  required?: string[];
  items?: Prop & { anyOf?: { required: string[] }[] };
};

const ORDER: [DocumentType, string][] = [
  ['asn', 'What a supplier shipped, for which orders, and how it travels (X12 856, cXML ShipNoticeRequest, JSON ship notices).'],
  ['invoice', 'A supplier invoice (X12 810, cXML InvoiceDetailRequest, JSON).'],
  ['purchase-order', 'What the ERP orders; the gateway renders it for each partner (X12 850, cXML OrderRequest, JSON).'],
  ['po-ack', "The supplier's answer to an order (X12 855, cXML ConfirmationRequest)."],
  ['inventory', 'Stock on hand and on order at a supplier (X12 846, CSV stock reports).'],
  ['price-list', 'Catalogue prices from a supplier (CSV price lists).'],
];

function typeOf(p: Prop): string {
  if (p.$ref) return p.$ref.endsWith('/party') ? '[party](#shared-definitions)' : p.$ref.endsWith('/unit') ? '[unit](#shared-definitions)' : p.$ref;
  if (p.enum) return p.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (p.type === 'array') return p.items?.type === 'object' ? 'array of objects' : `array of ${typeOf(p.items as Prop)}`;
  if (p.format) return `${p.type} (${p.format})`;
  if (p.pattern) return `${p.type} (\`${p.pattern}\`)`;
  return p.type ?? '';
}

function rows(props: Record<string, Prop>, required: string[], prefix: string, out: string[]): void {
  for (const [k, p] of Object.entries(props)) {
    let meaning = p.description ?? (p.$ref?.endsWith('/party') ? 'Name and address.' : '');
    if (p.default !== undefined) meaning = `${meaning ? `${meaning} ` : ''}Default \`${String(p.default)}\`.`;
    out.push(`| \`${prefix}${k}\` | ${typeOf(p)} | ${required.includes(k) ? 'yes' : ''} | ${meaning} |`);
    if (p.type === 'object' && p.properties) rows(p.properties, p.required ?? [], `${prefix}${k}.`, out);
    if (p.type === 'array' && p.items?.type === 'object' && p.items.properties) {
      if (p.items.anyOf) out.push(`| \`${prefix}${k}[]\` | | | Needs at least one of ${p.items.anyOf.map((a) => `\`${a.required[0]}\``).join(', ')}. |`);
      rows(p.items.properties, p.items.required ?? [], `${prefix}${k}[].`, out);
    }
  }
}

export function canonicalMarkdown(): string {
  const asn = CANONICAL_SCHEMAS.asn[1] as { definitions: { party: Prop; unit: Prop } };
  const out = [
    '# Canonical documents',
    '',
    "<!-- Written by `npx gateway docs canonical > docs/canonical.md` from src/canonical/*.schema.json; edit the schemas' descriptions, not this page. -->",
    '',
    'Every inbound document becomes one of these, whatever its format; every outbound one starts as one.',
    'Each is a versioned JSON Schema in `src/canonical/<type>.v<version>.schema.json` (the ERP can validate',
    'against the same files) with a TypeScript type in `src/canonical/types.ts`; `npm test` checks that the',
    'types, the schemas and this page agree field by field.',
    '',
    'Conventions: dates are `YYYY-MM-DD` (the date as the partner wrote it, in its time zone); instants',
    '(`…DateTime`) are ISO 8601 in UTC (`2026-11-20T04:40:00Z`); quantities and amounts are JSON numbers;',
    'codes are spelled out (`case`, not `CA`). Fields a source does not carry are absent, never empty',
    'strings. Every delivered document travels with its type and version (`X-Gateway-Document-Type: asn/v1`)',
    'and the id and version of the profile that produced it.',
    '',
    'Versioning: a version only ever gains optional fields; anything else is a new version, served beside the',
    'old one until every route has moved.',
    '',
    '## Shared definitions',
    '',
    `**party** — a name and address: ${Object.keys(asn.definitions.party.properties ?? {})
      .map((k) => `\`${k}\``)
      .join(', ')} (all optional text; \`idQualifier\` says what \`id\` is, e.g. X12 \`92\`, assigned by the buyer).`,
    '',
    `**unit** — one of ${(asn.definitions.unit.enum ?? []).map((u) => `\`${String(u)}\``).join(', ')}. ` +
      `Profiles map partner codes (X12 355, UN/ECE Rec. 20, \`Stk\`) to these with a code list.`,
    '',
  ];
  for (const [type, intro] of ORDER) {
    const schema = CANONICAL_SCHEMAS[type][1] as Prop & { description?: string };
    out.push(`## \`${type}\` v1`, '', `${intro} ${schema.description ?? ''}`.trim(), '', '| Field | Type | Required | Meaning |', '|---|---|---|---|');
    rows(schema.properties ?? {}, schema.required ?? [], '', out);
    out.push('');
  }
  return out.join('\n');
}
