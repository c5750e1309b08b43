import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { evaluateProfile } from '../../src/mapping/engine.js';
import { parseCsv } from '../../src/formats/csv/parse.js';
import { parseXml } from '../../src/formats/xml/parse.js';
import { csvDocuments, csvPaths } from '../../src/mapping/csv-source.js';
import { jsonRoot } from '../../src/mapping/json-source.js';
import { compileProfile, csvOptions, type RawProfile } from '../../src/mapping/profile.js';
import { applyTransform, type TransformError, type XrefTable } from '../../src/mapping/transforms.js';
import { xmlPaths, xmlRoot } from '../../src/mapping/xml-source.js';
import { interpret } from '../../src/pipeline/interpret.js';
import { repoConfig } from '../helpers/config.js';
import { CORPUS, MAPPINGS, requireCorpus } from '../helpers/corpus.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('mapping/xml source', () => {
  const doc = parseXml(
    bytes(`<?xml version="1.0"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.050/cXML.dtd">
<cXML payloadID="p-1">
  <Request>
    <Order id="A &amp; B">
      <Item line="1"><Part domain="SKU">X-1</Part><Part domain="UPC">012345678905</Part></Item>
      <Item line="2"><Part domain="SKU"><![CDATA[Y<2>]]></Part></Item>
    </Order>
  </Request>
</cXML>`),
  );
  const root = xmlRoot(doc);
  const order = root.at(xmlPaths.selector('Request/Order')) as ReturnType<typeof root.at> & object;

  it('reads attributes, text, predicates, positions, parents and absolute paths, with line numbers', () => {
    assert.deepEqual(order.get(xmlPaths.value('@id')), { value: 'A & B', location: { xmlPath: '/cXML/Request/Order/@id', line: 5 } });
    assert.equal(order.get(xmlPaths.value('Item/Part[@domain=UPC]'))?.value, '012345678905');
    assert.deepEqual(order.get(xmlPaths.value('Item[2]/Part')), { value: 'Y<2>', location: { xmlPath: '/cXML/Request/Order/Item[2]/Part', line: 7 } });
    assert.equal(order.get(xmlPaths.value('/cXML/@payloadID'))?.value, 'p-1');
    const items = order.each(xmlPaths.selector('Item'));
    assert.deepEqual(
      items.map((i) => i.location.xmlPath),
      ['/cXML/Request/Order/Item[1]', '/cXML/Request/Order/Item[2]'],
    );
    assert.equal(items[1]?.get(xmlPaths.value('../@id'))?.value, 'A & B');
    assert.equal(order.get(xmlPaths.value('Item/Part[@domain=GTIN]')), undefined);
  });

  it('refuses malformed XML with its line and column, and any DTD internal subset (no entity expansion)', () => {
    assert.throws(
      () => parseXml(bytes('<a>\n<b></a>')),
      (e: { code: string; location: { line: number } }) => e.code === 'GW_XML_SYNTAX' && e.location.line === 2,
    );
    const bomb = '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n<lolz>&lol2;</lolz>';
    assert.throws(
      () => parseXml(bytes(bomb)),
      (e: { code: string; location: { line: number } }) => e.code === 'GW_XML_DTD' && e.location.line === 2,
    );
    const external = '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<r>&x;</r>';
    assert.throws(() => parseXml(bytes(external)), /internal subset/);
  });

  it('refuses malformed paths at compile time', () => {
    assert.throws(() => xmlPaths.value('A/@'), /not an attribute name/);
    assert.throws(() => xmlPaths.value('A[x y]'), /predicate/);
    assert.throws(() => xmlPaths.selector('A/@id'), /selector must name elements/);
  });
});

