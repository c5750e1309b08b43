import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseEdifact } from '../../src/formats/edifact/parse.js';
import type { EdifactInterchange } from '../../src/formats/edifact/types.js';
import { copyConfig } from '../helpers/config.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { largeDesadv } from '../helpers/edifact-large.js';
import { ERP, gatewaySuite, waitFor } from '../helpers/gateway.js';
import { sendOrder } from '../helpers/orders.js';
import { editPartner } from '../helpers/security.js';
import { knownHosts, runSftp, sshKeygen } from '../helpers/sftp.js';

const SAMPLES = path.join(MAPPINGS, 'edifact-standard', 'samples');
/** What the standard profiles make of each sample (the contract tests' golden files). */
const canonicalOf = (sample: string) => JSON.parse(readFileSync(path.join(SAMPLES, `${sample}.canonical.json`), 'utf8'))[0].canonical;
const ORDER = JSON.parse(readFileSync(path.join(SAMPLES, 'outbound', 'purchase-order.json'), 'utf8'));

const uci = (ic: EdifactInterchange) => ic.messages[0]?.segments.find((s) => s.tag === 'UCI')?.elements.map((e) => e.join(':'));

/**
 * The shipped EDIFACT demo partner end to end, with the clients it would use: its DESADV and
 * INVOIC uploaded with OpenSSH sftp reach the ERP as canonical documents and a CONTRL for each waits
 * in its /outbound (a DESADV that breaks the D.96A segment table or has letters in a quantity is
 * rejected, its CONTRL naming the segment and element); the ERP's purchase order goes out as ORDERS, and the partner's CONTRL for it is matched
 * to that interchange.
 */
