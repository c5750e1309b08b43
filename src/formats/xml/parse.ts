import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { GatewayError } from '../../errors.js';
import { decodeUtf8, lineAndColumn } from '../text.js';

/** Deepest element nesting read; cXML documents need about fifteen levels. */
export const MAX_XML_DEPTH = 64;

/** One element of a parsed XML document, with the line it starts on and its path for people. */
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
