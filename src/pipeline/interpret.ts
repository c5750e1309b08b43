import { validateCanonical } from '../canonical/index.js';
import type { GatewayConfig } from '../config/load.js';
import { GatewayError, isGatewayError, type Problem, type SourceLocation } from '../errors.js';
import { parseX12, type X12TransactionSet } from '../formats/x12/parse.js';
import { evaluateProfile } from '../mapping/engine.js';
import { jsonRoot, type JsonPath } from '../mapping/json-source.js';
import type { CompiledProfile } from '../mapping/profile.js';
import type { SourceNode } from '../mapping/source.js';
import { x12Root, type X12Path } from '../mapping/x12-source.js';
import type { DocumentType, PartnerProfile, SourceFormat } from '../types.js';

/** Content types the REST door accepts, and the source format each means. */
export const MEDIA_TYPES: Record<string, SourceFormat> = {
  'application/edi-x12': 'x12',
  'application/json': 'json',
};

export interface BusinessKeys {
  /** ASN shipment id or invoice number: what the ERP calls the document. */
  documentNumber?: string;
  purchaseOrderNumbers: string[];
}

export interface InterpretedDocument {
  /** 1-based order of the document inside its message; part of its stable idempotency key. */
  seq: number;
  type: DocumentType | null;
  schemaVersion: number | null;
  profile: { id: string; version: number } | null;
  /** Present when the document was accepted. */
  canonical: Record<string, unknown> | null;
  /** Empty when the document was accepted. */
  problems: Problem[];
  keys: BusinessKeys;
  /** Where in the message the document came from, for people: `ISA 000000049 / GS 49 / ST 0008 (856)`. */
  sourceRef: string;
}

export interface Interpretation {
  format: SourceFormat;
  documents: InterpretedDocument[];
  /** Problems that concern the whole message or an envelope (no document could be formed). */
  problems: Problem[];
}

/**
 * Turns the raw bytes of one message into canonical documents, or into precise problems.
 * Pure: reads only its arguments.
 */
export function interpret(bytes: Uint8Array, format: SourceFormat, partner: PartnerProfile, config: GatewayConfig): Interpretation {
  try {
    return format === 'x12' ? interpretX12(bytes, partner, config) : interpretJson(bytes, partner, config);
  } catch (err) {
    if (isGatewayError(err)) return { format, documents: [], problems: err.problems };
    throw err;
  }
}

function profilesOf(partner: PartnerProfile, config: GatewayConfig): CompiledProfile[] {
  return partner.inbound.map((d) => config.mappings.get(d.mapping)).filter((m): m is CompiledProfile => Boolean(m));
}

function interpretX12(bytes: Uint8Array, partner: PartnerProfile, config: GatewayConfig): Interpretation {
  const documents: InterpretedDocument[] = [];
  const problems: Problem[] = [];
  const senders = partner.identifiers.x12;
  const profiles = profilesOf(partner, config).filter((p): p is CompiledProfile<X12Path> & { source: { format: 'x12' } } => p.source.format === 'x12');
  for (const ic of parseX12(bytes)) {
    if (ic.problems.length) {
      problems.push(...ic.problems);
      continue;
    }
    if (senders?.length && !senders.some((s) => s.qualifier === ic.sender.qualifier && s.id === ic.sender.id)) {
      problems.push({
        code: 'GW_X12_ENVELOPE',
        message: `Interchange ${ic.control} is sent as ${ic.sender.qualifier}/${ic.sender.id} (ISA05/ISA06), which is not an identifier of partner ${partner.id}.`,
        location: { segment: 'ISA', element: 6 },
      });
      continue;
    }
    for (const group of ic.groups) {
      for (const set of group.sets) {
        const seq = documents.length + 1;
        const sourceRef = `ISA ${ic.control} / GS ${group.control} / ST ${set.control} (${set.id})`;
        const setProblems = [...group.problems, ...set.problems];
        const profile = profiles.find((p) => p.source.transaction === set.id && (!p.source.versions || p.source.versions.some((v) => set.version.startsWith(v))));
        if (!profile) {
          documents.push(unknownDocument(seq, sourceRef, `Partner ${partner.id} has no mapping profile for X12 ${set.id} version ${set.version}.`, { segment: 'ST', position: 1, transaction: set.control }));
          continue;
        }
        if (setProblems.length) {
          documents.push({ ...documentShell(seq, sourceRef, profile), problems: setProblems });
          continue;
        }
        documents.push(mapDocument(seq, sourceRef, profile, x12Root(set as X12TransactionSet)));
      }
    }
  }
  return { format: 'x12', documents, problems };
}

