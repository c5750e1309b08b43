import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../helpers/corpus.js';
import { PortalClient } from '../helpers/portal-client.js';
import { runCli } from '../helpers/cli.js';
import { ACME_KEY, gatewaySuite, post, waitFor } from '../helpers/gateway.js';
import { ERP_ORDER as ORDER, sendOrder } from '../helpers/orders.js';

/** Posts the upload form as a person would: with the page's token and one-time key. */
async function upload(person: PortalClient, format: string, content: string) {
  const [csrf, key] = [await person.hidden('/portal/upload', 'csrf'), await person.hidden('/portal/upload', 'key')];
  return person.request('/portal/upload', { form: { csrf, key, format, content } });
}

const PASSWORD = 'suppliers use long passwords';
const ASN = readFileSync(path.join(REPO, 'mappings', 'northwind', 'samples', 'asn.json'), 'utf8');
const ACME_ASN = readFileSync(path.join(REPO, 'mappings', 'acme-supply', 'samples', '856-004010-cases-xref.edi'), 'utf8');

describe('portal supplier pages (real server, real HTTP, real CLI)', function () {
  // CLI commands are node processes compiling TypeScript: seconds each on a loaded machine.
  this.timeout(180_000);
  const suite = gatewaySuite();
  const browser = () => new PortalClient(() => suite.url);
  const nora = browser();
  const cli = (args: string[]) =>
    runCli(['users', ...args], {
      env: { DATABASE_URL: suite.db.url, GATEWAY_DATA_DIR: suite.t.dataDir, PARTNERS_DIR: suite.t.partnersDir },
      input: PASSWORD,
    });

  before(async () => {
    const added = await Promise.all([cli(['add', 'nora', '--role', 'supplier', '--partner', 'northwind']), cli(['add', 'oscar', '--role', 'operations'])]);
    for (const r of added) assert.equal(r.status, 0, r.stderr);
    await nora.signIn('nora', PASSWORD);
  });

  it("answers another partner's message exactly as a missing one: same 404, same bytes", async () => {
    const acme = await post(suite.url, ACME_KEY, 'application/edi-x12', ACME_ASN);
    assert.equal(acme.status, 202);
    const foreign = await nora.request(`/portal/submissions/${acme.body.messageId}`);
    const missing = await nora.request(`/portal/submissions/${randomUUID()}`);
    const notAnId = await nora.request('/portal/submissions/not-an-id');
    assert.equal(foreign.status, 404);
    assert.deepEqual([missing.status, missing.text], [foreign.status, foreign.text]);
    assert.deepEqual([notAnId.status, notAnId.text], [foreign.status, foreign.text]);
    assert.match(foreign.text, /<code>GW_NOT_FOUND<\/code>/);
    const list = await nora.request('/portal/submissions');
    assert.equal(list.status, 200);
    assert.doesNotMatch(list.text, new RegExp(acme.body.messageId), "another partner's message is not listed");
  });

  it('uploads a JSON ship notice through the receiver: delivered to the ERP, listed and shown as delivered', async () => {
    const r = await upload(nora, 'json', ASN);
    assert.equal(r.status, 303, r.text);
    const id = /^\/portal\/submissions\/([0-9a-f-]{36})$/.exec(r.location ?? '')?.[1];
    assert.ok(id, `redirect to the submission page, not ${r.location}`);
    const shown = await waitFor(
      'the submission to be delivered',
      () => nora.request(`/portal/submissions/${id}`),
      (p) => /<dt>State<\/dt><dd>delivered<\/dd>/.test(p.text),
      20_000,
    );
    assert.match(shown.text, /<dt>Channel<\/dt><dd>portal<\/dd>/);
    assert.match(shown.text, /Numbers: NW-SH-10045, PO PO-44120/);
    assert.match(shown.text, /<td>delivery\.succeeded<\/td>|<td>delivered<\/td>/);
    const delivered = suite.erp.requests.filter((q) => JSON.stringify(q.body).includes('NW-SH-10045'));
    assert.equal(delivered.length, 1, 'the ERP received the ship notice once');
    const row = await suite.db.knex('messages').where({ id }).first('partner_id', 'channel', 'idempotency_key');
    assert.deepEqual([row.partner_id, row.channel], ['northwind', 'portal']);
    const list = await nora.request('/portal/submissions');
    assert.match(
      list.text,
      new RegExp(`<a href="/portal/submissions/${id}">[^<]+</a></td><td>portal</td><td>asn</td>\\n<td>NW-SH-10045, PO PO-44120</td><td>delivered</td>`),
    );
  });

  it('stores a form posted twice once (its one-time key), and refuses bad formats and empty files on the form', async () => {
    const [csrf, key] = [await nora.hidden('/portal/upload', 'csrf'), await nora.hidden('/portal/upload', 'key')];
    const form = { csrf, key, format: 'json', content: ASN.replace('NW-SH-10045', 'NW-SH-TWICE') };
    const [first, second] = [await nora.request('/portal/upload', { form }), await nora.request('/portal/upload', { form })];
    assert.equal(first.status, 303);
    assert.deepEqual([second.status, second.location], [303, first.location]);
    const bad = await nora.request('/portal/upload', { form: { ...form, key: randomUUID(), format: 'pdf' } });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /role="alert">Choose one of the formats X12, cXML, CSV, JSON\./);
    const empty = await nora.request('/portal/upload', { form: { ...form, key: randomUUID(), content: '' } });
    assert.equal(empty.status, 400);
  });

  it('refuses an upload without its form token (403) and stores nothing', async () => {
    const before = await suite.db.knex('messages').where({ partner_id: 'northwind' }).count<{ count: string }[]>('* as count');
    const key = await nora.hidden('/portal/upload', 'key');
    const r = await nora.request('/portal/upload', { form: { key, format: 'json', content: ASN } });
    assert.equal(r.status, 403);
    assert.match(r.text, /<code>GW_PORTAL_CSRF<\/code>/);
    const forged = await nora.request('/portal/upload', { form: { csrf: 'x'.repeat(43), key, format: 'json', content: ASN } });
    assert.equal(forged.status, 403);
    const after = await suite.db.knex('messages').where({ partner_id: 'northwind' }).count<{ count: string }[]>('* as count');
    assert.deepEqual(after, before);
  });

  /** The upload form as a browser posts it with a chosen file: hidden fields first, then the parts given. */
  async function fileForm(parts: [string, string | Blob, string?][], fields: { csrf?: boolean } = {}) {
    const form = new FormData();
    if (fields.csrf !== false) form.append('csrf', await nora.hidden('/portal/upload', 'csrf'));
    form.append('key', await nora.hidden('/portal/upload', 'key'));
    form.append('format', 'json');
    for (const [name, value, fileName] of parts) value instanceof Blob ? form.append(name, value, fileName) : form.append(name, value);
    return form;
  }
  const northwindCount = async () => (await suite.db.knex('messages').where({ partner_id: 'northwind' }).count<{ count: string }[]>('* as count'))[0]?.count;

  it('uploads a chosen file (multipart, binary-safe): stored byte for byte with its file name, shown accepted', async () => {
    // A byte order mark and a non-ASCII name: the bytes are stored as sent, not re-encoded.
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(ASN.replace('NW-SH-10045', 'NW-SH-FILE'), 'utf8')]);
    const r = await nora.request('/portal/upload', { multipart: await fileForm([['file', new Blob([bytes]), 'ship notice é.json']]) });
    assert.equal(r.status, 303, r.text);
    const id = /^\/portal\/submissions\/([0-9a-f-]{36})$/.exec(r.location ?? '')?.[1];
    const row = await suite.db.knex('messages').where({ id }).first('raw', 'file_name', 'channel');
    assert.deepEqual([row.file_name, row.channel], ['ship notice é.json', 'portal']);
    assert.ok(Buffer.compare(row.raw, bytes) === 0, 'the raw bytes are the file, byte for byte');
    const shown = await waitFor(
      'the submission to be read',
      () => nora.request(`/portal/submissions/${id}`),
      (p) => !/<dt>State<\/dt><dd>received<\/dd>/.test(p.text),
      20_000,
    );
    assert.match(shown.text, /over portal \(application\/json\) as ship notice é\.json/);
    const both = await nora.request('/portal/upload', {
      multipart: await fileForm([
        ['file', new Blob([bytes]), 'a.json'],
        ['content', ASN],
      ]),
    });
    assert.equal(both.status, 400);
    assert.match(both.text, /Choose a file or paste its content, not both\./);
  });

  it("refuses a file over the partner's limit while it streams (413), and stores nothing", async () => {
    const before = await northwindCount();
    const big = new Blob([Buffer.alloc(65_536 + 1, 0x20)]);
    const r = await nora.request('/portal/upload', { multipart: await fileForm([['file', big, 'big.json']]) });
    assert.equal(r.status, 413, r.text);
    assert.match(r.text, /<code>GW_REQUEST_TOO_LARGE<\/code>/);
    const exact = await nora.request('/portal/upload', { multipart: await fileForm([['file', new Blob([Buffer.alloc(65_536, 0x20)]), 'spaces.json']]) });
    assert.equal(exact.status, 303, 'a file of exactly the limit is taken (and rejected later as JSON)');
    assert.equal(Number(await northwindCount()), Number(before) + 1);
  });

  it('refuses a file without the form token, or before it (403), and a second file (400)', async () => {
    const before = await northwindCount();
    const file = new Blob([ASN]);
    const missing = await nora.request('/portal/upload', { multipart: await fileForm([['file', file, 'asn.json']], { csrf: false }) });
    assert.equal(missing.status, 403);
    assert.match(missing.text, /<code>GW_PORTAL_CSRF<\/code>/);
    const csrf = await nora.hidden('/portal/upload', 'csrf');
    const late = await nora.request('/portal/upload', {
      multipart: await fileForm(
        [
          ['file', file, 'asn.json'],
          ['csrf', csrf],
        ],
        { csrf: false },
      ),
    });
    assert.equal(late.status, 403, 'a file before the token is refused');
    const two = await nora.request('/portal/upload', {
      multipart: await fileForm([
        ['file', file, 'a.json'],
        ['file', file, 'b.json'],
      ]),
    });
    assert.equal(two.status, 400);
    assert.match(two.text, /<code>GW_REQUEST_INVALID<\/code>/);
    assert.match(two.text, /one file only/);
    assert.equal(await northwindCount(), before);
  });

  it("lists the partner's mailbox with downloads, scoped to the partner", async () => {
    const res = await sendOrder(suite.url, ORDER, {}, undefined, 'northwind');
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const mailbox = await waitFor(
      'the purchase order in the mailbox',
      () => nora.request('/portal/mailbox'),
      (p) => /href="\/portal\/mailbox\/[0-9a-f-]{36}" download/.test(p.text),
      20_000,
    );
    assert.match(mailbox.text, /<td>purchase-order<\/td>/);
    const href = /href="(\/portal\/mailbox\/[0-9a-f-]{36})" download/.exec(mailbox.text)?.[1] as string;
    const file = await nora.request(href);
    assert.equal(file.status, 200);
    assert.match(file.headers.get('content-disposition') ?? '', /^attachment; filename="/);
    assert.ok(file.text.includes(ORDER.purchaseOrderNumber), file.text);

    await cli(['add', 'ada', '--role', 'supplier', '--partner', 'acme-supply']);
    const ada = browser();
    await ada.signIn('ada', PASSWORD);
    const foreign = await ada.request(href);
    const missing = await ada.request(`/portal/mailbox/${randomUUID()}`);
    assert.equal(foreign.status, 404);
    assert.deepEqual([missing.status, missing.text], [foreign.status, foreign.text]);
    assert.doesNotMatch((await ada.request('/portal/mailbox')).text, /purchase-order/);
  });

  it('refuses supplier pages to an operations user (403) and sends a visitor without a session to sign in', async () => {
    const oscar = browser();
    await oscar.signIn('oscar', PASSWORD);
    for (const page of ['/portal/submissions', `/portal/submissions/${randomUUID()}`, '/portal/upload', '/portal/mailbox']) {
      const r = await oscar.request(page);
      assert.equal(r.status, 403, page);
      assert.match(r.text, /<code>GW_PORTAL_ROLE<\/code>/);
    }
    const csrf = await nora.hidden('/portal/upload', 'csrf');
    const posted = await oscar.request('/portal/upload', { form: { csrf, format: 'json', content: ASN } });
    assert.equal(posted.status, 403);
    const visitor = await browser().request('/portal/submissions');
    assert.deepEqual([visitor.status, visitor.location], [303, '/portal/sign-in']);
  });
});
