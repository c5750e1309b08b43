import { checkCanonical, type CanonicalDocument, type TypedCanonical } from '../canonical/index.js';
import type { GatewayConfig } from '../config/load.js';
import { isGatewayError, type Problem, type SourceLocation } from '../errors.js';
import { checkGuide, guideFor } from '../formats/x12/guide.js';
import { READ_CHUNK } from '../formats/x12/parse.js';
import { EdifactInterpreter, interpretEdifact } from './interpret-edifact.js';
import { edifactRoot, type EdifactPath } from '../mapping/edifact-source.js';
import type { EdifactMessage } from '../formats/edifact/types.js';
import type { EdifactReceipt } from '../formats/edifact/contrl.js';
import type { GroupReport, InterchangeReport } from '../formats/x12/report.js';
import { X12Reader, type X12Event, type X12GroupHeader, type X12InterchangeHeader, type X12TransactionSet } from '../formats/x12/reader.js';
import { evaluateProfile } from '../mapping/engine.js';
import { parseJson } from '../formats/json/parse.js';
import { jsonRoot, type JsonPath } from '../mapping/json-source.js';
import type { CompiledProfile } from '../mapping/profile.js';
import type { SourceNode } from '../mapping/source.js';
import { x12Root, type X12Path } from '../mapping/x12-source.js';
import { parseCsv, type CsvTable } from '../formats/csv/parse.js';
import { csvDocuments, type CsvPath } from '../mapping/csv-source.js';
import { csvOptions } from '../mapping/profile.js';
import { parseXml } from '../formats/xml/parse.js';
import { xmlRoot, type XmlPath } from '../mapping/xml-source.js';
import type { DocumentType, PartnerProfile, SourceFormat } from '../types.js';
import { canonicalOfMediaType, checkCanonicalForm } from './canonical-form.js';

/** Content types the REST door accepts, and the source format each means. */
export const MEDIA_TYPES: Record<string, SourceFormat> = {
  'application/edi-x12': 'x12',
  'application/edifact': 'edifact',
  'application/json': 'json',
  'application/xml': 'xml',
  'text/xml': 'xml',
  'text/csv': 'csv',
};

/** The content type recorded for a file of each format (doors without a Content-Type header). */
const FORMAT_MEDIA_TYPE: Record<SourceFormat, string> = {
  x12: 'application/edi-x12',
  edifact: 'application/edifact',
  json: 'application/json',
  xml: 'application/xml',
  csv: 'text/csv',
};

/**
 * The format of a file from its first bytes (after a byte-order mark and white space): `ISA` is
 * X12, `UNA` or `UNB` EDIFACT, `<` XML, `{` or `[` JSON; anything else is read as CSV, whose profiles then match on columns
 * or the file name. Used by doors that carry files without a content type (SFTP).
 */
function sniffFormat(head: Uint8Array): SourceFormat {
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
  const c = String.fromCharCode(head[i] ?? 0);
  const tag = Buffer.from(head.subarray(i, i + 3)).toString('latin1');
  if (tag === 'ISA') return 'x12';
  if (tag === 'UNA' || tag === 'UNB') return 'edifact';
  if (c === '<') return 'xml';
  if (c === '{' || c === '[') return 'json';
  return 'csv';
}

/** The format of a file from its first bytes, and the content type recorded for it. */
export function formatOfFile(head: Uint8Array): { format: SourceFormat; contentType: string } {
  const format = sniffFormat(head);
  return { format, contentType: FORMAT_MEDIA_TYPE[format] };
}

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
  /** Present when the document was accepted: checked against the schema of `type`. */
  canonical: CanonicalDocument | null;
  /** Empty when the document was accepted. */
  problems: Problem[];
  keys: BusinessKeys;
  /** Where in the message the document came from, for people: `ISA 000000049 / GS 49 / ST 0008 (856)`. */
  sourceRef: string;
}

/** What interpretation reads of the configuration: the compiled mapping profiles. */
export type InterpretConfig = Pick<GatewayConfig, 'mappings'>;

