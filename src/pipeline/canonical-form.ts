import { checkCanonical, type CanonicalTypes } from '../canonical/index.js';
import type { Problem } from '../errors.js';
import type { DocumentType } from '../types.js';

/**
 * A message that already holds a canonical document (the portal's ship-notice and invoice forms)
 * says so by its content type, `application/vnd.gateway.<type>.v<version>+json`: interpretation
 * then checks it against that schema instead of mapping it with a partner profile (decision 0028).
 * No door but the portal's forms stores this content type; the REST door accepts only MEDIA_TYPES.
 */
const CANONICAL_MEDIA_TYPE = /^application\/vnd\.gateway\.([a-z-]+)\.v(\d+)\+json$/;

export function canonicalMediaType(type: DocumentType, version: number): string {
  return `application/vnd.gateway.${type}.v${version}+json`;
}

/** The canonical type and version a content type names, if it names one this build has a schema for. */
export function canonicalOfMediaType(contentType: string | undefined): { type: DocumentType; version: number } | undefined {
  const m = contentType ? CANONICAL_MEDIA_TYPE.exec(contentType) : null;
  if (!m) return undefined;
  const type = m[1] as DocumentType;
  const version = Number(m[2]);
  return FORM_TYPES.includes(type) && version === 1 ? { type, version } : undefined;
}

/** The document types a supplier may submit by form. */
const FORM_TYPES: readonly DocumentType[] = ['asn', 'invoice'];

/** `/orders/0/items/1/quantity` as the JSON path `$.orders[0].items[1].quantity`. */
export function jsonPathOf(pointer: string): string {
  const steps = pointer
    .split('/')
    .slice(1)
    .filter((s) => s !== '')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  return `$${steps.map((s) => (/^\d+$/.test(s) ? `[${s}]` : /^[A-Za-z_][\w-]*$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`)).join('')}`;
}

export type FormCheck<K extends DocumentType> = { ok: true; document: CanonicalTypes[K] } | { ok: false; problems: Problem[] };

/**
 * Checks a value against the canonical schema as interpretation will, each problem located by the
 * field's JSON path (where a form shows it) as well as its pointer. Pure.
 */
export function checkCanonicalForm<K extends DocumentType>(type: K, version: number, value: unknown): FormCheck<K> {
  const checked = checkCanonical(type, version, value);
  if (checked.ok) return checked;
  return {
    ok: false,
    problems: checked.problems.map((p) => ({ ...p, location: { ...p.location, jsonPath: jsonPathOf(p.location?.pointer ?? '') } })),
  };
}