function interpretJson(bytes: Uint8Array, partner: PartnerProfile, config: GatewayConfig): Interpretation {
  const text = Buffer.from(bytes).toString('utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg)?.[1] ?? (/end of JSON input/.test(msg) ? String(text.length) : undefined);
    const location: SourceLocation = { jsonPath: '$' };
    if (pos !== undefined) {
      const before = text.slice(0, Number(pos));
      location.line = before.split('\n').length;
      location.column = before.length - before.lastIndexOf('\n');
    }
    throw new GatewayError('GW_JSON_SYNTAX', `The body is not valid JSON: ${(err as Error).message}.`, { location });
  }
  const root = jsonRoot(data);
  const candidates = profilesOf(partner, config).filter((p) => p.source.format === 'json') as CompiledProfile<JsonPath>[];
  const profile = candidates.find((p) => p.match && root.get(p.match.path)?.value === p.match.equals);
  if (!profile) {
    const expected = candidates.map((p) => (p.source.format === 'json' ? `${p.source.match.path} = ${JSON.stringify(p.source.match.equals)}` : '')).join(' or ');
    return { format: 'json', documents: [unknownDocument(1, '$', `No JSON mapping profile of partner ${partner.id} matches this body${expected ? ` (expected ${expected})` : ''}.`, { jsonPath: '$' })], problems: [] };
  }
  return { format: 'json', documents: [mapDocument(1, '$', profile, root)], problems: [] };
}

function documentShell(seq: number, sourceRef: string, profile: CompiledProfile): Omit<InterpretedDocument, 'problems'> {
  return {
    seq,
    type: profile.target.type,
    schemaVersion: profile.target.version,
    profile: { id: profile.id, version: profile.version },
    canonical: null,
    keys: { purchaseOrderNumbers: [] },
    sourceRef,
  };
}

function unknownDocument(seq: number, sourceRef: string, message: string, location: SourceLocation): InterpretedDocument {
  return { seq, type: null, schemaVersion: null, profile: null, canonical: null, problems: [{ code: 'GW_DOC_TYPE_UNKNOWN', message, location }], keys: { purchaseOrderNumbers: [] }, sourceRef };
}

function mapDocument<P>(seq: number, sourceRef: string, profile: CompiledProfile<P>, root: SourceNode<P>): InterpretedDocument {
  const shell = documentShell(seq, sourceRef, profile as CompiledProfile);
  const mapped = evaluateProfile(profile, root);
  const schemaProblems = validateCanonical(profile.target.type, profile.target.version, mapped.document).map((p) => ({
    ...p,
    location: { ...nearestSource(mapped.provenance, p.location?.pointer ?? ''), ...p.location },
  }));
  const problems = [...mapped.problems, ...schemaProblems];
  if (problems.length) return { ...shell, problems };
  return { ...shell, canonical: mapped.document, problems: [], keys: businessKeys(profile.target.type, mapped.document) };
}

/** The source location of a canonical field, or of its nearest mapped ancestor. */
function nearestSource(provenance: Map<string, SourceLocation>, pointer: string): SourceLocation {
  for (let p = pointer; p; p = p.slice(0, p.lastIndexOf('/'))) {
    const loc = provenance.get(p);
    if (loc) return loc;
  }
  return {};
}

function businessKeys(type: DocumentType, doc: Record<string, unknown>): BusinessKeys {
  if (type === 'asn') {
    const orders = (doc.orders as { purchaseOrderNumber?: string }[] | undefined) ?? [];
    return { documentNumber: doc.shipmentId as string, purchaseOrderNumbers: [...new Set(orders.map((o) => o.purchaseOrderNumber).filter((n): n is string => Boolean(n)))] };
  }
  const po = doc.purchaseOrderNumber as string | undefined;
  return { documentNumber: doc.invoiceNumber as string, purchaseOrderNumbers: po ? [po] : [] };
}