describe('mapping/csv source', () => {
  it('decodes Windows-1252, reads quoted fields with doubled quotes and line breaks, and keeps line numbers', () => {
    const text = 'sku;name;qty\r\nA-1;"Größe ""L""";1,5\r\nA-2;"two\r\nlines";2\r\n\r\nA-3;plain;3\r\n';
    const table = parseCsv(Buffer.from(text, 'latin1'), { header: true, delimiter: ';', quote: '"', encoding: 'windows-1252', skipRows: 0 });
    assert.deepEqual(table.columns, ['sku', 'name', 'qty']);
    assert.deepEqual(
      table.rows.map((r) => [r.line, r.values[1]]),
      [
        [2, 'Größe "L"'],
        [3, 'two\r\nlines'],
        [6, 'plain'],
      ],
    );
    const [doc] = csvDocuments(table, csvOptions({ format: 'csv' }));
    const rows = doc?.node.each(csvPaths.selector('rows')) ?? [];
    assert.deepEqual(rows[2]?.get(csvPaths.value('qty')), { value: '3', location: { line: 6, column: 3, csvColumn: 'qty' } });
    assert.equal(rows[0]?.get(csvPaths.value('#2'))?.value, 'Größe "L"');
  });

  it('reads positional columns without a header, and groups rows into one document per key', () => {
    const table = parseCsv(bytes('INV1,1,A\nINV1,2,B\nINV2,1,C\n'), { header: false, delimiter: ',', quote: '"', encoding: 'utf-8', skipRows: 0 });
    const docs = csvDocuments(table, { ...csvOptions({ format: 'csv', header: false }), groupBy: '#1' });
    assert.deepEqual(
      docs.map((d) => [d.firstLine, d.lastLine, d.node.get(csvPaths.value('#1'))?.value]),
      [
        [1, 2, 'INV1'],
        [3, 3, 'INV2'],
      ],
    );
  });

  it('iterates rows grouped by a column (each: rows by PO), in first-seen order, each group keeping its rows', () => {
    const table = parseCsv(bytes('PO,SKU\nPO-7,A\nPO-8,B\nPO-7,C\n'), { header: true, delimiter: ',', quote: '"', encoding: 'utf-8', skipRows: 0 });
    const [doc] = csvDocuments(table, csvOptions({ format: 'csv', header: true }));
    const orders = doc?.node.each(csvPaths.selector('rows by PO')) ?? [];
    assert.deepEqual(
      orders.map((o) => [o.get(csvPaths.value('PO'))?.value, o.each(csvPaths.selector('rows')).map((r) => r.get(csvPaths.value('SKU'))?.value)]),
      [
        ['PO-7', ['A', 'C']],
        ['PO-8', ['B']],
      ],
    );
    assert.throws(() => csvPaths.selector('rows of PO'), /each: rows by <column>/);
  });

  it('refuses an unterminated quote with its line, and bytes that are not UTF-8 when UTF-8 is declared', () => {
    assert.throws(
      () => parseCsv(bytes('a,b\n1,"open\n'), csvOptions({ format: 'csv' })),
      (e: { code: string }) => e.code === 'GW_CSV_SYNTAX',
    );
    assert.throws(() => parseCsv(Buffer.from('a\nGr\xf6\xdfe\n', 'latin1'), csvOptions({ format: 'csv' })), /not valid utf-8.*windows-1252/);
  });
});

