import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { isGatewayError } from '../../src/errors.js';
import { parseCsv } from '../../src/formats/csv/parse.js';
import { MAX_JSON_DEPTH, parseJson } from '../../src/formats/json/parse.js';
import { firstInvalidUtf8 } from '../../src/formats/text.js';
import { MAX_XML_DEPTH, parseXml } from '../../src/formats/xml/parse.js';
import { interpret } from '../../src/pipeline/interpret.js';
import { repoConfig } from '../helpers/config.js';

/** The GatewayError `fn` throws (fails the test when it throws nothing, or something else). */
function refusal(fn: () => unknown): { code: string; message: string; location: Record<string, unknown> } {
  try {
    fn();
  } catch (err) {
    if (isGatewayError(err)) return { code: err.code, message: err.message, location: { ...err.location } };
    throw err;
  }
  assert.fail('expected a refusal');
}

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe('JSON source: nesting depth and UTF-8', () => {
  it(`reads ${MAX_JSON_DEPTH} levels, refuses one more with GW_JSON_DEPTH and where`, () => {
    const nest = (n: number) => `{"a":\n${'['.repeat(n - 1)}1${']'.repeat(n - 1)}}`;
    assert.ok(parseJson(Buffer.from(nest(MAX_JSON_DEPTH))));
    const r = refusal(() => parseJson(Buffer.from(nest(MAX_JSON_DEPTH + 1))));
    assert.equal(r.code, 'GW_JSON_DEPTH');
    assert.deepEqual([r.location.line, r.location.column], [2, MAX_JSON_DEPTH]);
  });

  it('refuses 10,000 levels in a mapped field quickly, and counts no brackets inside strings', () => {
    const started = performance.now();
    assert.equal(refusal(() => parseJson(Buffer.from(`{"documentType":"invoice","lines":${'['.repeat(10_000)}${']'.repeat(10_000)}}`))).code, 'GW_JSON_DEPTH');
    assert.ok(performance.now() - started < 1000);
    assert.deepEqual(parseJson(Buffer.from(JSON.stringify({ note: `${'['.repeat(500)}\\"{{{` }))), { note: `${'['.repeat(500)}\\"{{{` });
  });

  it('refuses invalid UTF-8 with GW_JSON_ENCODING, the byte offset and the line (nothing becomes U+FFFD)', () => {
    const r = refusal(() => parseJson(bytes('{"a": "ok",\n "b": "caf', [0xe9], '"}')));
    assert.equal(r.code, 'GW_JSON_ENCODING');
    assert.deepEqual(r.location, { offset: 22, line: 2, column: 11 });
    assert.match(r.message, /0xe9 at offset 22 \(line 2/);
    // Overlong forms, surrogates and truncated sequences are refused too; real UTF-8 is read.
    for (const bad of [
      [0xc0, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x82],
    ])
      assert.equal(refusal(() => parseJson(bytes('"', bad, '"'))).code, 'GW_JSON_ENCODING');
    assert.equal(parseJson(Buffer.from('"café – 😀"')), 'café – 😀');
  });

  it('finds the first invalid byte exactly where Node says the bytes are not UTF-8', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        const at = firstInvalidUtf8(b);
        assert.equal(at === -1, isUtf8(b));
        if (at !== -1) assert.ok(isUtf8(b.subarray(0, at)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('XML source: nesting depth and encoding', () => {
  it(`reads ${MAX_XML_DEPTH} levels past comments, CDATA and self-closed tags; refuses one more with GW_XML_DEPTH`, () => {
    const doc = (n: number) =>
      `<?xml version="1.0"?>\n<!-- <x><x> -->\n<r a="<b>">${'<e/>'.repeat(5)}<![CDATA[<c><c>]]>${'<a>'.repeat(n - 1)}${'</a>'.repeat(n - 1)}</r>`;
    assert.equal(parseXml(Buffer.from(doc(MAX_XML_DEPTH))).name, 'r');
    const r = refusal(() => parseXml(Buffer.from(doc(MAX_XML_DEPTH + 1))));
    assert.equal(r.code, 'GW_XML_DEPTH');
    assert.equal(r.location.line, 3);
  });

  it('refuses 10,000 levels with GW_XML_DEPTH instead of exhausting the parser', () => {
    assert.equal(refusal(() => parseXml(Buffer.from(`${'<a>'.repeat(10_000)}x${'</a>'.repeat(10_000)}`))).code, 'GW_XML_DEPTH');
  });

  it('refuses bytes that are not UTF-8 when the document declares no other encoding, and reads a declared one', () => {
    const r = refusal(() => parseXml(bytes('<?xml version="1.0" encoding="UTF-8"?>\n<a>\n<b>M', [0xfc], 'ller</b></a>')));
    assert.equal(r.code, 'GW_XML_ENCODING');
    assert.deepEqual(r.location, { offset: 47, line: 3, column: 5 });
    assert.equal(refusal(() => parseXml(bytes('<a>', [0xff, 0xfe, 0x41], '</a>'))).code, 'GW_XML_ENCODING');
    assert.equal(parseXml(bytes('<?xml version="1.0" encoding="windows-1252"?><a>M', [0xfc], 'ller</a>')).text, 'Müller');
    assert.equal(refusal(() => parseXml(Buffer.from('<?xml version="1.0" encoding="x-unknown"?><a/>'))).code, 'GW_XML_ENCODING');
  });
});

describe('CSV source: row width', () => {
  it('refuses a row of a million columns at once with GW_CSV_SYNTAX and its line', () => {
    const columns = 1_000_000;
    const text = `a;b\n1;2\n${'1;'.repeat(columns - 1)}1\n`;
    const started = performance.now();
    const r = refusal(() => parseCsv(Buffer.from(text), { header: true, delimiter: ';', quote: '"', encoding: 'utf-8', skipRows: 0 }));
    assert.equal(r.code, 'GW_CSV_SYNTAX');
    assert.equal(r.location.line, 3);
    assert.ok(performance.now() - started < 2000, 'the parser never sees the row');
    // Delimiters inside quotes are no fields.
    assert.equal(
      parseCsv(Buffer.from(`a;b\n"${';'.repeat(20_000)}";2\n`), { header: true, delimiter: ';', quote: '"', encoding: 'utf-8', skipRows: 0 }).rows.length,
      1,
    );
  });

  it('says why when no CSV profile of the partner can read the file (two profiles, one parse)', async () => {
    const config = await repoConfig();
    const partner = config.partners.get('hansen-textil');
    assert.ok(partner);
    const result = interpret(Buffer.from(`${'c;'.repeat(99_999)}c\n`), 'csv', partner, config);
    assert.deepEqual(
      result.problems.map((p) => [p.code, p.location?.line]),
      [['GW_CSV_SYNTAX', 1]],
    );
  });
});
