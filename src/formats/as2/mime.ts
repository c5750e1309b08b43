import { GatewayError } from '../../errors.js';

/**
 * The small part of MIME that AS2 needs, on bytes: an entity's headers and body, the parts of a
 * multipart body exactly as they were sent (the MIC and the signature are computed over those
 * bytes, so nothing may be re-encoded), and the transfer encodings AS2 stacks use.
 *
 * General MIME libraries decode and rebuild parts; none hands back a part's original bytes, which
 * is what signature checks need (docs/decisions/0008-as2-door.md).
 */

/** A MIME entity that cannot be read: the AS2 disposition unexpected-processing-error. */
export class MimeError extends GatewayError {
  constructor(message: string) {
    super('GW_AS2_PROCESSING', message);
    this.name = 'MimeError';
  }
}

export interface MimeEntity {
  /** Header names in lower case; folded lines joined. */
  headers: Map<string, string>;
  /** The body as sent (still transfer-encoded). */
  body: Buffer;
  /** The whole entity, headers included, exactly as sent. */
  raw: Buffer;
}

const CRLF = Buffer.from('\r\n');

/** Where the header block ends: the first empty line (CRLF CRLF, or bare LF LF from lenient senders). */
function headerEnd(buf: Buffer): { at: number; skip: number } | undefined {
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    if (buf[i + 1] === 0x0a) return { at: i + 1, skip: 1 };
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return { at: i + 1, skip: 2 };
  }
  if (buf[0] === 0x0d && buf[1] === 0x0a) return { at: 0, skip: 2 };
  if (buf[0] === 0x0a) return { at: 0, skip: 1 };
  return undefined;
}

export function parseHeaders(text: string): Map<string, string> {
  const headers = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (!line) continue;
    if (/^[ \t]/.test(line) && last) {
      headers.set(last, `${headers.get(last)} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MimeError(`not a MIME header line: "${line.slice(0, 60)}"`);
    last = line.slice(0, colon).trim().toLowerCase();
    headers.set(last, line.slice(colon + 1).trim());
  }
  return headers;
}

/** Splits an entity (headers, empty line, body). An entity without an empty line is refused. */
export function parseEntity(raw: Buffer): MimeEntity {
  const end = headerEnd(raw);
  if (!end) throw new MimeError('the MIME entity has no empty line between headers and body');
  return { headers: parseHeaders(raw.subarray(0, end.at).toString('latin1')), body: raw.subarray(end.at + end.skip), raw };
}

/** The MIME headers an HTTP message carries for the entity that is its body. */
const ENTITY_HEADERS = ['content-type', 'content-transfer-encoding', 'content-disposition'];

/**
 * The entity an HTTP message carries: its body, with the MIME headers among its HTTP headers
 * (`get` reads one by lower-case name, from a request or a response).
 */
export function entityOfHttp(get: (name: string) => string | null | undefined, body: Buffer): MimeEntity {
  const headers = new Map(ENTITY_HEADERS.flatMap((h) => (get(h) ? [[h, get(h) as string] as [string, string]] : [])));
  const lines = [...headers].map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return { headers, body, raw: Buffer.concat([Buffer.from(`${lines}\r\n`, 'latin1'), body]) };
}

/** An entity being written: headers and body, joined (`partBytes`) only where it is nested in another. */
export interface Part {
  headers: [string, string][];
  body: Buffer;
}

export function partBytes(p: Part): Buffer {
  return buildEntity(p.headers, p.body);
}

export interface ContentType {
  /** Lower-case type/subtype. */
  type: string;
  /** Parameter names in lower case, values unquoted. */
  params: Record<string, string>;
}

export function parseContentType(value: string | undefined): ContentType {
  if (!value) return { type: 'text/plain', params: {} };
  const [type = '', ...rest] = splitParams(value);
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    params[p.slice(0, eq).trim().toLowerCase()] = unquote(p.slice(eq + 1).trim());
  }
  return { type: type.trim().toLowerCase(), params };
}

/** Splits on `;` outside quotes. */
function splitParams(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    if (ch === ';' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

export function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
}

/**
 * The parts of a multipart body, each exactly as sent: from after the boundary line to before the
 * line break that precedes the next boundary (RFC 2046 §5.1.1).
 */
export function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const starts: { lineStart: number; afterLine: number; last: boolean }[] = [];
  let from = 0;
  for (;;) {
    const i = body.indexOf(delimiter, from);
    if (i < 0) break;
    from = i + delimiter.length;
    // A delimiter counts only at the start of a line.
    if (i !== 0 && body[i - 1] !== 0x0a) continue;
    const last = body[from] === 0x2d && body[from + 1] === 0x2d;
    let eol = body.indexOf(0x0a, from);
    if (eol < 0) eol = body.length - 1;
    const lineStart = i === 0 ? 0 : body[i - 2] === 0x0d ? i - 2 : i - 1;
    starts.push({ lineStart, afterLine: eol + 1, last });
    if (last) break;
  }
  if (starts.length < 2 || !starts.at(-1)?.last) throw new MimeError(`the multipart body has no closing boundary "--${boundary}--"`);
  const parts: Buffer[] = [];
  for (let k = 0; k < starts.length - 1; k++)
    parts.push(body.subarray((starts[k] as { afterLine: number }).afterLine, (starts[k + 1] as { lineStart: number }).lineStart));
  return parts;
}

/** The body with its Content-Transfer-Encoding undone (base64, or binary/7bit/8bit as is). */
export function decodeBody(entity: MimeEntity): Buffer {
  const cte = (entity.headers.get('content-transfer-encoding') ?? 'binary').toLowerCase();
  if (cte === 'base64') return Buffer.from(entity.body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (cte === 'binary' || cte === '7bit' || cte === '8bit') return entity.body;
  if (cte === 'quoted-printable') {
    const text = entity.body.toString('latin1').replace(/=\r?\n/g, '');
    return Buffer.from(
      text.replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    );
  }
  throw new MimeError(`Content-Transfer-Encoding "${cte}" is not supported`);
}

/** Bare LF line ends made CRLF: the canonical form S/MIME signs when a sender did not keep CRLF. */
export function canonicalize(buf: Buffer): Buffer {
  if (!buf.includes(0x0a)) return buf;
  const out: Buffer[] = [];
  let from = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0x0a && (i === 0 || buf[i - 1] !== 0x0d)) {
      out.push(buf.subarray(from, i), CRLF);
      from = i + 1;
    }
  }
  out.push(buf.subarray(from));
  return Buffer.concat(out);
}

/** An entity from headers and a body (CRLF line ends, headers in the order given). */
export function buildEntity(headers: [string, string][], body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`, 'latin1'), body]);
}

/** A multipart body from complete part entities. */
export function buildMultipart(parts: Buffer[], boundary: string): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) out.push(Buffer.from(`--${boundary}\r\n`, 'latin1'), p, CRLF);
  out.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return Buffer.concat(out);
}

/** Base64 in lines of 76 characters, as MIME writes it. */
export function base64Lines(buf: Buffer): Buffer {
  return Buffer.from(`${(buf.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')}\r\n`, 'latin1');
}
