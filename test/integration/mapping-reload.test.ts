import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MAPPINGS } from '../helpers/corpus.js';
import { gatewaySuite, HANSEN_KEY, mappingsCopy, post, status, terminal, type TestGateway, waitFor } from '../helpers/gateway.js';


describe('a new profile version is active without a restart (file watch)', function () {
  this.timeout(30_000);
  // The gateway watches a copy of mappings/, which the test edits as a partner manager would.
  const mappings = mappingsCopy();
  const suite = gatewaySuite({ env: { MAPPINGS_DIR: mappings } });
  let t: TestGateway;
  before(() => ({ t } = suite));
  const profile = () => path.join(mappings, 'hansen-textil', 'stock-csv.yaml');
  const stock = () => readFile(path.join(MAPPINGS, 'hansen-textil', 'samples', 'bestand-2026-11-20.csv'));

  it('uses the saved version for the next document, records it, and keeps the running one when a save is broken', async () => {
    const text = await readFile(profile(), 'utf8');
    await writeFile(profile(), text.replace('version: 1', 'version: 2').replace('name: { value: Hansen Textil GmbH }', 'name: { value: Hansen Textil GmbH & Co. KG }'));
    await waitFor('reload', async () => t.gw.config().mappings.get('hansen-textil/stock-csv')?.version, (v) => v === 2);

    const res = await post(t.gw.url, HANSEN_KEY, 'text/csv', await stock());
    const s = await waitFor('delivery', () => status(t.gw.url, HANSEN_KEY, res.body.messageId), terminal);
    assert.deepEqual(s.body.documents[0].profile, { id: 'hansen-textil/stock-csv', version: 2 });
    assert.equal(s.body.documents[0].canonical.supplier.name, 'Hansen Textil GmbH & Co. KG');

    // A broken save (an unknown transform) is refused; version 2 keeps working.
    await writeFile(profile(), text.replace('version: 1', 'version: 3').replace('transform: number, required: true', 'transform: numbr, required: true'));
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(t.gw.config().mappings.get('hansen-textil/stock-csv')?.version, 2);
    const again = await post(t.gw.url, HANSEN_KEY, 'text/csv', await stock());
    const s2 = await waitFor('delivery', () => status(t.gw.url, HANSEN_KEY, again.body.messageId), terminal);
    assert.equal(s2.body.state, 'delivered');
    assert.deepEqual(s2.body.documents[0].profile, { id: 'hansen-textil/stock-csv', version: 2 });
  });
});
