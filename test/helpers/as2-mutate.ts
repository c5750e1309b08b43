import fc from 'fast-check';

/**
 * Mutations for AS2 fuzzing: bytes set, inserted, deleted, cut short, duplicated, and the tokens
 * MIME and DER parsers turn on (line breaks, boundaries' dashes, quotes, indefinite lengths).
 */
export type Mutation = { kind: 'set' | 'insert' | 'delete' | 'truncate' | 'duplicate' | 'token'; at: number; byte: number; length: number; token: string };

const TOKENS = [
  '\r\n',
  '\r\n\r\n',
  '\n\n',
  '--',
  '\r\n--',
  ':',
  ';',
  '"',
  '=',
  'boundary=',
  '\x30\x80',
  '\x00\x00',
  '\x84\xff\xff\xff\xff',
  '\xa0\x80',
  '\x04\x82\xff\xff',
];

export const mutation = fc.record({
  kind: fc.constantFrom('set', 'insert', 'delete', 'truncate', 'duplicate', 'token'),
  at: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
  length: fc.integer({ min: 1, max: 64 }),
  token: fc.constantFrom(...TOKENS),
}) as fc.Arbitrary<Mutation>;

export const mutations = fc.array(mutation, { minLength: 1, maxLength: 6 });

export function mutate(input: Buffer, ms: readonly Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of ms) {
    const at = b.length ? m.at % (b.length + 1) : 0;
    if (m.kind === 'set') {
      if (at < b.length) b[at] = m.byte;
    } else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.alloc(m.length, m.byte), b.subarray(at)]);
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
    else if (m.kind === 'truncate') b = b.subarray(0, at);
    else if (m.kind === 'duplicate') b = Buffer.concat([b.subarray(0, at + m.length), b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at), Buffer.from(m.token, 'latin1'), b.subarray(at)]);
  }
  return b;
}
