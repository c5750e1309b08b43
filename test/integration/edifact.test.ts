import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseEdifact, segmentValue } from '../../src/formats/edifact/parse.js';
import type { EdifactInterchange } from '../../src/formats/edifact/types.js';
import { ACME_KEY, gatewaySuite, post, status, waitFor } from '../helpers/gateway.js';
import { allowSftp, knownHosts, runSftp, sshKeygen } from '../helpers/sftp.js';
import { storeOutbound } from '../../src/pipeline/outbound.js';
import type { PartnerProfile } from '../../src/types.js';
import { repoConfig } from '../helpers/config.js';

const EDIFACT = 'application/edifact';
const settled = (s: { body: Record<string, any> }) => s.body.state !== 'received';

/** A DESADV interchange from ACME's EDIFACT id to ours, with UNB 0020 `ref` (`segments`: between UNH and UNT). */
function desadv(ref: string, opts: { sender?: string; untCount?: number; segments?: string[] } = {}): string {
  const segments = opts.segments ?? ["BGM+351+SHIP?+1+9'", "DTM+137:20261130:102'"];
  return [
    "UNA:+.? '",
    `UNB+UNOA:3+${opts.sender ?? '5412345000013'}:14+8798765000005:14+261130:1200+${ref}'`,
    "UNH+M1+DESADV:D:96A:UN:EAN005'",
    ...segments,
    `UNT+${opts.untCount ?? segments.length + 2}+M1'`,
    `UNZ+1+${ref}'`,
  ].join('\r\n');
}

type Mailbox = { items: { id: string; type: string; fileName: string; relatedMessageId: string }[] };

/** The CONTRL the gateway placed in ACME's mailbox for one inbound message, read with our own reader. */
async function contrlFor(url: string, messageId: string): Promise<{ ic: EdifactInterchange; contentType: string | null }> {
  const list = (await (await fetch(`${url}/v1/outbound`, { headers: { authorization: `Bearer ${ACME_KEY}` } })).json()) as Mailbox;
  const item = list.items.find((i) => i.relatedMessageId === messageId);
  assert.ok(item, `a CONTRL for ${messageId} in the mailbox`);
  assert.equal(item.type, 'CONTRL');
  const res = await fetch(`${url}/v1/outbound/${item.id}`, { headers: { authorization: `Bearer ${ACME_KEY}` } });
  assert.equal(res.status, 200);
  return { ic: parseEdifact(new Uint8Array(await res.arrayBuffer())), contentType: res.headers.get('content-type') };
}

const report = (ic: EdifactInterchange) => ic.messages[0]?.segments.map((s) => [s.tag, ...s.elements.map((e) => e.join(':'))]);

