import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { GatewayError } from '../errors.js';
import type { PathCompiler, SourceNode, SourceValue } from './source.js';
import { decodeUtf8, lineAndColumn } from './text-source.js';

/** Deepest element nesting read; cXML documents need about fifteen levels. */
export const MAX_XML_DEPTH = 64;

/** One element of a parsed XML document: what mapping paths navigate. */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (text and CDATA directly inside it), trimmed. */
  text: string;
  line: number;
  /** Where it is, for people: `/cXML/Request/ShipNoticeRequest/ShipNoticeHeader`, with `[n]` when it has siblings of its name. */
  path: string;
  parent?: XmlElement;
}

/**
 * XML paths (see docs/mapping.md), XPath-like and small:
 *   `ShipNoticeHeader/@shipmentID`           attribute of the first matching element
 *   `ShipControl/CarrierIdentifier[@domain=SCAC]`   text of the first element whose attribute matches
 *   `InvoiceDetailItem[2]/UnitPrice/Money`   the second one (1-based)
 *   `/cXML/@payloadID`                       from the document root instead of the scope
 *   `../OrderReference/@orderID`             from the parent of the scope
 *   `.` or `@quantity`                       the scope's own text or attribute
 */
export interface XmlPath {
  absolute: boolean;
  steps: XmlStep[];
  attribute?: string;
}

interface XmlStep {
  name: string;
  attr?: { name: string; value?: string };
  index?: number;
}

const STEP = /^(\*|\.\.|\.|[A-Za-z_][\w.:-]*)((?:\[[^\]]+\])*)$/;
const PREDICATE = /\[([^\]]+)\]/g;

function compile(path: string, selector: boolean): XmlPath {
  let p = path.trim();
  const absolute = p.startsWith('/');
  if (absolute) p = p.slice(1);
  const parts = p === '' ? [] : p.split('/');
  let attribute: string | undefined;
  const last = parts.at(-1);
  if (last?.startsWith('@')) {
    if (selector) throw new Error(`"${path}" ends in an attribute; a selector must name elements`);
    attribute = last.slice(1);
    if (!/^[A-Za-z_][\w.:-]*$/.test(attribute)) throw new Error(`"${path}": "${last}" is not an attribute name`);
    parts.pop();
  }
  const steps = parts.map((part): XmlStep => {
    const m = STEP.exec(part);
    if (!m)
      throw new Error(`"${path}" is not an XML path; write e.g. ShipNoticeHeader/@shipmentID or ItemOut[@lineNumber=1]/ItemID/SupplierPartID (step "${part}")`);
    const step: XmlStep = { name: m[1] as string };
    for (const [, pred] of (m[2] ?? '').matchAll(PREDICATE)) {
      const predicate = (pred as string).trim();
      if (/^\d+$/.test(predicate)) step.index = Number(predicate);
      else {
        const a = /^@([A-Za-z_][\w.:-]*)(?:\s*=\s*(?:'([^']*)'|"([^"]*)"|([^'"\s]+)))?$/.exec(predicate);
        if (!a) throw new Error(`"${path}": predicate [${predicate}] is not [n], [@name] or [@name=value]`);
        step.attr = { name: a[1] as string, ...((a[2] ?? a[3] ?? a[4]) !== undefined ? { value: (a[2] ?? a[3] ?? a[4]) as string } : {}) };
      }
    }
    return step;
  });
  return { absolute, steps, ...(attribute ? { attribute } : {}) };
}

export const xmlPaths: PathCompiler<XmlPath> = {
  value: (path) => compile(path, false),
  selector: (path) => compile(path, true),
};

function select(from: XmlElement[], steps: XmlStep[]): XmlElement[] {
  let nodes = from;
  for (const step of steps) {
    if (step.name === '.') continue;
    const next: XmlElement[] = [];
    for (const n of nodes) {
      if (step.name === '..') {
        if (n.parent && !next.includes(n.parent)) next.push(n.parent);
        continue;
      }
      let matches = n.children.filter(
        (c) =>
          (step.name === '*' || c.name === step.name) &&
          (!step.attr || (step.attr.value === undefined ? step.attr.name in c.attributes : c.attributes[step.attr.name] === step.attr.value)),
      );
      if (step.index !== undefined) matches = matches.slice(step.index - 1, step.index);
      next.push(...matches);
    }
    nodes = next;
  }
  return nodes;
}

