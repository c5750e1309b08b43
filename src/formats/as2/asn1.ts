/**
 * The small part of ASN.1 (X.690) that CMS for AS2 needs: reading BER, as senders write it
 * (indefinite lengths, strings in constructed pieces), and writing DER.
 *
 * The reader walks the element tree once and keeps offsets into the input, never copies: the CMS
 * code reads a few fields by position, which costs microseconds where building a schema-checked
 * object tree for each structure cost a millisecond or more (docs/decisions/0021-as2-speed.md).
 * @see ITU-T X.690 §8 (BER), §10 (DER)
 */

/** A BER input that cannot be read. CMS turns it into an AS2 disposition. */
export class Asn1Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Asn1Error';
  }
}

export const UNIVERSAL = 0;
export const CONTEXT = 2;

/** Universal tag numbers used by CMS. */
export const TAG = {
  boolean: 1,
  integer: 2,
  bitString: 3,
  octetString: 4,
  null: 5,
  oid: 6,
  sequence: 16,
  set: 17,
  utcTime: 23,
  generalizedTime: 24,
} as const;

/** One element, located in the input it was read from. */
export interface Element {
  tagClass: number;
  constructed: boolean;
  tag: number;
  /** The input, and where the element, its contents and its end lie in it. */
  input: Buffer;
  start: number;
  contentsStart: number;
  contentsEnd: number;
  end: number;
  /** The elements inside a constructed one, in order (empty for a primitive). */
  children: Element[];
}

/** Nesting deeper than any CMS structure needs is refused (and keeps recursion bounded). */
const MAX_DEPTH = 64;

/**
 * The first element of `input` with everything inside it. Bytes after it are ignored, as other
 * CMS readers do. Throws Asn1Error on a malformed encoding.
 */
export function readBer(input: Buffer): Element {
  return readElement(input, 0, input.length, 0);
}

function readElement(input: Buffer, start: number, limit: number, depth: number): Element {
  if (depth > MAX_DEPTH) throw new Asn1Error(`the structure nests deeper than ${MAX_DEPTH} levels (byte ${start})`);
  if (start >= limit) throw new Asn1Error(`an element is cut short at byte ${start}`);
  const first = input[start]!;
  const tagClass = first >> 6;
  const constructed = (first & 0x20) !== 0;
  let tag = first & 0x1f;
  let at = start + 1;
  if (tag === 0x1f) {
    tag = 0;
    let b: number;
    do {
      if (at >= limit) throw new Asn1Error(`an element's tag is cut short at byte ${at}`);
      if (tag >= 1 << 21) throw new Asn1Error(`an element's tag number is too large (byte ${start})`);
      b = input[at++]!;
      tag = tag * 128 + (b & 0x7f);
    } while (b & 0x80);
  }
  // Tag 0 is the end-of-contents marker, which readIndefinite consumes; anywhere else it is malformed.
  if (tagClass === UNIVERSAL && tag === 0) throw new Asn1Error(`a misplaced end-of-contents at byte ${start}`);
  if (at >= limit) throw new Asn1Error(`an element's length is cut short at byte ${at}`);
  const lengthByte = input[at++]!;
  const el: Element = { tagClass, constructed, tag, input, start, contentsStart: at, contentsEnd: at, end: at, children: [] };
  if (lengthByte === 0x80) return readIndefinite(el, limit, depth);
  let length = lengthByte;
  if (lengthByte > 0x80) {
    const n = lengthByte & 0x7f;
    if (n > 4) throw new Asn1Error(`an element at byte ${start} gives a length of ${n} bytes`);
    if (at + n > limit) throw new Asn1Error(`an element's length is cut short at byte ${at}`);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + input[at++]!;
  }
  el.contentsStart = at;
  el.contentsEnd = el.end = at + length;
  if (el.end > limit) throw new Asn1Error(`the element at byte ${start} runs past the end of what holds it`);
  if (constructed) for (let p = at; p < el.end; p = el.children.at(-1)!.end) el.children.push(readElement(input, p, el.end, depth + 1));
  return el;
}

/** Contents up to the end-of-contents octets (0x00 0x00), which only a constructed element may have. */
function readIndefinite(el: Element, limit: number, depth: number): Element {
  if (!el.constructed) throw new Asn1Error(`a primitive element at byte ${el.start} has an indefinite length`);
  let p = el.contentsStart;
  for (;;) {
    if (p + 2 > limit) throw new Asn1Error(`the element at byte ${el.start} has no end-of-contents`);
    if (el.input[p] === 0 && el.input[p + 1] === 0) break;
    const child = readElement(el.input, p, limit, depth + 1);
    el.children.push(child);
    p = child.end;
  }
  el.contentsEnd = p;
  el.end = p + 2;
  return el;
}

/** The element exactly as it was sent, header included. */
export function rawOf(el: Element): Buffer {
  return el.input.subarray(el.start, el.end);
}

/** The contents of a primitive element. */
export function contentsOf(el: Element): Buffer {
  return el.input.subarray(el.contentsStart, el.contentsEnd);
}

export function isUniversal(el: Element | undefined, tag: number): el is Element {
  return el !== undefined && el.tagClass === UNIVERSAL && el.tag === tag;
}

