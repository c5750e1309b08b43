import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readAudit } from '../../src/security/audit.js';
import { addUser } from '../../src/security/users.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { gatewaySuite, HANSEN_KEY, mappingsCopy, post, status, terminal, waitFor } from '../helpers/gateway.js';
import { PortalClient } from '../helpers/portal-client.js';

const PROFILE = 'hansen-textil/stock-csv';
const PAGE = `/portal/mappings/${PROFILE}`;
const PASSWORD = 'workbench password 1';

describe('mapping workbench pages (real server, real PostgreSQL, a private mappings/)', function () {
  this.timeout(120_000);
  const mappings = mappingsCopy();
  const s = gatewaySuite({ env: { MAPPINGS_DIR: mappings } });
  const pia = new PortalClient(() => s.url);
  const file = () => path.join(mappings, 'hansen-textil', 'stock-csv.yaml');
  const stock = () => readFile(path.join(MAPPINGS, 'hansen-textil', 'samples', 'bestand-2026-11-20.csv'));

  before(async () => {
    const now = new Date();
    await addUser(s.db.knex, { username: 'pia', displayName: 'Pia', role: 'partner-manager', partnerId: null }, PASSWORD, now);
    await addUser(s.db.knex, { username: 'olga', displayName: 'Olga', role: 'operations', partnerId: null }, PASSWORD, now);
    await addUser(s.db.knex, { username: 'sue', displayName: 'Sue', role: 'supplier', partnerId: 'acme-supply' }, PASSWORD, now);
    await pia.signIn('pia', PASSWORD);
  });

  /** The workbench form as the page holds it, with `fields` changed, posted multipart. */
  async function submit(fields: Record<string, string>) {
    const page = await pia.request(PAGE);
    assert.equal(page.status, 200, page.text);
    const hidden = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(page.text)?.[1] ?? '';
    const form = new FormData();
    const all: Record<string, string> = { csrf: hidden('csrf'), hash: hidden('hash'), text: await readFile(file(), 'utf8'), pick: '', pasted: '', ...fields };
    for (const [k, v] of Object.entries(all)) form.append(k, v);
    return pia.request(PAGE, { multipart: form });
  }

  it('lists every profile with partner, type, version and file, linked from the home page', async () => {
    assert.match((await pia.request('/portal/')).text, /<a href="\/portal\/mappings">Mapping profiles<\/a>/);
    const list = await pia.request('/portal/mappings');
    assert.equal(list.status, 200);
    assert.match(list.text, new RegExp(`<a href="${PAGE}">${PROFILE}</a></td><td>hansen-textil</td><td>inbound</td><td>inventory</td><td>1</td>`));
    assert.match(list.text, /x12-standard\/purchase-order-850<\/a><\/td><td>x12-standard<\/td><td>outbound<\/td><td>purchase-order<\/td>/);
    const open = await pia.request(PAGE);
    assert.match(open.text, /<option value="file:bestand-2026-11-20.csv">bestand-2026-11-20.csv<\/option>/);
    assert.match(open.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  });

  it('tries a sample: numbered source rows, the canonical result and no errors', async () => {
    const r = await submit({ pick: 'file:bestand-2026-11-20.csv', action: 'try' });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /<tr><td>1<\/td><td><code>Artikelnr;EAN;/);
    assert.match(r.text, /<tr><td>2<\/td><td><code>HT-1001;4012345000017;&quot;Handtuch 50x100 weiß&quot;/, 'decoded as the profile reads it (windows-1252)');
    assert.match(r.text, /&quot;name&quot;: &quot;Hansen Textil GmbH&quot;/);
    assert.match(r.text, /<p>No errors.<\/p>/);
  });

  it('shows a sample error with its code and where, in words', async () => {
    const sample = (await stock()).toString('latin1').replace(/\n([^;\n]*);/, '\n$1;x');
    const r = await submit({ pasted: sample, action: 'try' });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /<td><code>GW_[A-Z_]+<\/code><\/td><td>[^<]*line \d+/);
  });

  it('refuses a schema error with its line, and leaves the file as it was', async () => {
    const before = await readFile(file(), 'utf8');
    const broken = before.replace('description:', 'descripton:');
    const line = broken.split('\n').findIndex((l) => l.startsWith('descripton:')) + 1;
    const r = await submit({ text: broken, confirm: 'yes', action: 'save' });
    assert.equal(r.status, 422, r.text);
    assert.match(
      r.text,
      new RegExp(`<code>GW_WORKBENCH_INVALID</code> at <strong>line ${line}, column 1</strong>: [^<]*unknown property &quot;descripton&quot;`),
    );
    assert.equal(await readFile(file(), 'utf8'), before);
    assert.equal(s.t.gw.config().mappings.get(PROFILE)?.version, 1);
  });

  it('refuses a save when the file changed on disk since the page was opened, and keeps the other change', async () => {
    const opened = await readFile(file(), 'utf8');
    const hash = /name="hash" value="([0-9a-f]{64})"/.exec((await pia.request(PAGE)).text)?.[1];
    assert.ok(hash);
    // Someone else saves meanwhile (an editor, another manager).
    const theirs = `${opened}# reviewed by Ole\n`;
    await writeFile(file(), theirs);
    const r = await submit({ hash, text: opened.replace('GmbH }', 'GmbH (mine) }'), confirm: 'yes', action: 'save' });
    assert.equal(r.status, 409, r.text);
    assert.match(r.text, /GW_WORKBENCH_STALE<\/code>: stock-csv.yaml changed on disk since this page was opened/);
    assert.match(r.text, /Hansen Textil GmbH \(mine\)/, 'the edited text stays on the page');
    assert.equal(await readFile(file(), 'utf8'), theirs);
    await writeFile(file(), opened);
  });

  it('shows per sample what the edit changes, then saves it as the next version, which the gateway runs at once', async () => {
    const sent = await post(s.url, HANSEN_KEY, 'text/csv', await stock());
    await waitFor('delivery', () => status(s.url, HANSEN_KEY, sent.body.messageId), terminal);
    const edited = (await readFile(file(), 'utf8')).replace('name: { value: Hansen Textil GmbH }', 'name: { value: Hansen Textil GmbH & Co. KG }');

    const diff = await submit({ text: edited, action: 'diff' });
    assert.equal(diff.status, 200, diff.text);
    assert.match(
      diff.text,
      new RegExp(
        '<strong>bestand-2026-11-20.csv</strong>: 1 change\\(s\\)<pre class="scroll">' +
          '~ /0/document/supplier/name: &quot;Hansen Textil GmbH&quot; → &quot;Hansen Textil GmbH &amp; Co. KG&quot;',
      ),
    );
    assert.match(diff.text, /hansen-textil message [0-9a-f]{8} of [^<]*<\/strong>: 1 change\(s\)/, 'a recent message of the partner is compared too');

    const saved = await submit({ text: edited, confirm: 'yes', action: 'save' });
    assert.equal(saved.status, 303, saved.text);
    assert.equal(saved.location, `${PAGE}?saved=2`);
    const onDisk = await readFile(file(), 'utf8');
    assert.equal(onDisk, edited.replace(/^version: 1$/m, 'version: 2'), 'the edited text, its version bumped, every other byte kept');
    assert.match(onDisk, /^# Hansen's daily stock report/m);
    assert.equal(s.t.gw.config().mappings.get(PROFILE)?.version, 2);

    const next = await post(s.url, HANSEN_KEY, 'text/csv', await stock());
    const done = await waitFor('delivery', () => status(s.url, HANSEN_KEY, next.body.messageId), terminal);
    assert.deepEqual(done.body.documents[0].profile, { id: PROFILE, version: 2 });
    assert.equal(done.body.documents[0].canonical.supplier.name, 'Hansen Textil GmbH & Co. KG');

    const rows = await readAudit(s.db.knex, { action: 'mapping.save', actor: 'portal:pia' });
    const ok = rows.find((r) => r.outcome === 'ok');
    assert.ok(ok, JSON.stringify(rows));
    assert.equal(ok.target, PROFILE);
    assert.deepEqual((ok as { details?: Record<string, unknown> }).details?.to, 2);
    assert.match((await pia.request(`${PAGE}?saved=2`)).text, /Saved as version 2/);
  });

  it('is refused to operations and supplier users (403)', async () => {
    for (const who of ['olga', 'sue']) {
      const c = new PortalClient(() => s.url);
      await c.signIn(who, PASSWORD);
      assert.equal((await c.request('/portal/mappings')).status, 403, who);
      const page = await c.request(PAGE);
      assert.equal(page.status, 403, who);
      assert.match(page.text, /GW_PORTAL_ROLE/);
      assert.doesNotMatch((await c.request('/portal/')).text, /\/portal\/mappings/);
    }
  });
});