describe('nordlicht (EDIFACT over SFTP): DESADV and INVOIC to the ERP with CONTRLs back; ORDERS out, reconciled by its CONTRL', function () {
  this.timeout(90_000);
  // The repository's nordlicht profile alone, with the certificates beside it.
  const config = copyConfig(['nordlicht']);
  const partners = config.partnersDir;
  const s = gatewaySuite({ env: { PARTNERS_DIR: partners, SFTP: 'on', SFTP_LOGIN_DELAY_MS: '0' } });
  let dir: string;
  let sftp: (commands: string[]) => ReturnType<typeof runSftp>;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gw-nordlicht-'));
    const key = await sshKeygen(dir, 'nordlicht');
    const port = s.t.gw.sftp!.port;
    const trusted = knownHosts(
      path.join(dir, 'known_hosts'),
      port,
      s.t.gw.sftp!.hostKeys.map((k) => k.publicKey),
    );
    // Its login key (beside any the user has listed), a CONTRL for every interchange, and the
    // test's ERP instead of the demo's file drop.
    await editPartner(s.t.gw, partners, 'nordlicht', (y) =>
      y
        .replace(/^( {2}sshKeys:)(?: \[\])?$/m, `$1\n    - key: "${key.publicKey}"`)
        .replace('contrl: requested', 'contrl: always')
        .replace(/target: \{ id: erp-drop, kind: file, .*$/m, `target: { id: erp, kind: http, url: "${s.erp.url}" }`),
    );
    sftp = (commands) => runSftp({ port, user: 'nordlicht', identity: key.identity, knownHosts: trusted, commands, cwd: dir });
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    config.remove();
  });

  /** The CONTRL the gateway placed in /outbound for the message stored from `fileName`, fetched with sftp. */
  async function contrlFor(fileName: string): Promise<EdifactInterchange> {
    const msg = (await waitFor(
      'the upload stored',
      () => s.db.knex('messages').first('id').where({ partner_id: 'nordlicht', file_name: fileName }),
      Boolean,
    )) as { id: string };
    const ack = (await waitFor(
      `the CONTRL for ${fileName}`,
      () => s.db.knex('messages').first('file_name').where({ related_message_id: msg.id, direction: 'outbound' }),
      Boolean,
    )) as { file_name: string };
    const got = await sftp([`get /outbound/${ack.file_name} ${fileName}.contrl`]);
    assert.equal(got.code, 0, got.stderr);
    return parseEdifact(readFileSync(path.join(dir, `${fileName}.contrl`)));
  }

  it('delivers the uploaded DESADV and INVOIC to the ERP as the canonical asn and invoice, and answers each with CONTRL UCI 7', async () => {
    for (const f of ['desadv-d96a.edifact', 'invoic-d96a.edifact']) copyFileSync(path.join(SAMPLES, f), path.join(dir, f));
    const put = await sftp(['put desadv-d96a.edifact /inbound/desadv-d96a.edifact', 'put invoic-d96a.edifact /inbound/invoic-d96a.edifact']);
    assert.equal(put.code, 0, put.stderr);
    const delivered = await waitFor(
      'both documents at the ERP',
      async () => s.erp.requests.filter((r) => r.path === '/erp/inbound'),
      (rs) => rs.length >= 2,
    );
    const byType = Object.fromEntries(delivered.map((r) => [r.body.type, r.body.document]));
    assert.deepEqual(byType.asn, canonicalOf('desadv-d96a.edifact'));
    assert.deepEqual(byType.invoice, canonicalOf('invoic-d96a.edifact'));
    for (const [file, ref] of [
      ['desadv-d96a.edifact', 'DA0001234'],
      ['invoic-d96a.edifact', 'IN0000778'],
    ] as const) {
      const ic = await contrlFor(file);
      assert.deepEqual(ic.problems, []);
      assert.deepEqual([ic.sender.id, ic.recipient.id], ['5412345000013', '4012345000009'], 'the envelope mirrored');
      assert.deepEqual(uci(ic), [ref, '4012345000009:14', '5412345000013:14', '7']);
    }
  });

  /** The sample DESADV as a new interchange (its own references), changed by `edit`, written to `file`. */
  function desadv(file: string, n: string, edit: (lines: string[]) => void): void {
    const lines = readFileSync(path.join(SAMPLES, 'desadv-d96a.edifact'), 'latin1')
      .replaceAll('+DA0001234', `+DA000123${n}`)
      .replace('DES-2026-0815', `DES-2026-081${n}`)
      .split('\n');
    edit(lines);
    writeFileSync(path.join(dir, file), lines.join('\n'), 'latin1');
  }

  /** The upload's CONTRL report segments; the message and its document rejected, nothing delivered. */
  async function rejected(file: string): Promise<{ report: string[][]; problems: [string, string, number, number?, number?][] }> {
    const ic = await contrlFor(file);
    const report = ic.messages[0]?.segments.map((seg) => [seg.tag, ...seg.elements.map((e) => e.join(':'))]) ?? [];
    const msg = (await s.db.knex('messages').first('id', 'state').where({ partner_id: 'nordlicht', file_name: file })) as { id: string; state: string };
    assert.equal(msg.state, 'rejected');
    const [doc] = await s.db.knex('documents').select('state', 'problems').where({ message_id: msg.id });
    assert.equal(doc?.state, 'rejected');
    assert.deepEqual(await s.db.knex('deliveries').where({ message_id: msg.id }), [], 'no delivery to the ERP');
    type Located = { code: string; location: { segment: string; position: number; element?: number; component?: number } };
    const problems = doc?.problems.map((p: Located) => [p.code, p.location.segment, p.location.position, p.location.element, p.location.component]);
    return { report, problems };
  }

  it('rejects a DESADV with a DTM among its parties (UCS 15) and one with a QTY of 12A (UCD 37): the status says why, nothing reaches the ERP', async () => {
    desadv('desadv-misplaced.edifact', '5', (lines) => {
      const [moved] = lines.splice(
        lines.findIndex((l) => l.startsWith('DTM+11:')),
        1,
      );
      lines.splice(lines.findIndex((l) => l.startsWith('NAD+DP')) + 1, 0, moved as string);
    });
    desadv('desadv-qty.edifact', '6', (lines) => {
      lines[lines.findIndex((l) => l.startsWith('QTY+12:24'))] = "QTY+12:12A:PCE'";
    });
    const put = await sftp(['put desadv-misplaced.edifact /inbound/desadv-misplaced.edifact', 'put desadv-qty.edifact /inbound/desadv-qty.edifact']);
    assert.equal(put.code, 0, put.stderr);
    assert.deepEqual(await rejected('desadv-misplaced.edifact'), {
      report: [
        ['UCI', 'DA0001235', '4012345000009:14', '5412345000013:14', '7'],
        ['UCM', '1', 'DESADV:D:96A:UN:EAN005', '4'],
        ['UCS', '11', '15'],
      ],
      problems: [['GW_EDIFACT_SEGMENT_POSITION', 'DTM', 11, undefined, undefined]],
    });
    assert.deepEqual(await rejected('desadv-qty.edifact'), {
      report: [
        ['UCI', 'DA0001236', '4012345000009:14', '5412345000013:14', '7'],
        ['UCM', '1', 'DESADV:D:96A:UN:EAN005', '4'],
        ['UCS', '22'],
        ['UCD', '37', '1:2'],
      ],
      problems: [['GW_EDIFACT_ELEMENT_VALUE', 'QTY', 22, 1, 2]],
    });
  });

  it("sends the ERP's purchase order as ORDERS to /outbound, and matches the partner's CONTRL to it", async () => {
    const sent = await sendOrder(s.url, ORDER, {}, undefined, 'nordlicht');
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const erpView = async () =>
      (await (await fetch(`${s.url}/v1/erp/messages/${sent.body.messageId}`, { headers: { authorization: `Bearer ${ERP.key}` } })).json()) as {
        acknowledgment?: { status: string | null };
        timeline: { type: string; detail: string }[];
      };
    assert.notEqual((await erpView()).acknowledgment?.status, 'accepted', 'not acknowledged before its CONTRL');
    const list = await sftp(['ls -1 /outbound']);
    assert.ok(list.stdout.includes(sent.body.fileName), list.stdout);
    const contrl = [
      "UNA:+.? '",
      "UNB+UNOC:3+4012345000009:14+5412345000013:14+261130:1200+CR0001'",
      "UNH+1+CONTRL:D:3:UN'",
      `UCI+${sent.body.interchangeControl}+5412345000013:14+4012345000009:14+7'`,
      "UNT+3+1'",
      "UNZ+1+CR0001'",
    ].join('\n');
    writeFileSync(path.join(dir, 'contrl-orders.edi'), contrl, 'latin1');
    const put = await sftp(['put contrl-orders.edi /inbound/contrl-orders.edi']);
    assert.equal(put.code, 0, put.stderr);
    await waitFor('the ORDERS acknowledged by its CONTRL', erpView, (m) => m.acknowledgment?.status === 'accepted');
    const reply = (await s.db.knex('messages').first('id', 'state').where({ partner_id: 'nordlicht', file_name: 'contrl-orders.edi' })) as {
      id: string;
      state: string;
    };
    const events = await s.db.knex('events').where({ message_id: reply.id, type: 'ack.reconciled' });
    assert.equal(events.length, 1, 'the CONTRL is recorded as reconciling an interchange we sent');
    assert.match(String(events[0]?.detail), new RegExp(sent.body.interchangeControl));
  });

  it('streams a large interchange (500 DESADVs, 10,000 LIN groups) through the workers: every ship notice at the ERP, one CONTRL UCI 7', async () => {
    const messages = 500;
    writeFileSync(path.join(dir, 'large.edi'), largeDesadv(messages, 20, 'NL0042000'), 'latin1');
    const put = await sftp(['put large.edi /inbound/large.edi']);
    assert.equal(put.code, 0, put.stderr);
    const ours = (rs: typeof s.erp.requests) => rs.filter((r) => r.path === '/erp/inbound' && String(r.body.document?.shipmentId).startsWith('NL0042000-'));
    const delivered = await waitFor(
      'every ship notice at the ERP',
      async () => ours(s.erp.requests),
      (rs) => rs.length >= messages,
    );
    const shipments = new Set(delivered.map((r) => r.body.document.shipmentId));
    assert.equal(shipments.size, messages, 'each ship notice once');
    assert.ok(shipments.has(`NL0042000-${messages}`));
    const last = delivered.find((r) => r.body.document.shipmentId === `NL0042000-${messages}`);
    const orders = (last?.body.document as { orders: { items: unknown[] }[] } | undefined)?.orders ?? [];
    const lines = orders.flatMap((o) => o.items);
    assert.equal(lines.length, 20, 'the last message read to its end');
    const ic = await contrlFor('large.edi');
    assert.deepEqual(uci(ic), ['NL0042000', '4012345000009:14', '5412345000013:14', '7']);
  });

  it('takes back the ship notice of an interchange with a wrong UNZ count (CONTRL UCI 4, error 29); its corrected resend is no duplicate', async () => {
    const sample = readFileSync(path.join(SAMPLES, 'desadv-d96a.edifact'), 'latin1').replaceAll('DA0001234', 'DA0007777');
    writeFileSync(path.join(dir, 'bad-count.edi'), sample.replace("UNZ+1+DA0007777'", "UNZ+3+DA0007777'"), 'latin1');
    writeFileSync(path.join(dir, 'resent.edi'), sample, 'latin1');
    assert.equal((await sftp(['put bad-count.edi /inbound/bad-count.edi'])).code, 0);
    const bad = await contrlFor('bad-count.edi');
    assert.deepEqual(
      bad.messages[0]?.segments.map((seg) => seg.elements.map((e) => e.join(':'))),
      [['DA0007777', '4012345000009:14', '5412345000013:14', '4', '29', 'UNZ', '1']],
    );
    const first = await s.db.knex('messages').first('id', 'state').where({ partner_id: 'nordlicht', file_name: 'bad-count.edi' });
    assert.equal(first?.state, 'rejected');
    const docs = await s.db.knex('documents').select('state').where('message_id', first?.id);
    assert.deepEqual(docs, [{ state: 'rejected' }], 'formed as the message was read, taken back at the UNZ');
    assert.equal((await s.db.knex('deliveries').count({ n: '*' }).where('message_id', first?.id).first())?.n, '0');
    assert.equal((await sftp(['put resent.edi /inbound/resent.edi'])).code, 0);
    assert.deepEqual(uci(await contrlFor('resent.edi')), ['DA0007777', '4012345000009:14', '5412345000013:14', '7']);
    const resent = await s.db.knex('messages').first('state').where({ partner_id: 'nordlicht', file_name: 'resent.edi' });
    assert.ok(['routed', 'delivered'].includes(resent?.state), `not a duplicate of the broken one: ${resent?.state}`);
  });
});
