import { GatewayError, type SourceLocation } from '../../errors.js';
import { decodeUtf8, lineAndColumn } from '../text.js';

/** Deepest nesting of objects and arrays read; business documents need a handful of levels. */
export const MAX_JSON_DEPTH = 64;

/**
 * Parses a JSON payload: UTF-8 only (GW_JSON_ENCODING names the first bad byte), at most
 * MAX_JSON_DEPTH levels deep (GW_JSON_DEPTH), well-formed (GW_JSON_SYNTAX); each with line and column.
 * @see https://www.rfc-editor.org/rfc/rfc8259#section-8.1 (JSON exchanged between systems is UTF-8)
 */
export function parseJson(bytes: Uint8Array): unknown {
  const text = decodeUtf8(bytes, 'GW_JSON_ENCODING', 'JSON body', 'JSON exchanged between systems must be UTF-8 (RFC 8259); fix the encoding of the export');
  const deep = tooDeep(text, MAX_JSON_DEPTH);
  if (deep !== -1) {
    const { line, column } = lineAndColumn(text, deep);
    throw new GatewayError(
      'GW_JSON_DEPTH',
      `The JSON nests deeper than ${MAX_JSON_DEPTH} levels (line ${line}, column ${column}); the gateway reads documents up to that depth.`,
      { location: { jsonPath: '$', line, column } },
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg)?.[1] ?? (/end of JSON input/.test(msg) ? String(text.length) : undefined);
    const location: SourceLocation = { jsonPath: '$', ...(pos !== undefined ? lineAndColumn(text, Number(pos)) : {}) };
    throw new GatewayError('GW_JSON_SYNTAX', `The body is not valid JSON: ${msg}.`, { location });
  }
}

/** The offset of the first `{` or `[` that opens level `max + 1` (outside strings), or -1. */
function tooDeep(text: string, max: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string, escapes included.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return -1;
}