class XmlNode implements SourceNode<XmlPath> {
  constructor(
    readonly element: XmlElement,
    readonly root: XmlElement,
  ) {}

  get location() {
    return { xmlPath: this.element.path, line: this.element.line };
  }

  private start(path: XmlPath): XmlElement[] {
    if (!path.absolute) return select([this.element], path.steps);
    // The root element is the first step of an absolute path: /cXML/Header/...
    const [first, ...rest] = path.steps;
    if (!first || (first.name !== '*' && first.name !== this.root.name)) return [];
    return select([this.root], rest);
  }

  get(path: XmlPath): SourceValue | undefined {
    for (const el of this.start(path)) {
      const value = path.attribute !== undefined ? el.attributes[path.attribute]?.trim() : el.text;
      if (value) return { value, location: { xmlPath: path.attribute !== undefined ? `${el.path}/@${path.attribute}` : el.path, line: el.line } };
    }
    return undefined;
  }

  each(path: XmlPath): XmlNode[] {
    return this.start(path).map((el) => new XmlNode(el, this.root));
  }

  at(path: XmlPath): XmlNode | undefined {
    return this.each(path)[0];
  }
}

export function xmlRoot(doc: XmlElement): SourceNode<XmlPath> {
  return new XmlNode(doc, doc);
}

/** A DOCTYPE with an internal subset (`[ ... ]`) can declare entities; such documents are refused. */
const INTERNAL_SUBSET = /<!DOCTYPE[^>[]*\[/i;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  captureMetaData: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Only the five predefined XML entities and character references; no DTD is ever read or fetched,
  // and documents that declare entities are refused before parsing.
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
});
const META = XMLParser.getMetaDataSymbol() as unknown as symbol;

type Ordered = Record<string, unknown> & { ':@'?: Record<string, string> };

/**
 * Parses an XML payload into an element tree with line numbers. DTDs are not processed: an external
 * DTD (cXML's `<!DOCTYPE cXML SYSTEM "…">`) is ignored, an internal subset is refused (GW_XML_DTD).
 */
