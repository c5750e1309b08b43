import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateApiKey } from '../../src/security/api-keys.js';
import { runCli } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import type { ErpReceiver } from '../helpers/erp.js';
import { gatewaySuite, mappingsCopy, post, status, terminal, type TestGateway, waitFor } from '../helpers/gateway.js';

/** The YAML block that follows the README line naming `file`, in the "Add a partner" section. */
function readmeBlock(file: string): string {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Add a partner'));
  const at = section.indexOf(`\`${file}\``);
  assert.ok(at > 0, `README's "Add a partner" names ${file}`);
  const block = /```yaml\n([\s\S]*?)```/.exec(section.slice(at));
  assert.ok(block?.[1], `a YAML block follows ${file}`);
  return block[1].replace(/^ {3}/gm, '');
}

describe('README\'s "add a partner" walk-through: YAML and a sample only, picked up by a running gateway', function () {
  // CLI commands are node processes compiling TypeScript: seconds each on a loaded machine.
  this.timeout(180_000);
  const mappings = mappingsCopy();
  const suite = gatewaySuite({ env: { MAPPINGS_DIR: mappings } });
  let t: TestGateway;
  let erp: ErpReceiver;
  before(() => ({ t, erp } = suite));

  it('onboards initech with the README files and delivers its CSV ship notice as a canonical ASN', async () => {
    const key = generateApiKey('initech1');
    mkdirSync(path.join(mappings, 'initech', 'samples'), { recursive: true });
    writeFileSync(path.join(mappings, 'initech', 'asn-csv.yaml'), readmeBlock('mappings/initech/asn-csv.yaml'));
    const partner = readmeBlock('partners/initech.yaml')
      .replace('<from npx gateway keys generate initech1>', key.sha256)
      .replace('"https://erp.example.com/inbound"', `"${erp.url}"`)
      .replace('"https://erp-test.example.com/inbound"', `"${erp.url}"`);
    writeFileSync(path.join(t.partnersDir, 'initech.yaml'), partner);
    await waitFor('the new partner', async () => t.gw.config().partners.has('initech'), Boolean);

    const csv =
      'Shipment,Shipped,Tracking,PO,SKU,Qty,UOM\n' +
      'SH-1,11/20/2026,1Z1,PO-7,IN-100,4,CS\n' +
      'SH-1,11/20/2026,1Z1,PO-8,IN-200,10,EA\n' +
      'SH-2,11/21/2026,,PO-9,IN-100,1,CS\n';
    const res = await post(t.gw.url, key.key, 'text/csv', csv);
    assert.equal(res.status, 202);
    const s = await waitFor('delivery', () => status(t.gw.url, key.key, res.body.messageId), terminal);
    assert.equal(s.body.state, 'delivered', JSON.stringify(s.body.documents.map((d: { problems: unknown }) => d.problems)));
    assert.deepEqual(
      s.body.documents.map(
        (d: { canonical: { shipmentId: string; orders: { purchaseOrderNumber: string; items: { quantity: number; unit: string }[] }[] } }) => [
          d.canonical.shipmentId,
          d.canonical.orders.map((o) => `${o.purchaseOrderNumber}:${o.items[0]?.quantity} ${o.items[0]?.unit}`),
        ],
      ),
      [
        ['SH-1', ['PO-7:4 case', 'PO-8:10 each']],
        ['SH-2', ['PO-9:1 case']],
      ],
    );
    assert.deepEqual(s.body.documents[0].profile, { id: 'initech/asn-csv', version: 1 });
    assert.equal(erp.requests.filter((r) => r.body.messageId === res.body.messageId).length, 2);
    assert.deepEqual(
      s.body.deliveries.map((d: { target: string }) => d.target),
      ['erp-test', 'erp-test'],
      'a partner in testing reaches its test route only',
    );

    // The README's go-live: approve, then live, with the CLI against the same database.
    const cli = (args: string[]) =>
      runCli(['partners', ...args], { env: { DATABASE_URL: suite.db.url, GATEWAY_DATA_DIR: t.dataDir, PARTNERS_DIR: t.partnersDir, MAPPINGS_DIR: mappings } });
    for (const args of [
      ['approve', 'initech', '--name', 'Pat Manager'],
      ['state', 'initech', 'live'],
    ]) {
      const r = await cli(args);
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    }
    const live = await post(t.gw.url, key.key, 'text/csv', csv.replaceAll('SH-', 'SH-L'));
    const after = await waitFor('delivery after go-live', () => status(t.gw.url, key.key, live.body.messageId), terminal);
    assert.deepEqual(
      after.body.deliveries.map((d: { target: string }) => d.target),
      ['erp', 'erp'],
      'once live, the production route only',
    );
  });
});