describe('mapping/transforms: dates, zones, numbers, text, cross-references', () => {
  const items: XrefTable = {
    file: 'mappings/x/items.csv',
    key: 'vendorSku',
    columns: ['vendorSku', 'buyerSku'],
    rows: new Map([['V1', { vendorSku: 'V1', buyerSku: 'B1' }]]),
  };
  const t = (spec: Parameters<typeof applyTransform>[0], v: string | number, decimal: '.' | ',' = '.') =>
    applyTransform(spec, v, { codeLists: {}, xref: { items }, decimal });

  it('reads date patterns suppliers use and refuses impossible dates', () => {
    assert.equal(t({ date: 'DD-MM-CCYY' }, '30-06-2008'), '2008-06-30');
    assert.equal(t({ date: 'DD.MM.CCYY' }, '20.11.2026'), '2026-11-20');
    assert.equal(t({ date: 'MM/DD/YY' }, '02/29/24'), '2024-02-29');
    assert.throws(() => t({ date: 'DD.MM.CCYY' }, '31.04.2026'), /not a calendar date/);
    assert.throws(() => t({ date: 'DD.MM.CCYY' }, '2026-04-30'), /not a date in the format DD\.MM\.CCYY/);
  });

  it('turns date-times with zones into UTC instants, daylight saving included', () => {
    assert.equal(t('dateTime', '2000-10-14T08:30:19-08:00'), '2000-10-14T16:30:19Z');
    assert.equal(t('dateTime', '2026-11-20T08:15:00Z'), '2026-11-20T08:15:00Z');
    assert.equal(t({ dateTime: { format: 'CCYYMMDDHHmm', zone: 'America/Chicago' } }, '202607011200'), '2026-07-01T17:00:00Z');
    assert.equal(t({ dateTime: { format: 'CCYYMMDDHHmm', zone: 'America/Chicago' } }, '202612011200'), '2026-12-01T18:00:00Z');
    assert.equal(t({ dateTime: { format: 'CCYYMMDDHHmm', zone: '+05:30' } }, '202612011200'), '2026-12-01T06:30:00Z');
    assert.throws(() => t('dateTime', '2026-11-20T08:15:00'), /with a zone/);
    assert.throws(() => t({ dateTime: { format: 'CCYYMMDDHHmm' } }, '202612012460'), /impossible time/);
  });

  it('reads decimal commas and thousands separators, and refuses ambiguous numbers', () => {
    assert.equal(t('number', '1.049,00', ','), 1049);
    assert.equal(t('number', '48,5', ','), 48.5);
    assert.equal(t({ number: { decimal: ',' } }, '-2,75'), -2.75);
    assert.equal(t('number', '1,234.5'), 1234.5);
    assert.equal(t('number', '12.50-'), -12.5);
    assert.throws(() => t('number', '1.5', ','), /decimal comma/);
    assert.throws(() => t('number', '12,34.5'), /misplaced/);
  });

  it('slices, replaces, prefixes; looks items up and names the table when a key is unknown', () => {
    assert.equal(t({ substring: [2, 3] }, 'ABCDEFG'), 'CDE');
    assert.equal(t({ replace: ['-', ''] }, '12-34-5'), '12345');
    assert.equal(t({ prefix: 'Net ' }, '30'), 'Net 30');
    assert.equal(t({ xref: 'items', column: 'buyerSku' }, ' V1 '), 'B1');
    assert.throws(
      () => t({ xref: 'items', column: 'buyerSku' }, 'V9'),
      (e: TransformError) =>
        e.code === 'GW_MAP_XREF' && /"V9" is not in cross-reference table items \(mappings\/x\/items\.csv, column vendorSku\)/.test(e.message),
    );
  });
});

