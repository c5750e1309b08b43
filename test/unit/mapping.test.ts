import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseX12 } from '../../src/formats/x12/parse.js';
import { evaluateProfile } from '../../src/mapping/engine.js';
import { jsonPaths, jsonRoot } from '../../src/mapping/json-source.js';
import { compileProfile, type ProfileRuleError, type RawProfile } from '../../src/mapping/profile.js';
import { applyTransform, TransformError } from '../../src/mapping/transforms.js';
import { x12Paths, x12Root } from '../../src/mapping/x12-source.js';
import { MAPPINGS } from '../helpers/corpus.js';

const sopi = parseX12(readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004010-SOPI-pipe.edi')))[0]?.groups[0]?.sets[0];

describe('mapping/x12-source paths', () => {
  it('compiles element, qualifier, pair, component, ancestor and HL paths', () => {
    assert.deepEqual(x12Paths.value('BSN02'), { kind: 'value', up: false, hl: [], tag: 'BSN', element: 2 });
    assert.deepEqual(x12Paths.value('REF[BM].02'), { kind: 'value', up: false, hl: [], tag: 'REF', qualifier: { pos: 1, value: 'BM' }, element: 2 });
    assert.deepEqual(x12Paths.value('DTM[02=20190916].01'), {
      kind: 'value',
      up: false,
      hl: [],
      tag: 'DTM',
      qualifier: { pos: 2, value: '20190916' },
      element: 1,
    });
    assert.deepEqual(x12Paths.value('LIN(UP)'), { kind: 'value', up: false, hl: [], tag: 'LIN', pair: 'UP', element: 0 });
    assert.deepEqual(x12Paths.value('^MAN[GM].02'), { kind: 'value', up: true, hl: [], tag: 'MAN', qualifier: { pos: 1, value: 'GM' }, element: 2 });
    assert.deepEqual(x12Paths.value('HL[S]/TD5.03.1'), { kind: 'value', up: false, hl: ['S'], tag: 'TD5', element: 3, component: 1 });
  });

  it('refuses malformed paths with a reason', () => {
    assert.throws(() => x12Paths.value('bsn02'), /is not an X12 path/);
    assert.throws(() => x12Paths.value('BSN'), /names no element; add one, e\.g\. BSN\.02/);
    assert.throws(() => x12Paths.value('LIN(UP).02'), /takes no element number/);
    assert.throws(() => x12Paths.selector('HL[O'), /is not an X12 selector/);
  });

  it('walks the HL hierarchy: nearest levels below, ancestors with ^', () => {
    assert.ok(sopi);
    const root = x12Root(sopi);
    const orders = root.each(x12Paths.selector('HL[O]'));
    assert.equal(orders.length, 1);
    const items = orders[0]?.each(x12Paths.selector('HL[I]')) ?? [];
    assert.equal(items.length, 1, 'items are found through the pack level');
    const item = items[0];
    assert.equal(item?.get(x12Paths.value('LIN(N4)'))?.value, '50242005306');
    assert.equal(item?.get(x12Paths.value('MAN[GM].02')), undefined, 'the carton id lives on the pack, not the item');
    const carton = item?.get(x12Paths.value('^MAN[GM].02'));
    assert.equal(carton?.value, '0354023220190916');
    assert.deepEqual(carton?.location, { segment: 'MAN', position: 27, element: 2, line: 1, transaction: '0001' });
    assert.equal(root.get(x12Paths.value('HL[S]/REF[BM].02'))?.value, '1Z764R371309889853');
    assert.equal(root.get(x12Paths.value('PRF.01')), undefined, 'the root does not see into HL levels without a step');
  });

  it('iterates loops with a qualifier and ends them at the next same tag', () => {
    assert.ok(sopi);
    const root = x12Root(sopi);
    const shipTo = root.at(x12Paths.selector('HL[S]/N1[SE]'));
    assert.equal(shipTo?.get(x12Paths.value('N1.02'))?.value, 'AmerisourceBergen');
    assert.equal(shipTo?.get(x12Paths.value('N4.01'))?.value, 'Chesterbrook');
    assert.equal(root.each(x12Paths.selector('HL[S]/N1')).length, 4);
  });
});

describe('mapping/json-source paths', () => {
  const root = jsonRoot({ a: { b: [{ c: 1 }, { c: 'x', 'odd key': true }] } });
  it('reads nested values with their JSONPath', () => {
    assert.deepEqual(root.get(jsonPaths.value('a.b[1].c')), { value: 'x', location: { jsonPath: '$.a.b[1].c' } });
    assert.deepEqual(root.get(jsonPaths.value('$.a.b[0].c')), { value: 1, location: { jsonPath: '$.a.b[0].c' } });
    assert.equal(root.get(jsonPaths.value('a.missing')), undefined);
    assert.deepEqual(
      root.each(jsonPaths.selector('a.b')).map((n) => n.location.jsonPath),
      ['$.a.b[0]', '$.a.b[1]'],
    );
  });
  it('refuses malformed paths', () => {
    assert.throws(() => jsonPaths.value('a..b'), /is not a JSON path/);
    assert.throws(() => jsonPaths.value('a[x]'), /is not a JSON path/);
  });
});

describe('mapping/transforms', () => {
  const t = (spec: Parameters<typeof applyTransform>[0], v: string | number) =>
    applyTransform(spec, v, { codeLists: { units: { EA: 'each' } }, xref: {}, decimal: '.' });
  it('converts X12 and ISO dates and times', () => {
    assert.equal(t({ date: 'CCYYMMDD' }, '20240229'), '2024-02-29');
    assert.equal(t({ date: 'YYMMDD' }, '991231'), '1999-12-31');
    assert.equal(t({ date: 'YYMMDD' }, '240101'), '2024-01-01');
    assert.equal(t({ date: 'ISO' }, '2026-11-20T10:00:00Z'), '2026-11-20');
    assert.equal(t({ time: 'HHMM' }, '1419'), '14:19');
    assert.equal(t({ time: 'HHMMSS' }, '142428'), '14:24:28');
    assert.throws(() => t({ date: 'CCYYMMDD' }, '20230229'), TransformError);
    assert.throws(() => t({ time: 'HHMM' }, '2460'), /not a HHMM time/);
  });
  it('parses numbers, implied decimals (X12 N2) and code lists', () => {
    assert.equal(t('number', '.58'), 0.58);
    assert.equal(t({ impliedDecimals: 2 }, '255438'), 2554.38);
    assert.equal(t({ impliedDecimals: 2 }, '-150'), -1.5);
    assert.equal(t('integer', '12'), 12);
    assert.equal(t({ multiply: 12 }, '2'), 24);
    assert.equal(t({ codeList: 'units' }, 'EA'), 'each');
    assert.throws(() => t('number', '1,5'), /"1,5" is not a number/);
    assert.throws(() => t('integer', '1.5'), /not a whole number/);
    assert.throws(() => t({ impliedDecimals: 2 }, '25.5'), /implied-decimal/);
    assert.throws(() => t({ codeList: 'units' }, 'XX'), /"XX" is not in code list units \(known: EA\)/);
  });
  it('says whether a failed value should have been a date or a time (997 AK4 8 or 9), whatever its text', () => {
    const expected = (spec: Parameters<typeof applyTransform>[0], v: string) => {
      try {
        t(spec, v);
      } catch (err) {
        return (err as TransformError).expected ?? 'value';
      }
      return 'no error';
    };
    assert.equal(expected({ date: 'CCYYMMDD' }, '20230229'), 'date');
    assert.equal(expected({ date: 'ISO' }, 'tomorrow'), 'date');
    assert.equal(expected({ time: 'HHMM' }, '2460'), 'time');
    assert.equal(expected({ codeList: 'units' }, 'update'), 'value', 'a code that reads "date" is still a code');
    assert.equal(expected('number', 'datetime'), 'value');
  });
});

describe('mapping/engine', () => {
  const profile = (fields: RawProfile['fields']): RawProfile => ({
    id: 'p/x',
    version: 3,
    source: { format: 'json', match: { path: 'kind', equals: 'k' } },
    target: { type: 'invoice', version: 1 },
    fields,
  });

  it('reports every problem with the rule and source location, not only the first', () => {
    const compiled = compileProfile(
      profile({
        number: { from: 'no', required: true },
        date: { from: 'when', transform: { date: 'ISO' } },
        lines: { each: 'lines', required: true, fields: { qty: { from: 'q', transform: 'number' } } },
        fixed: { value: 'USD' },
        fallback: { from: ['missing', 'alt'] },
        dflt: { from: 'nothing', default: 7 },
      }),
      'mem.yaml',
    );
    const r = evaluateProfile(compiled, jsonRoot({ when: 'soon', lines: [{ q: '1' }, { q: 'many' }], alt: 'B' }));
    assert.deepEqual(r.document, { lines: [{ qty: 1 }, {}], fixed: 'USD', fallback: 'B', dflt: 7 });
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.location?.rule, p.location?.jsonPath]),
      [
        ['GW_MAP_REQUIRED', 'fields.number', '$'],
        ['GW_MAP_TRANSFORM', 'fields.date', '$.when'],
        ['GW_MAP_TRANSFORM', 'fields.lines.fields.qty', '$.lines[1].q'],
      ],
    );
    assert.deepEqual(r.provenance.get('/lines/0/qty'), { jsonPath: '$.lines[0].q' });
  });

  it('refuses at compile time a bad path or an undefined code list, naming the rule', () => {
    assert.throws(
      () => compileProfile(profile({ a: { from: 'x..y' } }), 'f'),
      (e: ProfileRuleError) => e.rule.join('.') === 'fields.a.from',
    );
    assert.throws(
      () => compileProfile(profile({ a: { from: 'x', transform: [{ codeList: 'nope' }] } }), 'f'),
      (e: ProfileRuleError) => e.rule.join('.') === 'fields.a.transform.0' && /code list "nope"/.test(e.message),
    );
  });
});
