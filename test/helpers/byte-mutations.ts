import fc from 'fast-check';

/** One change to a sample's bytes: a byte set, a run inserted, deleted or repeated, or the rest cut off. */
export type Mutation = { kind: 'flip' | 'insert' | 'delete' | 'truncate' | 'duplicate'; at: number; byte: number; length: number };

/** Mutations whose bytes come from `byte` (e.g. a format's separators), runs up to `maxLength` long. */
export function mutation(byte: fc.Arbitrary<number>, maxLength: number): fc.Arbitrary<Mutation> {
  return fc.record({
    kind: fc.constantFrom('flip', 'insert', 'delete', 'truncate', 'duplicate'),
    at: fc.nat(),
    byte,
    length: fc.integer({ min: 1, max: maxLength }),
  }) as fc.Arbitrary<Mutation>;
}

/** `input` with the mutations applied in order (positions wrap around the current length). */
export function mutate(input: Buffer, ms: readonly Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of ms) {
    const at = b.length ? m.at % b.length : 0;
    if (m.kind === 'flip') b[at] = m.byte;
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.alloc(m.length, m.byte), b.subarray(at)]);
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
    else if (m.kind === 'truncate') b = b.subarray(0, at);
    else b = Buffer.concat([b.subarray(0, at + m.length), b.subarray(at)]);
  }
  return b;
}