export interface Interpretation {
  format: SourceFormat;
  documents: InterpretedDocument[];
  /** Problems that concern the whole message or an envelope (no document could be formed). */
  problems: Problem[];
  /** EDIFACT: what each interchange's CONTRL and duplicate check need. */
  edifact?: EdifactReceipt[];
}

/**
 * Turns the raw bytes of one message into canonical documents, or into precise problems. A JSON
 * message whose content type names a canonical type (a portal form's) is checked as that type
 * rather than mapped. Pure: reads only its arguments.
 */
export function interpret(
  bytes: Uint8Array,
  format: SourceFormat,
  partner: PartnerProfile,
  config: InterpretConfig,
  fileName?: string,
  contentType?: string,
): Interpretation {
  try {
    const canonical = format === 'json' ? canonicalOfMediaType(contentType) : undefined;
    if (canonical) return interpretCanonical(bytes, canonical.type, canonical.version);
    switch (format) {
      case 'x12':
        return interpretX12(bytes, partner, config);
      case 'edifact':
        return interpretEdifact(bytes, partner, profilesOf(partner, config), mapEdifactMessage);
      case 'json':
        return interpretJson(bytes, partner, config);
      case 'xml':
        return interpretXml(bytes, partner, config);
      case 'csv':
        return interpretCsv(bytes, partner, config, fileName);
    }
  } catch (err) {
    if (isGatewayError(err)) return { format, documents: [], problems: err.problems };
    throw err;
  }
}

/** Interprets an EDIFACT stream with the partner's profiles (the pipeline's worker, the inline interpreter). */
export function edifactInterpreter(partner: PartnerProfile, config: InterpretConfig): EdifactInterpreter {
  return new EdifactInterpreter(partner, profilesOf(partner, config), mapEdifactMessage);
}

function profilesOf(partner: PartnerProfile, config: InterpretConfig): CompiledProfile[] {
  return partner.inbound.map((d) => config.mappings.get(d.mapping)).filter((m): m is CompiledProfile => Boolean(m));
}

/** What an inbound 997/999 says about a group we sent. */
export interface FunctionalAck {
  type: '997' | '999';
  /** AK101 and AK102: the functional id and GS06 of our group. */
  functionalId: string;
  groupControl: string;
  /** AK901: A, E, P or R. */
  status: string;
  sets: { id: string; control: string; status: string }[];
}

export type X12Item =
  | { kind: 'interchange'; header: X12InterchangeHeader; refused?: Problem }
  | { kind: 'document'; doc: InterpretedDocument; set?: AckedSet }
  | { kind: 'functional-ack'; ack: FunctionalAck }
  | { kind: 'group-end'; report: GroupReport }
  | { kind: 'interchange-end'; report: InterchangeReport }
  | { kind: 'fatal'; problem: Problem };

/**
 * A transaction set as its 997/999 reports it (the `sets` of a GroupReport), and the line of its GS.
 * Problems keep what AK3/AK4/AK5 say, not their text.
 */
export type AckedSet = GroupReport['sets'][number] & { group: number };

function ackProblem(p: Problem): Problem {
  const loc = p.location;
  return {
    code: p.code,
    message: '',
    ...(loc
      ? {
          location: {
            ...(loc.segment ? { segment: loc.segment } : {}),
            ...(loc.position ? { position: loc.position } : {}),
            ...(loc.element ? { element: loc.element } : {}),
          },
        }
      : {}),
    ...(p.x12 ? { x12: p.x12 } : {}),
  };
}

/** Transaction sets that are acknowledgments themselves: read for reconciliation, never acknowledged. */
const ACK_SETS = new Set(['997', '999']);

/**
 * Interprets an X12 stream interchange by interchange: push bytes, get documents and envelope
 * reports as soon as they are complete. Pure: reads only its arguments.
 */
export class X12Interpreter {
  private readonly reader = new X12Reader();
  private readonly profiles: (CompiledProfile<X12Path> & { source: { format: 'x12' } })[];
  private seq = 0;
  private report: InterchangeReport | undefined;
  private group: GroupReport | undefined;

  constructor(
    private readonly partner: PartnerProfile,
    config: InterpretConfig,
  ) {
    this.profiles = profilesOf(partner, config).filter((p): p is CompiledProfile<X12Path> & { source: { format: 'x12' } } => p.source.format === 'x12');
  }

