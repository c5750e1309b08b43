/**
 * Mapping alone: documents/s of each demo profile on its sample, the source already parsed, so
 * only the compiled rules run (paths, transforms, code lists, cross-references, unit conversion).
 *
 * Baselines in the same run, on the same document:
 * - a hand-written TypeScript function doing what northwind/asn-json does (the fastest a mapping
 *   can be; the ratio is the price of declaring it in YAML);
 * - reading and compiling the YAML profile for every document (what a profile compiled once per
 *   version saves).
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../src/config/load.js';
import { parseX12 } from '../src/formats/x12/parse.js';
import { parseCsv } from '../src/formats/csv/parse.js';
import { parseXml } from '../src/formats/xml/parse.js';
import { csvDocuments } from '../src/mapping/csv-source.js';
import { evaluateProfile } from '../src/mapping/engine.js';
import { jsonRoot } from '../src/mapping/json-source.js';
import { compileProfile, csvOptions, type CompiledProfile, type RawProfile } from '../src/mapping/profile.js';
import { x12Root } from '../src/mapping/x12-source.js';
import { xmlRoot } from '../src/mapping/xml-source.js';
import { opsPerSecond } from './lib.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const sample = (p: string) => readFileSync(path.join(REPO, 'mappings', p));
const config = await loadConfig({
  partnersDir: path.join(REPO, 'partners'),
  mappingsDir: path.join(REPO, 'mappings'),
  env: { GATEWAY_DATA_DIR: path.join(tmpdir(), 'gw-bench') },
});
const profile = (id: string) => config.mappings.get(id) as CompiledProfile<never>;

// Northwind's JSON ship notice: the profile against a hand-written mapper and against compiling per document.
const nwText = sample('northwind/samples/asn.json').toString('utf8');
const nwData = JSON.parse(nwText) as Record<string, any>;
const nwProfile = profile('northwind/asn-json');
const nwYaml = readFileSync(path.join(REPO, 'mappings/northwind/asn-json.yaml'), 'utf8');
const UNITS: Record<string, string> = { EA: 'each', CS: 'case', PK: 'pack', BX: 'box', PL: 'pallet' };
function handWritten(d: Record<string, any>): Record<string, unknown> {
  const iso = (s: string) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
    if (!m) throw new Error('date');
    return `${m[1]}-${m[2]}-${m[3]}`;
  };
  return {
    shipmentId: d.shipmentNumber,
    shipDate: iso(d.shippedOn),
    ...(d.tracking?.number ? { trackingNumber: d.tracking.number } : {}),
    ...(d.tracking?.carrier ? { carrier: { code: d.tracking.carrier } } : {}),
    orders: (d.purchaseOrders as any[]).map((o) => ({
      purchaseOrderNumber: o.number,
      items: (o.lines as any[]).map((l) => ({
        lineNumber: String(l.line),
        vendorSku: l.sku,
        ...(l.gtin ? { upc: l.gtin } : {}),
        ...(l.description ? { description: l.description } : {}),
        quantity: Number(l.quantity),
        unit: UNITS[l.uom],
      })),
    })),
  };
}
const mapped = evaluateProfile(nwProfile, jsonRoot(nwData));
if (mapped.problems.length) throw new Error(`the northwind sample does not map: ${JSON.stringify(mapped.problems)}`);
// The baseline must do the same work: it produces the same document.
if (JSON.stringify(handWritten(nwData)) !== JSON.stringify(mapped.document))
  throw new Error(`the hand-written baseline differs from the profile:\n${JSON.stringify(handWritten(nwData))}\n${JSON.stringify(mapped.document)}`);

const rows: { what: string; perSecond: number }[] = [];
const measure = (what: string, fn: () => void) => {
  fn();
  rows.push({ what, perSecond: opsPerSecond(fn) });
};
measure('northwind/asn-json: hand-written TypeScript (baseline)', () => handWritten(nwData));
measure('northwind/asn-json: compiled profile', () => evaluateProfile(nwProfile, jsonRoot(nwData)));
measure('northwind/asn-json: YAML read and compiled per document', () =>
  evaluateProfile(compileProfile(parseYaml(nwYaml) as RawProfile, 'asn-json.yaml'), jsonRoot(nwData)),
);

// The other source formats, each with the parsed sample.
const set856 = parseX12(sample('acme-supply/samples/856-004010-cases-xref.edi'))[0]?.groups[0]?.sets[0];
if (!set856) throw new Error('no 856 set');
const acme = profile('acme-supply/856-004010');
measure('acme-supply/856-004010 (X12 HL tree, xref, case → each)', () => evaluateProfile(acme, x12Root(set856) as never));
const cxml = parseXml(sample('globex-office/samples/ShipNoticeRequest-with-items.xml'));
const globex = profile('globex-office/ship-notice-cxml');
const scope = xmlRoot(cxml).at(globex.root as never);
measure('globex-office/ship-notice-cxml (cXML)', () => evaluateProfile(globex, scope as never));
const hansen = profile('hansen-textil/stock-csv');
const opts = csvOptions(hansen.source as never);
const table = parseCsv(sample('hansen-textil/samples/bestand-2026-11-20.csv'), opts);
const csvDoc = csvDocuments(table, opts)[0]?.node;
measure('hansen-textil/stock-csv (CSV, Windows-1252, 3 rows)', () => evaluateProfile(hansen, csvDoc as never));

const base = rows[0]?.perSecond ?? 1;
console.log('Mapping alone (documents/s; ratio to the hand-written baseline in this run):');
for (const r of rows)
  console.log(`  ${r.what.padEnd(66)} ${Math.round(r.perSecond).toLocaleString('en-US').padStart(10)} /s  ${(r.perSecond / base).toFixed(3)}×`);
const compiled = rows[1]?.perSecond ?? 0;
const perDoc = rows[2]?.perSecond ?? 1;
console.log(`  compiled once is ${(compiled / perDoc).toFixed(1)}× faster than reading the YAML for every document`);