describe('mapping/engine: conditions, concatenation, lists and unit conversion', () => {
  const packs: XrefTable = {
    file: 'mappings/x/packs.csv',
    key: 'sku',
    columns: ['sku', 'caseQty'],
    rows: new Map([
      ['S1', { sku: 'S1', caseQty: '12' }],
      ['S2', { sku: 'S2', caseQty: 'x' }],
    ]),
  };
  const profile = (fields: RawProfile['fields']): RawProfile => ({
    id: 'p/x',
    version: 1,
    source: { format: 'json', match: { path: 'k', equals: 'k' } },
    target: { type: 'invoice', version: 1 },
    fields,
  });

  it('applies rules only when their qualifier matches, joins values, builds fixed lists', () => {
    const p = compileProfile(
      profile({
        ref: { from: 'ref.value', when: { path: 'ref.qualifier', in: ['PK', 'BM'] } },
        other: { from: 'ref.value', when: { path: 'ref.qualifier', equals: 'CN' } },
        street: { concat: ['addr.line1', 'addr.line2', 'addr.line3'], separator: ', ' },
        quantities: {
          list: [{ fields: { kind: { value: 'on-hand' }, q: 'onHand' } }, { when: { path: 'onOrder' }, fields: { kind: { value: 'on-order' }, q: 'onOrder' } }],
        },
      }),
      'mem.yaml',
    );
    const r = evaluateProfile(p, jsonRoot({ ref: { qualifier: 'PK', value: 'P-1' }, addr: { line1: '1 Main St', line3: 'Suite 4' }, onHand: 5 }));
    assert.deepEqual(r.document, { ref: 'P-1', street: '1 Main St, Suite 4', quantities: [{ kind: 'on-hand', q: 5 }] });
  });

  it('converts quantities by fixed and per-item factors, keeping the supplier figures, and reports what it cannot convert', () => {
    const p = compileProfile(
      profile({
        lines: {
          each: 'lines',
          units: { to: 'each', price: 'price', factors: { dozen: 12 }, perItem: { case: { xref: 'packs', by: 'sku', column: 'caseQty' } } },
          fields: { sku: 'sku', quantity: { from: 'q', transform: 'number' }, unit: 'u', price: { from: 'p', transform: 'number' } },
        },
      }),
      'mem.yaml',
      { packs },
    );
    const r = evaluateProfile(
      p,
      jsonRoot({
        lines: [
          { sku: 'S1', q: '2', u: 'case', p: '24' },
          { sku: 'S1', q: '1', u: 'dozen' },
          { sku: 'S3', q: '1', u: 'case' },
          { sku: 'S2', q: '1', u: 'case' },
          { sku: 'S1', q: '1', u: 'pallet' },
          { sku: 'S1', q: '3', u: 'each' },
        ],
      }),
    );
    const lines = r.document.lines as Record<string, unknown>[];
    assert.deepEqual(lines[0], { sku: 'S1', quantity: 24, unit: 'each', price: 2, supplierQuantity: 2, supplierUnit: 'case', supplierPrice: 24 });
    assert.deepEqual(lines[1], { sku: 'S1', quantity: 12, unit: 'each', supplierQuantity: 1, supplierUnit: 'dozen' });
    assert.deepEqual(lines[5], { sku: 'S1', quantity: 3, unit: 'each' });
    assert.deepEqual(
      r.problems.map((x) => [x.code, x.location?.rule, x.location?.jsonPath, /S3|"x"|pallet/.exec(x.message)?.[0]]),
      [
        ['GW_MAP_UNIT', 'fields.lines.units', '$.lines[2].u', 'S3'],
        ['GW_MAP_UNIT', 'fields.lines.units', '$.lines[3].u', '"x"'],
        ['GW_MAP_UNIT', 'fields.lines.units', '$.lines[4].u', 'pallet'],
      ],
    );
  });

  it('refuses at compile time a units block naming a field the rule does not define', () => {
    assert.throws(
      () => compileProfile(profile({ lines: { each: 'lines', units: { to: 'each', quantity: 'qty' }, fields: { quantity: 'q', unit: 'u' } } }), 'f'),
      /units names the field "qty"/,
    );
  });
});

describe('mapping: the shared corpus price list (GPL-2.0, read from ../shared only)', () => {
  it('translates the semicolon, decimal-comma supplier price list with the hansen-textil profile', async function () {
    requireCorpus(this);
    const config = await repoConfig();
    const partner = config.partners.get('hansen-textil');
    assert.ok(partner);
    const file = path.join(CORPUS, 'csv', 'supplier-price-list_semicolon_decimal-comma_bots.csv');
    const result = interpret(readFileSync(file), 'csv', partner, config, path.basename(file));
    const [doc] = result.documents;
    assert.equal(doc?.type, 'price-list');
    assert.deepEqual(doc?.problems, []);
    const list = doc?.canonical as { items: { upc: string; unitPrice: number; promoPrice?: number; validFrom?: string; color?: string }[] };
    assert.equal(list.items.length, readFileSync(file, 'latin1').trim().split(/\r?\n/).length - 1);
    assert.deepEqual(list.items[0], {
      upc: '8712345678906',
      vendorSku: '123456',
      description: 'Description article 123456',
      size: 'L',
      color: 'white',
      productGroup: '1234567890XXX',
      unitPrice: 40,
      validFrom: '2008-06-30',
      validUntil: '2008-06-30',
    });
    assert.equal(list.items[2]?.promoPrice, 30);
  });

  it('keeps every demo sample next to its expected output', () => {
    assert.ok(readFileSync(path.join(MAPPINGS, 'hansen-textil', 'samples', 'preisliste-2026-12.csv.expected.json'), 'utf8').includes('"unitPrice": 1049'));
  });
});
