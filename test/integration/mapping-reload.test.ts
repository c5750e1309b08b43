import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { MAPPINGS } from '../helpers/corpus.js';
import { gatewaySuite, HANSEN_KEY, mappingsCopy, post, status, terminal, type TestGateway, waitFor } from '../helpers/gateway.js';

const execFileAsync = promisify(execFile);

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
    await writeFile(
      profile(),
      text.replace('version: 1', 'version: 2').replace('name: { value: Hansen Textil GmbH }', 'name: { value: Hansen Textil GmbH & Co. KG }'),
    );
    await waitFor(
      'reload',
      async () => t.gw.config().mappings.get('hansen-textil/stock-csv')?.version,
      (v) => v === 2,
    );

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

describe('a profile saved by rename (sed -i, most editors) is reloaded on every save', function () {
  this.timeout(60_000);
  const mappings = mappingsCopy();
  const suite = gatewaySuite({ env: { MAPPINGS_DIR: mappings } });
  let t: TestGateway;
  before(() => ({ t } = suite));
  const profile = () => path.join(mappings, 'hansen-textil', 'stock-csv.yaml');
  const version = () => t.gw.config().mappings.get('hansen-textil/stock-csv')?.version;
  const reloaded = (v: number, how: string) =>
    waitFor(
      `version ${v} after ${how}`,
      async () => version(),
      (x) => x === v,
      30_000,
    );

  it('picks up two saves by sed -i, then an in-place save, then a save by temporary file and rename', async () => {
    // sed -i writes a new file beside the old one and renames it over: a new inode each time.
    await execFileAsync('sed', ['-i', 's/^version: 1$/version: 2/', profile()]);
    await reloaded(2, 'the first sed -i');
    await execFileAsync('sed', ['-i', 's/^version: 2$/version: 3/', profile()]);
    await reloaded(3, 'the second sed -i');
    await writeFile(profile(), (await readFile(profile(), 'utf8')).replace('version: 3', 'version: 4'));
    await reloaded(4, 'an in-place save after the renames');
    const tmp = path.join(path.dirname(profile()), '.stock-csv.yaml.swp');
    await writeFile(tmp, (await readFile(profile(), 'utf8')).replace('version: 4', 'version: 5'));
    await rename(tmp, profile());
    await reloaded(5, 'a save by temporary file and rename');
  });
});
