import { isUtf8 } from 'node:buffer';
import { GatewayError, type ErrorCode } from '../errors.js';

/**
 * Decodes a UTF-8 payload, refusing any byte sequence that is not UTF-8 (a replacement character
 * delivered to the ERP is a silent change of the partner's data). The error names the first bad
 * byte: its offset in the payload, its line, and its byte column in that line.
 */
export function decodeUtf8(bytes: Uint8Array, code: ErrorCode, what: string, fix: string): string {
  if (isUtf8(bytes)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const offset = firstInvalidUtf8(bytes);
  let line = 1;
  let lineStart = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1 && i < offset; i = bytes.indexOf(0x0a, i + 1)) {
    line++;
    lineStart = i + 1;
  }
  const column = offset - lineStart + 1;
  throw new GatewayError(
    code,
    `The ${what} is not valid UTF-8: byte 0x${(bytes[offset] ?? 0).toString(16).padStart(2, '0')} at ` +
      `offset ${offset} (line ${line}, byte ${column} of the line) starts no valid UTF-8 sequence; ${fix}.`,
    { location: { offset, line, column } },
  );
}

/**
 * The offset of the first byte that does not begin a well-formed UTF-8 sequence (no overlong
 * forms, no surrogates, nothing above U+10FFFF), or -1.
 * @see https://www.unicode.org/versions/Unicode15.0.0/ch03.pdf Table 3-7, well-formed UTF-8 byte sequences
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (n === 0) return i;
    for (let k = 1; k <= n; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    const d = b[i + 1] as number;
    if ((c === 0xe0 && d < 0xa0) || (c === 0xed && d > 0x9f) || (c === 0xf0 && d < 0x90) || (c === 0xf4 && d > 0x8f)) return i;
    i += n + 1;
  }
  return -1;
}

/** 1-based line and column of a character offset in a text. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}
