import x12 from 'node-x12';
import { GatewayError, type Problem } from '../../errors.js';

const { X12Parser } = x12;

/** One segment between ST and SE. `elements[0]` is element 01. */
export interface X12Segment {
  tag: string;
  elements: string[];
  /** 1-based position inside the transaction set, ST = 1 (X12 AK3-03). */
  position: number;
  /** 1-based line in the payload (after a UTF-8 BOM is removed). */
  line: number;
}

export interface X12TransactionSet {
  /** ST01, e.g. `856`. */
  id: string;
  /** ST02. */
  control: string;
  /** GS08 of the enclosing group, e.g. `004010VICS`. */
  version: string;
  segments: X12Segment[];
  componentSeparator: string;
  /** Problems that make this set unusable (SE count, control number mismatch …). */
  problems: Problem[];
}

export interface X12Group {
  functionalId: string;
  sender: string;
  receiver: string;
  control: string;
  version: string;
  sets: X12TransactionSet[];
  problems: Problem[];
}

export interface X12Interchange {
  sender: { qualifier: string; id: string };
  receiver: { qualifier: string; id: string };
  control: string;
  /** ISA12. */
  standardVersion: string;
  test: boolean;
  delimiters: { element: string; component: string; segment: string };
  groups: X12Group[];
  problems: Problem[];
}

const ISA_LENGTH = 106;

/**
 * Decodes X12 bytes: a UTF-8 byte-order mark is dropped; valid UTF-8 is read as UTF-8, anything else
 * byte for byte (latin1), so that control characters used as delimiters survive either way.
 */
export function decodeX12(bytes: Uint8Array): string {
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  const body = bytes.subarray(start);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return Buffer.from(body).toString('latin1');
  }
}

/** Reads the fixed-length ISA header and returns the delimiters it declares. @see X12.5 ISA */
export function readIsa(text: string): { element: string; component: string; segment: string; fields: string[] } {
  const lead = text.length - text.trimStart().length;
  const isa = text.slice(lead, lead + ISA_LENGTH);
  if (!isa.startsWith('ISA')) {
    throw new GatewayError('GW_X12_ENVELOPE', `The payload does not start with an ISA segment (found "${printable(isa.slice(0, 3))}" at line 1). Send a complete X12 interchange.`, {
      location: { segment: 'ISA', line: 1 },
    });
  }
  const element = isa[3] ?? '';
  const fields = isa.split(element);
  if (isa.length < ISA_LENGTH || fields.length < 17) {
    throw new GatewayError('GW_X12_ENVELOPE', `The ISA segment is truncated or malformed: it must be ${ISA_LENGTH} characters with 16 elements separated by "${printable(element)}", found ${Math.max(0, fields.length - 1)} elements in ${isa.length} characters.`, {
      location: { segment: 'ISA', line: 1 },
    });
  }
  const isa16 = fields[16] ?? '';
  if (fields.length > 17 || isa16.length < 2) {
    throw new GatewayError('GW_X12_ENVELOPE', `ISA16 (component separator) must be one character followed by the segment terminator; the ISA has elements of the wrong length (ISA is fixed-length: ${ISA_LENGTH} characters).`, {
      location: { segment: 'ISA', element: 16, line: 1 },
    });
  }
  return { element, component: isa16[0] as string, segment: isa16[1] as string, fields: fields.slice(1, 17) };
}

function printable(s: string): string {
  return [...s].map((c) => (c < ' ' || c === '\x7f' ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c)).join('');
}

type NodeX12Segment = { tag: string; elements: { value: string }[]; range: { start: { line: number } } };
type NodeX12Transaction = { header: NodeX12Segment; trailer: NodeX12Segment; segments: NodeX12Segment[] };
type NodeX12Group = { header: NodeX12Segment; trailer: NodeX12Segment; transactions: NodeX12Transaction[] };
type NodeX12Interchange = { header: NodeX12Segment; trailer: NodeX12Segment; functionalGroups: NodeX12Group[] };

const values = (s: NodeX12Segment | undefined): string[] => (s ? s.elements.map((e) => e.value) : []);

/**
 * Splits an X12 payload into interchanges, groups and transaction sets, checking the envelope
 * counts and control numbers (ISA13=IEA02, GS06=GE02, ST02=SE02, SE01, GE01, IEA01).
 * Throws GatewayError for a payload that cannot be split at all; problems with one group or set are
 * returned on that group or set so that the rest can still be used.
 */
