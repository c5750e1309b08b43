import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { addUser } from '../../src/security/users.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { ACME_KEY, gatewaySuite, NORTHWIND_KEY, post, status, terminal, waitFor } from '../helpers/gateway.js';
import { PortalClient } from '../helpers/portal-client.js';
import { withControl } from '../helpers/x12.js';

const X12_856 = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004010-cases-xref.edi'), 'utf8');
const INVOICE = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'invoice.json'), 'utf8');
const PASSWORD = 'operations password 1';

describe('operations console pages (real server, real PostgreSQL)', function () {
  this.timeout(120_000);
  const s = gatewaySuite();
  const olga = new PortalClient(() => s.url);
  let csrf = '';
  const ids: Record<string, string> = {};

  async function send(key: string, type: string, body: string) {
    const r = await post(s.url, key, type, body);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await waitFor('a final state', () => status(s.url, key, r.body.messageId), terminal);
    return r.body.messageId as string;
  }

  before(async () => {
    await addUser(s.db.knex, { username: 'olga', displayName: 'Olga', role: 'operations', partnerId: null }, PASSWORD, new Date());
    s.erp.respond = (req) => (req.raw.toString().includes('REFUSE') ? 400 : 202);
    ids.x12 = await send(ACME_KEY, 'application/edi-x12', withControl(X12_856, 515151));
    ids.x12Again = await send(ACME_KEY, 'application/edi-x12', withControl(X12_856, 515152));
    ids.refused = await send(NORTHWIND_KEY, 'application/json', INVOICE.replace('NW-INV-2231', 'NW-INV-REFUSE-C1'));
    await olga.signIn('olga', PASSWORD);
    csrf = await olga.formToken('/portal/console/messages?state=dead');
  });

  it('lays out an X12 payload one segment a line and links the related messages', async () => {
    const page = await olga.request(`/portal/console/messages/${ids.x12}`);
    assert.equal(page.status, 200);
    const raw = /<ol class="raw"[^>]*>\n([\s\S]*?)\n<\/ol>/.exec(page.text)?.[1] ?? '';
    const lines = raw.split('\n');
    const segments = withControl(X12_856, 515151)
      .split('~')
      .map((x) => x.trim())
      .filter(Boolean);
    assert.equal(lines.length, segments.length, 'one list item per segment');
    assert.match(lines[0] ?? '', /^<li>ISA\*/);
    assert.match(lines.at(-1) ?? '', /^<li>IEA\*/);
    assert.match(page.text, new RegExp(`names PO PO-2026-1187</td><td><a href="/portal/console/messages/${ids.x12Again}">`));
    const acks = await s.db.knex('messages').where({ related_message_id: ids.x12, direction: 'outbound' });
    for (const a of acks) assert.match(page.text, new RegExp(`acknowledgment sent for it</td><td><a href="/portal/console/messages/${a.id}">`));
    assert.match(page.text, new RegExp(`href="/ops/v1/messages/${ids.x12}/raw"`), 'the download link');
    const download = await olga.request(`/ops/v1/messages/${ids.x12}/raw`);
    assert.deepEqual([download.status, download.text], [200, withControl(X12_856, 515151)], 'the raw endpoint takes the session cookie');
  });

  it('searches with the form fields, pages by cursor, and refuses an unknown field', async () => {
    const first = await olga.request('/portal/console/messages?partner=acme-supply&limit=');
    assert.equal(first.status, 400, 'limit is no filter of the form');
    const page = await olga.request('/portal/console/messages?partner=acme-supply&poNumber=PO-2026-1187&state=');
    assert.equal(page.status, 200);
    for (const id of [ids.x12, ids.x12Again]) assert.ok(page.text.includes(`/portal/console/messages/${id}`));
    assert.ok(!page.text.includes(`/portal/console/messages/${ids.refused}"`));
    assert.match(page.text, /<option value="acme-supply" selected>/);
    const rows = Array.from({ length: 55 }, (_, i) => ({
      id: randomUUID(),
      partner_id: 'pager',
      channel: 'rest',
      content_type: 'application/json',
      format: 'json',
      raw: Buffer.from('{}'),
      size_bytes: 2,
      sha256: createHash('sha256').update('{}').digest('hex'),
      correlation_id: `pager-${i}`,
      state: 'delivered',
      received_at: new Date(Date.UTC(2026, 0, 1, 0, i)),
    }));
    await s.db.knex('messages').insert(rows);
    const one = await olga.request('/portal/console/messages?partner=pager');
    const next = /<a href="\/portal\/console\/messages\?([^"]+)">Next page<\/a>/.exec(one.text)?.[1];
    assert.ok(next, 'a full page links the next');
    const two = await olga.request(`/portal/console/messages?${next.replaceAll('&amp;', '&')}`);
    const shown = (text: string) => rows.filter((r) => text.includes(`/portal/console/messages/${r.id}"`)).length;
    assert.deepEqual([shown(one.text), shown(two.text)], [50, 5]);
    assert.ok(!two.text.includes('Next page'));
  });

  it('acts only when confirmed and with the form token, audited under the user', async () => {
    const path = `/portal/console/messages/${ids.refused}/redeliver`;
    const unconfirmed = await olga.request(path, { form: { csrf } });
    assert.equal(unconfirmed.status, 400);
    assert.match(unconfirmed.text, /GW_REQUEST_INVALID/);
    const forged = await olga.request(path, { form: { confirm: 'yes' } });
    assert.equal(forged.status, 403);
    assert.match(forged.text, /GW_PORTAL_CSRF/);
    assert.equal((await s.db.knex('audit_log').where('target', `message:${ids.refused}`)).length, 0, 'nothing done, nothing audited');
    const replay = await olga.request(`/portal/console/messages/${ids.refused}/replay`, { form: { csrf, confirm: 'yes' } });
    assert.equal(replay.status, 409, 'a dead delivery is redelivered, not re-interpreted');
    assert.match(replay.text, /GW_REPLAY_STATE/);
    s.erp.respond = () => 202;
    const done = await olga.request(path, { form: { csrf, confirm: 'yes' } });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get('location'), `/portal/console/messages/${ids.refused}?done=redeliver&n=1`);
    await waitFor(
      'redelivered',
      () => status(s.url, NORTHWIND_KEY, ids.refused as string),
      (m) => m.body.state === 'delivered',
    );
    const audited = await s.db.knex('audit_log').where('target', `message:${ids.refused}`).orderBy('id');
    assert.deepEqual(
      audited.map((a) => [a.action, a.actor, a.outcome]),
      [
        ['message.replay', 'portal:olga', 'denied'],
        ['message.redeliver', 'portal:olga', 'ok'],
      ],
    );
  });

  it('asks to confirm a bulk action with the count, and refuses one without a filter or with a mistyped one', async () => {
    const noFilter = await olga.request('/portal/console/bulk', { form: { csrf, action: 'redeliver' } });
    assert.equal(noFilter.status, 400);
    const typo = await olga.request('/portal/console/bulk', { form: { csrf, action: 'redeliver', sate: 'dead' } });
    assert.equal(typo.status, 400);
    assert.match(typo.text, /Unknown filter sate/);
    const ask = await olga.request('/portal/console/bulk', { form: { csrf, action: 'replay', partner: 'acme-supply', poNumber: 'PO-2026-1187' } });
    assert.equal(ask.status, 200);
    assert.match(ask.text, /<h1>Replay 2 messages\?<\/h1>/);
    assert.match(ask.text, /<input type="hidden" name="poNumber" value="PO-2026-1187">/);
    assert.equal((await s.db.knex('audit_log').where('action', 'like', 'message.replay%')).length, 1, 'only the earlier refused replay: asking does nothing');
    const done = await olga.request('/portal/console/bulk', {
      form: {
        csrf,
        action: 'replay',
        partner: 'acme-supply',
        poNumber: 'PO-2026-1187',
        confirm: 'yes',
      },
    });
    assert.equal(done.status, 200);
    assert.equal((done.text.match(/<td>refused<\/td><td><code>GW_REPLAY_STATE<\/code>/g) ?? []).length, 2, 'each outcome reported');
  });
});