  push(chunk: Uint8Array): X12Item[] {
    return this.handle(this.reader.push(chunk));
  }

  end(): X12Item[] {
    return this.handle(this.reader.end());
  }

  private handle(events: X12Event[]): X12Item[] {
    const out: X12Item[] = [];
    for (const ev of events) {
      if (ev.kind === 'interchange') {
        const ic = ev.interchange;
        const senders = this.partner.identifiers.x12;
        const refused: Problem | undefined =
          senders?.length && !senders.some((s) => s.qualifier === ic.sender.qualifier && s.id === ic.sender.id)
            ? {
                code: 'GW_X12_ENVELOPE',
                message:
                  `Interchange ${ic.control} is sent as ${ic.sender.qualifier}/${ic.sender.id} ` +
                  `(ISA05/ISA06), which is not an identifier of partner ${this.partner.id}.`,
                location: { segment: 'ISA', element: 6, line: ic.line },
                x12: { ta1: '006' },
              }
            : undefined;
        this.report = { header: ic, problems: ic.problems, groups: [], ta1: [], ...(refused ? { refused } : {}) };
        out.push(refused ? { kind: 'interchange', header: ic, refused } : { kind: 'interchange', header: ic });
      } else if (ev.kind === 'set') {
        const report = this.report as InterchangeReport;
        if (!this.group || this.group.header.line !== ev.group.line) {
          this.group = { header: ev.group, declaredSets: null, problems: [], sets: [] };
          report.groups.push(this.group);
        }
        // Sets of a refused interchange, or of one whose ISA is bad, are not read.
        if (report.refused || report.header.problems.length) continue;
        const item = this.set(ev.set, ev.group, ev.interchange);
        // The set's line of the 997/999 travels with its document; the reports keep no list of sets,
        // so what the interpreter holds does not grow with their number.
        if (item.kind === 'document')
          item.set = {
            group: ev.group.line,
            id: ev.set.id,
            control: ev.set.control,
            ...(ev.set.implementation ? { implementation: ev.set.implementation } : {}),
            problems: item.doc.problems.map(ackProblem),
          };
        out.push(item);
      } else if (ev.kind === 'group-end') {
        const report = this.report as InterchangeReport;
        if (!this.group || this.group.header.line !== ev.group.line) {
          this.group = { header: ev.group, declaredSets: null, problems: [], sets: [] };
          report.groups.push(this.group);
        }
        this.group.declaredSets = ev.group.declaredSets;
        this.group.problems = ev.group.problems;
        out.push({ kind: 'group-end', report: this.group });
        this.group = undefined;
      } else if (ev.kind === 'interchange-end') {
        const report = this.report as InterchangeReport;
        report.problems = ev.interchange.problems;
        report.ta1 = ev.interchange.ta1;
        out.push({ kind: 'interchange-end', report });
        this.report = undefined;
      } else {
        out.push({ kind: 'fatal', problem: ev.problem });
      }
    }
    return out;
  }

  /** Why no profile takes a set: no profile for the transaction at all, or none for its GS08 version. */
  private noProfileReason(set: X12TransactionSet): string {
    const declared = this.profiles.filter((p) => p.source.transaction === set.id).map((p) => p.source.versions ?? []);
    const known = `Partner ${this.partner.id} has no mapping profile for X12 ${set.id} version ${set.version}`;
    if (declared.length === 0) return `${known}.`;
    return `${known}; its ${set.id} profiles read versions ${[...new Set(declared.flat())].join(', ')} (GS08 must start with one of them).`;
  }