export function isContext(el: Element | undefined, tag: number): el is Element {
  return el !== undefined && el.tagClass === CONTEXT && el.tag === tag;
}

/** The universal types by name, for error messages. */
const TYPE_NAMES: Record<number, string> = {
  [TAG.boolean]: 'a BOOLEAN',
  [TAG.integer]: 'an INTEGER',
  [TAG.bitString]: 'a BIT STRING',
  [TAG.octetString]: 'an OCTET STRING',
  [TAG.null]: 'a NULL',
  [TAG.oid]: 'an OBJECT IDENTIFIER',
  [TAG.sequence]: 'a SEQUENCE',
  [TAG.set]: 'a SET',
  [TAG.utcTime]: 'a UTCTime',
  [TAG.generalizedTime]: 'a GeneralizedTime',
};

/** `el` when it is the universal type `tag` (a SEQUENCE or SET constructed, an OID or INTEGER primitive), else an error naming `what`. */
export function expectUniversal(el: Element | undefined, tag: number, what: string): Element {
  const mustConstruct = tag === TAG.sequence || tag === TAG.set;
  const mustBePrimitive = tag === TAG.oid || tag === TAG.integer || tag === TAG.null || tag === TAG.boolean;
  if (!isUniversal(el, tag) || (mustConstruct && !el.constructed) || (mustBePrimitive && el.constructed))
    throw new Asn1Error(`${what} is not ${TYPE_NAMES[tag] ?? `universal type ${tag}`}`);
  return el;
}

/** The dotted form of an OBJECT IDENTIFIER. */
export function oidOf(el: Element | undefined, what: string): string {
  const bytes = contentsOf(expectUniversal(el, TAG.oid, what));
  if (!bytes.length || bytes.at(-1)! & 0x80) throw new Asn1Error(`${what} is a malformed object identifier`);
  const arcs: number[] = [];
  let arc = 0;
  for (const b of bytes) {
    if (arc > 2 ** 45) throw new Asn1Error(`${what} has an object identifier arc too large`);
    arc = arc * 128 + (b & 0x7f);
    if (b & 0x80) continue;
    if (!arcs.length) arcs.push(arc < 80 ? Math.floor(arc / 40) : 2, arc < 80 ? arc % 40 : arc - 80);
    else arcs.push(arc);
    arc = 0;
  }
  return arcs.join('.');
}

/**
 * The bytes of a string type (OCTET STRING, or an IMPLICIT tag over one): a primitive's contents,
 * or a constructed one's OCTET STRING pieces joined (X.690 §8.7.3).
 */
export function octetsOf(el: Element): Buffer {
  if (!el.constructed) return contentsOf(el);
  const pieces: Buffer[] = [];
  const collect = (e: Element): void => {
    for (const c of e.children) {
      if (c.tagClass !== UNIVERSAL || c.tag !== TAG.octetString)
        throw new Asn1Error(`a piece of a constructed string at byte ${c.start} is not an OCTET STRING`);
      if (c.constructed) collect(c);
      else pieces.push(contentsOf(c));
    }
  };
  collect(el);
  return Buffer.concat(pieces);
}

// --- writing DER ---

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** An element with a one-byte identifier (class, constructed bit and a tag number below 31) around `contents`. */
export function derElement(identifier: number, ...contents: Buffer[]): Buffer {
  const body = contents.length === 1 ? contents[0]! : Buffer.concat(contents);
  return Buffer.concat([Buffer.from([identifier]), lengthBytes(body.length), body]);
}

export const derSequence = (...contents: Buffer[]): Buffer => derElement(0x30, ...contents);
export const derSet = (...contents: Buffer[]): Buffer => derElement(0x31, ...contents);
export const derOctetString = (bytes: Buffer): Buffer => derElement(0x04, bytes);
/** `[n] EXPLICIT` or a constructed `[n] IMPLICIT`. */
export const derContext = (n: number, ...contents: Buffer[]): Buffer => derElement(0xa0 | n, ...contents);
export const DER_NULL = Buffer.from([0x05, 0x00]);

/** A small non-negative INTEGER (versions). */
export function derSmallInteger(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 127) throw new RangeError(`derSmallInteger takes 0 to 127, not ${n}`);
  return Buffer.from([0x02, 0x01, n]);
}

const OID_CACHE = new Map<string, Buffer>();

export function derOid(dotted: string): Buffer {
  let der = OID_CACHE.get(dotted);
  if (der) return der;
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const bytes: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    const groups = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift(0x80 | (v & 0x7f));
    bytes.push(...groups);
  }
  der = derElement(0x06, Buffer.from(bytes));
  OID_CACHE.set(dotted, der);
  return der;
}

/** An AlgorithmIdentifier: the OID and its parameters (NULL where the algorithm takes none). */
export function derAlgorithm(oid: string, params: Buffer = DER_NULL): Buffer {
  return derSequence(derOid(oid), params);
}

/**
 * A CMS Time: UTCTime for 1950 to 2049, GeneralizedTime otherwise, in whole seconds.
 * @see RFC 5652 §11.3
 */
export function derTime(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = d.getUTCFullYear();
  return year >= 1950 && year < 2050 ? derElement(0x17, Buffer.from(digits.slice(2), 'latin1')) : derElement(0x18, Buffer.from(digits, 'latin1'));
}