describe('EDIFACT over REST and SFTP: stored, checked, answered with a CONTRL, duplicates refused (real server, real database)', function () {
  this.timeout(60_000);
  const suite = gatewaySuite({ env: { SFTP: 'on' } });

  async function send(body: string): Promise<{ id: string; body: Record<string, any> }> {
    const res = await post(suite.url, ACME_KEY, EDIFACT, Buffer.from(body, 'latin1'));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const s = await waitFor('processing', () => status(suite.url, ACME_KEY, res.body.messageId), settled);
    return { id: res.body.messageId, body: s.body };
  }

  it('reads an interchange with no mapping profile into a rejected document and answers CONTRL UCI 7, envelope mirrored', async () => {
    const { id, body } = await send(desadv('IC0001'));
    assert.equal(body.state, 'rejected');
    assert.equal(body.documents[0].problems[0].code, 'GW_DOC_TYPE_UNKNOWN');
    assert.match(body.documents[0].problems[0].message, /EDIFACT DESADV D:96A/);
    const { ic, contentType } = await contrlFor(suite.url, id);
    assert.match(contentType ?? '', /application\/edifact/);
    assert.deepEqual(
      [ic.sender, ic.recipient],
      [
        { id: '8798765000005', qualifier: '14' },
        { id: '5412345000013', qualifier: '14' },
      ],
    );
    assert.match(ic.controlRef, /^\d+$/);
    assert.deepEqual(ic.problems, []);
    assert.deepEqual([ic.messages[0]?.type, ic.messages[0]?.version, ic.messages[0]?.release], ['CONTRL', 'D', '3']);
    assert.deepEqual(report(ic), [['UCI', 'IC0001', '5412345000013:14', '8798765000005:14', '7']]);
    assert.deepEqual(
      body.acknowledgments.map((a: { type: string }) => a.type),
      ['CONTRL'],
      'the status page lists the CONTRL',
    );
  });

  it('refuses the same interchange again as a duplicate (UCI 4, error 26): stored, not delivered', async () => {
    const { id, body } = await send(desadv('IC0001'));
    assert.equal(body.state, 'duplicate');
    assert.equal(body.documents[0].state, 'duplicate');
    const { ic } = await contrlFor(suite.url, id);
    assert.deepEqual(report(ic), [['UCI', 'IC0001', '5412345000013:14', '8798765000005:14', '4', '26']]);
    assert.ok(
      body.timeline.some((e: { type: string; code: string | null }) => e.type === 'duplicate' && e.code === 'GW_EDIFACT_DUPLICATE'),
      JSON.stringify(body.timeline),
    );
  });

  it('rejects a message whose UNT count is wrong: UCM action 4, error 29 on UNT', async () => {
    const { id, body } = await send(desadv('IC0002', { untCount: 9 }));
    assert.equal(body.state, 'rejected');
    assert.equal(body.documents[0].problems[0].code, 'GW_EDIFACT_MESSAGE_TRAILER');
    assert.deepEqual(body.documents[0].problems[0].location.segment, 'UNT');
    const { ic } = await contrlFor(suite.url, id);
    assert.deepEqual(report(ic), [
      ['UCI', 'IC0002', '5412345000013:14', '8798765000005:14', '7'],
      ['UCM', 'M1', 'DESADV:D:96A:UN:EAN005', '4', '29', 'UNT', '1'],
    ]);
    const ucm = ic.messages[0]?.segments[1];
    assert.equal(ucm && segmentValue(ucm, 4), '29');
  });

  it('rejects a DESADV whose DTM stands among the parties: UCM 4, UCS with its position and error 15; the status says why; nothing delivered', async () => {
    const segments = ["BGM+351+SHIP-7+9'", "NAD+SU+5412345000013::9'", "DTM+137:20261130:102'", "CPS+1'", "LIN+1++4012345000023:EN'", "QTY+12:4'"];
    const { id, body } = await send(desadv('IC0004', { segments }));
    assert.equal(body.state, 'rejected');
    const [problem] = body.documents[0].problems;
    assert.equal(problem.code, 'GW_EDIFACT_SEGMENT_POSITION', 'the structure error, before any mapping');
    assert.deepEqual([problem.location.segment, problem.location.position, problem.location.line], ['DTM', 4, 6]);
    assert.match(problem.message, /DTM at position 4, line 6 is not allowed in this position \(after NAD in segment group 2\)/);
    const { ic } = await contrlFor(suite.url, id);
    assert.deepEqual(report(ic), [
      ['UCI', 'IC0004', '5412345000013:14', '8798765000005:14', '7'],
      ['UCM', 'M1', 'DESADV:D:96A:UN:EAN005', '4'],
      ['UCS', '4', '15'],
    ]);
    const deliveries = await suite.db.knex('deliveries').where('message_id', id);
    assert.deepEqual(deliveries, []);
  });

  it("refuses an interchange from a sender that is not the partner's: UCI 4, error 23", async () => {
    const { id, body } = await send(desadv('IC0003', { sender: '4000000000001' }));
    assert.equal(body.state, 'rejected');
    assert.equal(body.problems[0].code, 'GW_EDIFACT_ENVELOPE');
    const { ic } = await contrlFor(suite.url, id);
    assert.deepEqual(report(ic), [['UCI', 'IC0003', '4000000000001:14', '8798765000005:14', '4', '23', 'UNB', '2']]);
  });

  it("matches the partner's CONTRL to the interchange we sent (UNB 0020) and records its action on it", async () => {
    // An ORDERS we sent ACME, as the ERP's EDIFACT purchase orders are stored: its 0020 kept with it.
    const nordlicht = (await repoConfig()).partners.get('nordlicht') as PartnerProfile;
    const sent = await suite.db.knex.transaction((trx) =>
      storeOutbound(trx, {
        partner: { ...nordlicht, id: 'acme-supply' },
        docType: 'ORDERS',
        text: 'UNB+...',
        format: 'edifact',
        fileName: 'o.edi',
        isaControl: '4711',
      }),
    );
    const { body } = await send(
      `UNB+UNOA:3+5412345000013:14+8798765000005:14+261130:1200+C0002'UNH+1+CONTRL:D:3:UN'UCI+4711+8798765000005:14+5412345000013:14+4'UNT+3+1'UNZ+1+C0002'`,
    );
    assert.equal(body.state, 'processed');
    assert.ok(
      body.timeline.some((e: { type: string }) => e.type === 'ack.reconciled'),
      JSON.stringify(body.timeline),
    );
    const row = await suite.db.knex('messages').first('ack_status').where({ id: sent.id });
    assert.equal(row.ack_status, 'rejected');
  });

  it('reads a CONTRL from the partner as an acknowledgment: no document, none sent back, reconciled or reported unmatched', async () => {
    const contrl = [
      "UNB+UNOA:3+5412345000013:14+8798765000005:14+261130:1200+C0001'",
      "UNH+1+CONTRL:D:3:UN'",
      "UCI+99999+8798765000005:14+5412345000013:14+7'",
      "UNT+3+1'",
      "UNZ+1+C0001'",
    ].join('');
    const { id, body } = await send(contrl);
    assert.equal(body.state, 'processed');
    assert.deepEqual(body.documents, []);
    assert.deepEqual(body.acknowledgments, [], 'an acknowledgment is not acknowledged');
    assert.ok(
      body.timeline.some((e: { type: string; detail: string }) => e.type === 'ack.unmatched' && /interchange 99999/.test(e.detail)),
      JSON.stringify(body.timeline),
    );
    const list = (await (await fetch(`${suite.url}/v1/outbound`, { headers: { authorization: `Bearer ${ACME_KEY}` } })).json()) as Mailbox;
    assert.ok(!list.items.some((i) => i.relatedMessageId === id));
  });

  it('takes an interchange put into /inbound over OpenSSH sftp, and serves its CONTRL from /outbound', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-edifact-sftp-'));
    try {
      const key = await sshKeygen(dir, 'acme');
      const port = suite.t.gw.sftp!.port;
      const trusted = knownHosts(
        path.join(dir, 'known_hosts'),
        port,
        suite.t.gw.sftp!.hostKeys.map((k) => k.publicKey),
      );
      await allowSftp(suite.t.gw, suite.t.partnersDir, 'acme-supply', [key.publicKey]);
      const sftp = (commands: string[]) => runSftp({ port, user: 'acme-supply', identity: key.identity, knownHosts: trusted, commands, cwd: dir });
      writeFileSync(path.join(dir, 'desadv-7.edi'), desadv('IC0007'), 'latin1');
      const put = await sftp(['put desadv-7.edi /inbound/desadv-7.edi']);
      assert.equal(put.code, 0, put.stderr);
      const msg = await suite.db.knex('messages').first('id', 'format', 'content_type').where({ partner_id: 'acme-supply', file_name: 'desadv-7.edi' });
      assert.deepEqual([msg?.format, msg?.content_type], ['edifact', 'application/edifact']);
      const ack = (await waitFor(
        'the CONTRL',
        () => suite.db.knex('messages').first('file_name').where({ related_message_id: msg.id, direction: 'outbound' }),
        Boolean,
      )) as { file_name: string };
      assert.match(ack.file_name, /^CONTRL_\d+_/);
      const get = await sftp([`get /outbound/${ack.file_name} contrl.edi`]);
      assert.equal(get.code, 0, get.stderr);
      const ic = parseEdifact(readFileSync(path.join(dir, 'contrl.edi')));
      assert.deepEqual(report(ic), [['UCI', 'IC0007', '5412345000013:14', '8798765000005:14', '7']]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