export function parseXml(bytes: Uint8Array): XmlElement {
  const text = decodeXml(bytes).replace(/^\uFEFF/, '');
  const deep = tooDeep(text, MAX_XML_DEPTH);
  if (deep !== -1) {
    const { line, column } = lineAndColumn(text, deep);
    throw new GatewayError(
      'GW_XML_DEPTH',
      `The XML nests elements deeper than ${MAX_XML_DEPTH} levels (line ${line}, column ${column}); the gateway reads documents up to that depth.`,
      { location: { line, column } },
    );
  }
  const subset = INTERNAL_SUBSET.exec(text);
  if (subset) {
    const line = text.slice(0, subset.index).split('\n').length;
    throw new GatewayError('GW_XML_DTD', `The XML declares a DTD internal subset (line ${line}); documents that declare entities are refused.`, {
      location: { line },
    });
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new GatewayError('GW_XML_SYNTAX', `The body is not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col}).`, {
      location: { line: valid.err.line, column: valid.err.col },
    });
  }
  const starts: number[] = [];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i);
  const lineAt = (offset: number): number => {
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((starts[mid] as number) < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  const build = (node: Ordered, name: string, parent: XmlElement | undefined, path: string): XmlElement => {
    const meta = (node as Record<symbol, { startIndex?: number } | undefined>)[META];
    const el: XmlElement = {
      name,
      attributes: { ...(node[':@'] ?? {}) },
      children: [],
      text: '',
      line: meta?.startIndex !== undefined ? lineAt(meta.startIndex) : 1,
      path,
      ...(parent ? { parent } : {}),
    };
    const content = node[name] as Ordered[];
    const counts = new Map<string, number>();
    for (const c of content) for (const k of Object.keys(c)) if (k !== ':@' && k !== '#text') counts.set(k, (counts.get(k) ?? 0) + 1);
    const seen = new Map<string, number>();
    const texts: string[] = [];
    for (const c of content) {
      const key = Object.keys(c).find((k) => k !== ':@');
      if (key === undefined) continue;
      if (key === '#text') texts.push(String(c[key]));
      else {
        const n = (seen.get(key) ?? 0) + 1;
        seen.set(key, n);
        el.children.push(build(c, key, el, `${path}/${key}${(counts.get(key) ?? 0) > 1 ? `[${n}]` : ''}`));
      }
    }
    el.text = texts.join('').trim();
    return el;
  };
  const top = (parser.parse(text) as Ordered[]).find((n) => Object.keys(n).some((k) => k !== ':@' && k !== '#text' && !k.startsWith('?')));
  if (!top) throw new GatewayError('GW_XML_SYNTAX', 'The body holds no XML element.', { location: { line: 1 } });
  const name = Object.keys(top).find((k) => k !== ':@') as string;
  return build(top, name, undefined, `/${name}`);
}

/**
 * The text of an XML payload in the encoding it declares, UTF-8 when it declares none (or starts
 * with a UTF-8 byte-order mark); bytes that are not valid in it are refused (GW_XML_ENCODING).
 * @see https://www.w3.org/TR/xml/#sec-guessing (autodetection of character encodings)
 */
function decodeXml(bytes: Uint8Array): string {
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return decodeAs(bytes, 'utf-16be');
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return decodeAs(bytes, 'utf-16le');
  const head = Buffer.from(bytes.subarray(0, 256)).toString('latin1');
  const declared = /^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/.exec(head)?.[1];
  if (!declared || /^utf-?8$/i.test(declared))
    return decodeUtf8(
      bytes,
      'GW_XML_ENCODING',
      'XML document',
      'send UTF-8, or declare the encoding the file is in (<?xml version="1.0" encoding="windows-1252"?>)',
    );
  return decodeAs(bytes, declared);
}

function decodeAs(bytes: Uint8Array, label: string): string {
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(label, { fatal: true });
  } catch {
    throw new GatewayError(
      'GW_XML_ENCODING',
      `The XML declares encoding "${label}", which the gateway does not know; send UTF-8 or a WHATWG encoding such as windows-1252.`,
      { location: { line: 1 } },
    );
  }
  try {
    return decoder.decode(bytes);
  } catch {
    throw new GatewayError('GW_XML_ENCODING', `The XML is not valid ${label}, the encoding it declares; fix the declaration or the bytes.`, {
      location: { line: 1 },
    });
  }
}

/**
 * The offset of the first start tag that opens level `max + 1`, or -1. Comments, CDATA,
 * processing instructions and declarations are skipped; quoted attribute values may hold `>`.
 * Runs before the parser, whose recursion a deep document would exhaust.
 */
function tooDeep(text: string, max: number): number {
  let depth = 0;
  for (let i = text.indexOf('<'); i !== -1; i = text.indexOf('<', i + 1)) {
    const next = text.charCodeAt(i + 1);
    if (text.startsWith('<!--', i)) i = skipTo(text, '-->', i);
    else if (text.startsWith('<![CDATA[', i)) i = skipTo(text, ']]>', i);
    else if (next === 0x3f /* ? */) i = skipTo(text, '?>', i);
    else if (next === 0x21 /* ! */) i = skipTo(text, '>', i);
    else if (next === 0x2f /* / */) depth--;
    else {
      const start = i;
      let quote = 0;
      for (i++; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (quote) {
          if (c === quote) quote = 0;
        } else if (c === 0x22 || c === 0x27) quote = c;
        else if (c === 0x3e /* > */) break;
      }
      if (text.charCodeAt(i - 1) !== 0x2f /* self-closing */ && ++depth > max) return start;
    }
    if (i === -1 || i >= text.length) break;
  }
  return -1;
}

function skipTo(text: string, end: string, from: number): number {
  const at = text.indexOf(end, from);
  return at === -1 ? -1 : at + end.length - 1;
}