export function parseX12(bytes: Uint8Array): X12Interchange[] {
  const text = decodeX12(bytes);
  const interchanges: X12Interchange[] = [];
  let rest = text;
  let lineOffset = 0;
  do {
    const isa = readIsa(rest);
    const end = interchangeEnd(rest, isa);
    const chunk = rest.slice(0, end);
    const leading = chunk.length - chunk.trimStart().length;
    try {
      const parsed = new X12Parser(false).parse(chunk.trimStart()) as unknown as NodeX12Interchange;
      interchanges.push(toInterchange(parsed, isa, lineOffset + countLines(chunk.slice(0, leading))));
    } catch (err) {
      // node-x12 reports structural trouble (segments outside a group, no terminator) by throwing.
      throw new GatewayError('GW_X12_SYNTAX', `Interchange ${interchanges.length + 1} could not be split into segments: ${(err as Error).message}`, { cause: err, location: { segment: 'ISA', line: lineOffset + 1 } });
    }
    lineOffset += countLines(chunk);
    rest = rest.slice(end);
  } while (rest.trim().length > 0);
  return interchanges;
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** Index just past the IEA segment of the interchange that starts `text` (or the end of text). */
function interchangeEnd(text: string, isa: { element: string; segment: string }): number {
  const marker = `IEA${isa.element}`;
  let from = 0;
  for (;;) {
    const at = text.indexOf(marker, from);
    if (at === -1) return text.length;
    const before = text.slice(0, at).trimEnd();
    if (before.endsWith(isa.segment) || before.length === 0) {
      const term = text.indexOf(isa.segment, at);
      return term === -1 ? text.length : term + 1;
    }
    from = at + marker.length;
  }
}

function toInterchange(ic: NodeX12Interchange, isa: ReturnType<typeof readIsa>, lineBase: number): X12Interchange {
  // The header comes from our own fixed-length read: node-x12 strips leading zeros from ISA13/IEA02.
  const h = isa.fields.map((v) => v.trim());
  const t = values(ic.trailer);
  const problems: Problem[] = [];
  const groups = (ic.functionalGroups ?? []).map((g) => toGroup(g, isa.component, lineBase));
  if (!ic.trailer) {
    problems.push({ code: 'GW_X12_ENVELOPE', message: 'The interchange has no IEA trailer.', location: { segment: 'IEA' } });
  } else {
    // Compared as numbers: both are N0 fields, and node-x12 hands IEA02 over without its zeros.
    if (Number(t[1]) !== Number(h[12])) {
      problems.push({ code: 'GW_X12_ENVELOPE', message: `IEA02 "${t[1]}" does not match ISA13 "${h[12]}".`, location: { segment: 'IEA', element: 2, line: ic.trailer.range.start.line + 1 + lineBase } });
    }
    if (Number(t[0]) !== groups.length) {
      problems.push({ code: 'GW_X12_ENVELOPE', message: `IEA01 says ${t[0]} functional groups, the interchange has ${groups.length}.`, location: { segment: 'IEA', element: 1, line: ic.trailer.range.start.line + 1 + lineBase } });
    }
  }
  return {
    sender: { qualifier: h[4] ?? '', id: h[5] ?? '' },
    receiver: { qualifier: h[6] ?? '', id: h[7] ?? '' },
    control: h[12] ?? '',
    standardVersion: h[11] ?? '',
    test: h[14] === 'T',
    delimiters: { element: isa.element, component: isa.component, segment: isa.segment },
    groups,
    problems,
  };
}

function toGroup(g: NodeX12Group, component: string, lineBase: number): X12Group {
  const h = values(g.header);
  const t = values(g.trailer);
  const problems: Problem[] = [];
  const version = h[7] ?? '';
  const sets = g.transactions.map((tx) => toSet(tx, version, component, lineBase));
  const line = g.trailer ? g.trailer.range.start.line + 1 + lineBase : undefined;
  if (!g.trailer) problems.push({ code: 'GW_X12_GROUP', message: `Functional group ${h[5]} has no GE trailer.`, location: { segment: 'GE' } });
  else {
    if (t[1] !== h[5]) problems.push({ code: 'GW_X12_GROUP', message: `GE02 "${t[1]}" does not match GS06 "${h[5]}".`, location: { segment: 'GE', element: 2, ...(line ? { line } : {}) } });
    if (Number(t[0]) !== sets.length) problems.push({ code: 'GW_X12_GROUP', message: `GE01 says ${t[0]} transaction sets, group ${h[5]} has ${sets.length}.`, location: { segment: 'GE', element: 1, ...(line ? { line } : {}) } });
  }
  return { functionalId: h[0] ?? '', sender: h[1] ?? '', receiver: h[2] ?? '', control: h[5] ?? '', version, sets, problems };
}

function toSet(tx: NodeX12Transaction, version: string, component: string, lineBase: number): X12TransactionSet {
  const h = values(tx.header);
  const t = values(tx.trailer);
  const control = h[1] ?? '';
  const segments: X12Segment[] = tx.segments.map((s, i) => ({
    tag: s.tag.trim(),
    elements: values(s),
    position: i + 2,
    line: s.range.start.line + 1 + lineBase,
  }));
  const problems: Problem[] = [];
  const count = segments.length + 2;
  const sePosition = count;
  if (!tx.trailer) {
    problems.push({ code: 'GW_X12_SET_TRAILER', message: `Transaction set ${control} has no SE trailer.`, location: { segment: 'SE', transaction: control } });
  } else {
    const line = tx.trailer.range.start.line + 1 + lineBase;
    if (t[1] !== control) {
      problems.push({ code: 'GW_X12_SET_TRAILER', message: `SE02 "${t[1]}" does not match ST02 "${control}".`, location: { segment: 'SE', position: sePosition, element: 2, transaction: control, line } });
    }
    if (Number(t[0]) !== count) {
      problems.push({ code: 'GW_X12_SET_TRAILER', message: `SE01 says ${t[0]} segments, transaction set ${control} has ${count} (ST through SE).`, location: { segment: 'SE', position: sePosition, element: 1, transaction: control, line } });
    }
  }
  return { id: h[0] ?? '', control, version, segments, componentSeparator: component, problems };
}