  private set(set: X12TransactionSet, group: X12GroupHeader, interchange: X12InterchangeHeader): X12Item {
    if (ACK_SETS.has(set.id) && group.functionalId === 'FA') {
      return { kind: 'functional-ack', ack: readFunctionalAck(set) };
    }
    const seq = ++this.seq;
    const sourceRef = `ISA ${interchange.control} / GS ${group.control} / ST ${set.control} (${set.id})`;
    const located = (doc: InterpretedDocument): X12Item => ({ kind: 'document', doc });
    const profile = this.profiles.find(
      (p) => p.source.transaction === set.id && (!p.source.versions || p.source.versions.some((v) => set.version.startsWith(v))),
    );
    if (!profile) {
      const doc = unknownDocument(seq, sourceRef, this.noProfileReason(set), {
        segment: 'ST',
        position: 1,
        transaction: set.control,
      });
      return located({ ...doc, problems: doc.problems.map((p) => ({ ...p, x12: { ak5: '1' } })) });
    }
    if (set.problems.length) return located({ ...documentShell(seq, sourceRef, profile), problems: set.problems });
    const guide = guideFor(this.partner.x12?.guides, set);
    const violations = guide ? checkGuide(set, guide) : [];
    if (violations.length) return located({ ...documentShell(seq, sourceRef, profile), problems: violations });
    return located(mapDocument(seq, sourceRef, profile, x12Root(set), mapX12Codes));
  }
}

/** AK403/IK403: 8 invalid date, 9 invalid time, 7 any other invalid value (a code, a number). */
const AK4_BY_EXPECTED = { date: '8', time: '9', value: '7' } as const;

/** Mapping problems as a 997/999 reports them: the segment (AK3) and element (AK4) that failed. */
function mapX12Codes(p: Problem): Problem {
  if (p.x12) return p;
  const loc = p.location ?? {};
  if (p.code === 'GW_MAP_REQUIRED') return { ...p, x12: loc.element ? { ak5: '5', ak3: '8', ak4: '1' } : { ak5: '5', ak3: '3' } };
  if (p.code === 'GW_MAP_TRANSFORM' || p.code === 'GW_MAP_XREF') return { ...p, x12: { ak5: '5', ak3: '8', ak4: AK4_BY_EXPECTED[p.expected ?? 'value'] } };
  return { ...p, x12: { ak5: '5', ...(loc.segment ? { ak3: '8' } : {}) } };
}

function readFunctionalAck(set: X12TransactionSet): FunctionalAck {
  const seg = (tag: string) => set.segments.filter((s) => s.tag === tag);
  const ak1 = seg('AK1')[0]?.elements ?? [];
  const ak9 = seg('AK9')[0]?.elements ?? [];
  const sets: FunctionalAck['sets'] = [];
  for (const s of set.segments) {
    if (s.tag === 'AK2') sets.push({ id: s.elements[0] ?? '', control: s.elements[1] ?? '', status: '' });
    if ((s.tag === 'AK5' || s.tag === 'IK5') && sets.length) (sets[sets.length - 1] as { status: string }).status = s.elements[0] ?? '';
  }
  return { type: set.id as '997' | '999', functionalId: ak1[0] ?? '', groupControl: ak1[1] ?? '', status: ak9[0] ?? '', sets };
}

/** One EDIFACT message mapped with its profile, through the segment-group tree of its structure table. */
function mapEdifactMessage(seq: number, sourceRef: string, profile: CompiledProfile, message: EdifactMessage): InterpretedDocument {
  const root = edifactRoot(message);
  if (!root)
    return unknownDocument(seq, sourceRef, `The gateway has no structure table for EDIFACT ${message.type} ${message.version}:${message.release}.`, {
      segment: 'UNH',
      position: 1,
      transaction: message.ref,
    });
  return mapDocument(seq, sourceRef, profile as CompiledProfile<EdifactPath>, root);
}

/** Reads a whole X12 payload (tests, the CLI's mapping test). The pipeline streams with X12Interpreter. */
function interpretX12(bytes: Uint8Array, partner: PartnerProfile, config: InterpretConfig): Interpretation {
  const interpreter = new X12Interpreter(partner, config);
  const documents: InterpretedDocument[] = [];
  const problems: Problem[] = [];
  const items: X12Item[] = [];
  for (let at = 0; at < bytes.length; at += READ_CHUNK) items.push(...interpreter.push(bytes.subarray(at, at + READ_CHUNK)));
  items.push(...interpreter.end());
  for (const item of items) {
    if (item.kind === 'document') documents.push(item.doc);
    else if (item.kind === 'fatal') problems.push(item.problem);
    else if (item.kind === 'interchange' && item.refused) problems.push(item.refused);
    else if (item.kind === 'interchange-end' && !item.report.refused) problems.push(...item.report.problems);
    else if (item.kind === 'group-end') problems.push(...item.report.problems);
  }
  return { format: 'x12', documents, problems };
}

