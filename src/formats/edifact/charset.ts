/**
 * The character sets of the EDIFACT syntax identifiers (UNB 0001) and how values are decoded and
 * checked. Separators are ASCII in every supported set (and never occur inside a UTF-8 multi-byte
 * sequence), so the reader splits bytes first and decodes each value afterwards.
 */

/** How a syntax identifier's text is decoded: a TextDecoder label, or a checked 7-bit repertoire. */
export interface EdifactCharset {
  id: string;
  /** TextDecoder label (`latin1` means bytes are taken as ISO 8859-1 code points). */
  label: string;
  /** Level A/B: the characters allowed besides the interchange's own service characters. */
  repertoire?: RegExp;
  /** UTF-8 sets: a value that is not valid UTF-8 is an error. */
  fatal?: boolean;
}

/**
 * ISO 9735 level A: upper-case letters, digits, space and `.,-()/='+:?!"%&*;<>`. Lower-case letters
 * are tolerated under UNOA too: senders commonly declare UNOA and use them, and they mean the same
 * in every ISO 646 variant (docs/decisions/0043-edifact.md). Level B adds lower case.
 */
const LEVEL_A = /^[A-Za-z0-9 .,\-()/='+:?!"%&*;<>]*$/;

const CHARSETS: Record<string, EdifactCharset> = {
  UNOA: { id: 'UNOA', label: 'ascii', repertoire: LEVEL_A },
  UNOB: { id: 'UNOB', label: 'ascii', repertoire: LEVEL_A },
  UNOC: { id: 'UNOC', label: 'latin1' },
  UNOD: { id: 'UNOD', label: 'iso-8859-2' },
  UNOE: { id: 'UNOE', label: 'iso-8859-5' },
  UNOF: { id: 'UNOF', label: 'iso-8859-7' },
  UNOG: { id: 'UNOG', label: 'iso-8859-3' },
  UNOH: { id: 'UNOH', label: 'iso-8859-4' },
  UNOI: { id: 'UNOI', label: 'iso-8859-6' },
  UNOJ: { id: 'UNOJ', label: 'iso-8859-8' },
  // WHATWG decodes ISO 8859-9 as windows-1254, which differs only in the C1 control range 0x80–0x9F.
  UNOK: { id: 'UNOK', label: 'iso-8859-9' },
  UNOL: { id: 'UNOL', label: 'iso-8859-15' },
  UNOW: { id: 'UNOW', label: 'utf-8', fatal: true },
  UNOY: { id: 'UNOY', label: 'utf-8', fatal: true },
};

/** The charset of a syntax identifier, or undefined when it is not supported (UNOX, unknown). */
export function charsetOf(id: string): EdifactCharset | undefined {
  return CHARSETS[id];
}

const HIGH = /[\x80-\xff]/;
const decoders = new Map<string, InstanceType<typeof TextDecoder>>();

function decoder(cs: EdifactCharset): InstanceType<typeof TextDecoder> {
  let d = decoders.get(cs.label);
  if (!d) {
    d = new TextDecoder(cs.label, { fatal: cs.fatal === true });
    decoders.set(cs.label, d);
  }
  return d;
}

/**
 * Decodes one value read byte for byte (one char per byte). Returns the text, or `{ bad }` with the
 * 0-based byte index of the first character outside the set's repertoire.
 */
export function decodeValue(raw: string, cs: EdifactCharset, service: string): string | { bad: number } {
  if (cs.repertoire) {
    if (cs.repertoire.test(raw)) return raw;
    for (let i = 0; i < raw.length; i++) {
      const c = raw.charAt(i);
      if (!cs.repertoire.test(c) && !service.includes(c)) return { bad: i };
    }
    return raw;
  }
  if (cs.label === 'latin1' || !HIGH.test(raw)) return raw;
  try {
    return decoder(cs).decode(Buffer.from(raw, 'latin1'));
  } catch {
    return { bad: firstInvalidUtf8(raw) };
  }
}

/** Index of the first byte that does not start or continue a well-formed UTF-8 sequence. */
function firstInvalidUtf8(raw: string): number {
  for (let i = 0; i < raw.length; ) {
    const b = raw.charCodeAt(i);
    const need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) return i;
    for (let k = 1; k <= need; k++) {
      const c = raw.charCodeAt(i + k);
      if (!(c >= 0x80 && c <= 0xbf)) return i;
    }
    i += need + 1;
  }
  return 0;
}