function interpretJson(bytes: Uint8Array, partner: PartnerProfile, config: InterpretConfig): Interpretation {
  const data = parseJson(bytes);
  const root = jsonRoot(data);
  const candidates = profilesOf(partner, config).filter((p) => p.source.format === 'json') as CompiledProfile<JsonPath>[];
  const profile = candidates.find((p) => p.match && root.get(p.match.path)?.value === p.match.equals);
  if (!profile) {
    const expected = candidates
      .map((p) => (p.source.format === 'json' ? `${p.source.match.path} = ${JSON.stringify(p.source.match.equals)}` : ''))
      .join(' or ');
    return {
      format: 'json',
      documents: [
        unknownDocument(1, '$', `No JSON mapping profile of partner ${partner.id} matches this body${expected ? ` (expected ${expected})` : ''}.`, {
          jsonPath: '$',
        }),
      ],
      problems: [],
    };
  }
  return { format: 'json', documents: [mapDocument(1, '$', profile, root)], problems: [] };
}

/** A document that is canonical already (decision 0028): parsed, checked against its schema, no profile. */
function interpretCanonical(bytes: Uint8Array, type: DocumentType, version: number): Interpretation {
  const checked = checkCanonicalForm(type, version, parseJson(bytes));
  const shell = { seq: 1, type, schemaVersion: version, profile: null, sourceRef: '$' };
  const doc: InterpretedDocument = checked.ok
    ? { ...shell, canonical: checked.document, problems: [], keys: businessKeys({ type, document: checked.document } as TypedCanonical) }
    : { ...shell, canonical: null, problems: checked.problems, keys: { purchaseOrderNumbers: [] } };
  return { format: 'json', documents: [doc], problems: [] };
}

function interpretXml(bytes: Uint8Array, partner: PartnerProfile, config: InterpretConfig): Interpretation {
  const doc = parseXml(bytes);
  const root = xmlRoot(doc);
  const candidates = profilesOf(partner, config).filter((p) => p.source.format === 'xml') as CompiledProfile<XmlPath>[];
  for (const profile of candidates) {
    const scope = root.at(profile.root as XmlPath);
    if (scope) return { format: 'xml', documents: [mapDocument(1, scope.location.xmlPath ?? '/', profile, scope)], problems: [] };
  }
  const expected = candidates.map((p) => (p.source.format === 'xml' ? p.source.root : '')).join(' or ');
  return {
    format: 'xml',
    documents: [
      unknownDocument(
        1,
        `/${doc.name}`,
        `No XML mapping profile of partner ${partner.id} matches this document (root <${doc.name}>${expected ? `; expected ${expected}` : ''}).`,
        { xmlPath: `/${doc.name}`, line: doc.line },
      ),
    ],
    problems: [],
  };
}

/** `*` and `?` globs, as partner managers write file name patterns. */
function globMatches(glob: string, name: string): boolean {
  return new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
    'i',
  ).test(name);
}

function interpretCsv(bytes: Uint8Array, partner: PartnerProfile, config: InterpretConfig, fileName?: string): Interpretation {
  const candidates = profilesOf(partner, config).filter((p) => p.source.format === 'csv') as CompiledProfile<CsvPath>[];
  let firstError: unknown;
  // Profiles that read the file alike share one parse: a wide file is read once, not once per profile.
  const parsed = new Map<string, CsvTable | Error>();
  for (const profile of candidates) {
    const source = profile.source as Extract<CompiledProfile['source'], { format: 'csv' }>;
    if (source.match?.fileName && !(fileName && globMatches(source.match.fileName, fileName))) continue;
    const opts = csvOptions(source);
    const key = JSON.stringify([opts.header, opts.delimiter, opts.quote, opts.encoding, opts.skipRows]);
    let table = parsed.get(key);
    if (!table) {
      try {
        table = parseCsv(bytes, opts);
      } catch (err) {
        table = err as Error;
      }
      parsed.set(key, table);
    }
    if (table instanceof Error) {
      firstError ??= table;
      continue;
    }
    if (source.match?.columns && !source.match.columns.every((c) => table.columns.includes(c))) continue;
    const documents = csvDocuments(table, opts, fileName).map(({ node, firstLine, lastLine }, i) =>
      mapDocument(i + 1, firstLine === lastLine ? `line ${firstLine}` : `lines ${firstLine}-${lastLine}`, profile, node),
    );
    return { format: 'csv', documents, problems: [] };
  }
  // When no profile could read the file at all, why is more use than "no profile matches".
  if (firstError && [...parsed.values()].every((t) => t instanceof Error)) throw firstError;
  const expected = candidates
    .map((p) =>
      p.source.format === 'csv'
        ? [
            p.source.match?.columns ? `columns ${p.source.match.columns.join(', ')}` : '',
            p.source.match?.fileName ? `file name ${p.source.match.fileName}` : '',
          ]
            .filter(Boolean)
            .join(' and ') || p.id
        : '',
    )
    .join(' or ');
  return {
    format: 'csv',
    documents: [
      unknownDocument(1, 'line 1', `No CSV mapping profile of partner ${partner.id} matches this file${expected ? ` (expected ${expected})` : ''}.`, {
        line: 1,
        ...(fileName ? { file: fileName } : {}),
      }),
    ],
    problems: [],
  };
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
  return {
    seq,
    type: null,
    schemaVersion: null,
    profile: null,
    canonical: null,
    problems: [{ code: 'GW_DOC_TYPE_UNKNOWN', message, location }],
    keys: { purchaseOrderNumbers: [] },
    sourceRef,
  };
}

function mapDocument<P>(
  seq: number,
  sourceRef: string,
  profile: CompiledProfile<P>,
  root: SourceNode<P>,
  annotate: (p: Problem) => Problem = (p) => p,
): InterpretedDocument {
  const shell = documentShell(seq, sourceRef, profile as CompiledProfile);
  const mapped = evaluateProfile(profile, root);
  const { type } = profile.target;
  const checked = checkCanonical(type, profile.target.version, mapped.document);
  const schemaProblems = (checked.ok ? [] : checked.problems).map((p) => ({
    ...p,
    location: { ...nearestSource(mapped.provenance, p.location?.pointer ?? ''), ...p.location },
  }));
  const problems = [...mapped.problems, ...schemaProblems].map(annotate);
  if (problems.length || !checked.ok) return { ...shell, problems };
  return { ...shell, canonical: checked.document, problems: [], keys: businessKeys({ type, document: checked.document } as TypedCanonical) };
}

/** The source location of a canonical field, or of its nearest mapped ancestor. */
function nearestSource(provenance: Map<string, SourceLocation>, pointer: string): SourceLocation {
  for (let p = pointer; p; p = p.slice(0, p.lastIndexOf('/'))) {
    const loc = provenance.get(p);
    if (loc) return loc;
  }
  return {};
}

/** The numbers a document is known by: its own, and the purchase orders it answers. */
function businessKeys(c: TypedCanonical): BusinessKeys {
  const unique = (numbers: (string | undefined)[]) => [...new Set(numbers.filter((n): n is string => Boolean(n)))];
  switch (c.type) {
    case 'asn':
      return { documentNumber: c.document.shipmentId, purchaseOrderNumbers: unique(c.document.orders.map((o) => o.purchaseOrderNumber)) };
    case 'invoice': {
      const { invoiceNumber, purchaseOrderNumber, lines } = c.document;
      return { documentNumber: invoiceNumber, purchaseOrderNumbers: unique([purchaseOrderNumber, ...lines.map((l) => l.purchaseOrderNumber)]) };
    }
    case 'inventory':
      return { ...(c.document.reportId ? { documentNumber: c.document.reportId } : {}), purchaseOrderNumbers: [] };
    case 'price-list':
      return { ...(c.document.priceListId ? { documentNumber: c.document.priceListId } : {}), purchaseOrderNumbers: [] };
    default: {
      const po = c.document.purchaseOrderNumber;
      return { ...(po ? { documentNumber: po } : {}), purchaseOrderNumbers: po ? [po] : [] };
    }
  }
}
