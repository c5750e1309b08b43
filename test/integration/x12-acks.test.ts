import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseX12, type X12Interchange } from '../../src/formats/x12/parse.js';
import { MAPPINGS } from '../helpers/corpus.js';
import type { TestDatabase } from '../helpers/db.js';
import type { ErpReceiver } from '../helpers/erp.js';
import { ACME_KEY, gatewaySuite, NORTHWIND_KEY, post, status, waitFor, type TestGateway } from '../helpers/gateway.js';
import { withControl } from '../helpers/x12.js';

const X12 = 'application/edi-x12';
const soi = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'), 'latin1');
const settled = (s: { body: Record<string, any> }) => !['received'].includes(s.body.state);

type Mailbox = { items: { id: string; type: string; fileName: string; relatedMessageId: string }[] };

async function mailbox(url: string, key: string): Promise<Mailbox> {
  const res = await fetch(`${url}/v1/outbound`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(res.status, 200);
  return (await res.json()) as Mailbox;
}

async function fetchItem(url: string, key: string, id: string): Promise<{ text: string; headers: Headers }> {
  const res = await fetch(`${url}/v1/outbound/${id}`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(res.status, 200);
  return { text: Buffer.from(await res.arrayBuffer()).toString('latin1'), headers: res.headers };
}

/** The acknowledgment the gateway put in the mailbox for one inbound message, read back with our own parser. */
async function ackFor(url: string, messageId: string): Promise<{ ic: X12Interchange; text: string; id: string; type: string }> {
  const item = (await mailbox(url, ACME_KEY)).items.find((i) => i.relatedMessageId === messageId);
  assert.ok(item, `an acknowledgment for ${messageId} in the mailbox`);
  const { text } = await fetchItem(url, ACME_KEY, item.id);
  const [ic, ...more] = parseX12(Buffer.from(text, 'latin1'));
  assert.ok(ic);
  assert.equal(more.length, 0);
  return { ic, text, id: item.id, type: item.type };
}

const seg = (ic: X12Interchange, tag: string) =>
  ic.groups.flatMap((g) => g.sets.flatMap((s) => s.segments.filter((x) => x.tag === tag).map((x) => x.elements)));

describe('X12 acknowledgments, duplicates and the mailbox (real server, real database)', function () {
  this.timeout(60_000);
  const suite = gatewaySuite();
  let db: TestDatabase;
  let erp: ErpReceiver;
  let t: TestGateway;
  let url: string;
  before(() => ({ db, erp, t, url } = suite));

  async function send(body: string): Promise<{ id: string; body: Record<string, any> }> {
    const res = await post(url, ACME_KEY, X12, Buffer.from(body, 'latin1'));
    assert.equal(res.status, 202);
    const s = await waitFor('processing', () => status(url, ACME_KEY, res.body.messageId), settled);
    return { id: res.body.messageId, body: s.body };
  }

  it('answers an accepted 856 with a 997 that mirrors the inbound envelope and passes its own parser', async () => {
    const inbound = withControl(soi, 700001);
    const { id, body } = await send(inbound);
    assert.ok(['routed', 'delivered'].includes(body.state), body.state);
    const { ic, type } = await ackFor(url, id);
    assert.equal(type, '997');
    // Sender and receiver swapped, padding kept; delimiters and ISA12 as received.
    assert.deepEqual(
      [ic.sender, ic.receiver],
      [
        { qualifier: '01', id: '999999999' },
        { qualifier: '12', id: '4405197800' },
      ],
    );
    assert.deepEqual(ic.delimiters, { element: '*', component: '>', segment: '~', repetition: '-' });
    assert.equal(ic.standardVersion, '00406');
    assert.equal(ic.ackRequested, false, 'an acknowledgment never asks for one');
    assert.deepEqual(ic.problems, []);
    const group = ic.groups[0];
    assert.deepEqual([group?.functionalId, group?.sender, group?.receiver, group?.version], ['FA', '999999999', '4405197800', '004060']);
    assert.deepEqual(group?.problems, []);
    assert.deepEqual(
      group?.sets.map((s) => [s.id, s.problems.length]),
      [['997', 0]],
    );
    assert.deepEqual(seg(ic, 'AK1'), [['SH', '49']]);
    assert.deepEqual(seg(ic, 'AK2'), [['856', '0008']]);
    assert.deepEqual(seg(ic, 'AK5'), [['A']]);
    assert.deepEqual(seg(ic, 'AK9'), [['A', '1', '1', '1']]);
    assert.ok(
      body.acknowledgments.some((a: { type: string }) => a.type === '997'),
      'the status page lists the acknowledgment',
    );
  });

  it('rejects a set with a wrong SE01 in the 997: AK5 R 4 and AK9 R', async () => {
    const { id, body } = await send(withControl(soi.replace('SE*31*0008', 'SE*30*0008'), 700002));
    assert.equal(body.state, 'rejected');
    const { ic } = await ackFor(url, id);
    assert.deepEqual(seg(ic, 'AK5'), [['R', '4']]);
    assert.deepEqual(seg(ic, 'AK9'), [['R', '1', '1', '0']]);
  });

  it('reports a mapping failure at its segment and element: AK3/AK4 with the bad value', async () => {
    const { id } = await send(withControl(soi.replace('DTM*011*20111206', 'DTM*011*20111306'), 700003));
    const { ic } = await ackFor(url, id);
    assert.deepEqual(seg(ic, 'AK3'), [['DTM', '8', '', '8']]);
    assert.deepEqual(seg(ic, 'AK4'), [['2', '', '8']]);
    assert.deepEqual(seg(ic, 'AK5'), [['R', '5']]);
  });

  it("fails a set that breaks the partner's implementation guide into the 997 (AK4 5, element too long, with the value)", async () => {
    const long = 'S'.repeat(31);
    const { id, body } = await send(withControl(soi.replace('BSN*14*829716*', `BSN*14*${long}*`), 700012));
    assert.equal(body.state, 'rejected');
    assert.equal(body.documents[0].problems[0].code, 'GW_X12_GUIDE');
    const { ic } = await ackFor(url, id);
    assert.deepEqual(seg(ic, 'AK3'), [['BSN', '2', '', '8']]);
    assert.deepEqual(seg(ic, 'AK4'), [['2', '', '5', long]]);
    assert.deepEqual(seg(ic, 'AK5'), [['R', '5']]);
  });

  it('answers a 005010 group with a 999 (IK5): a ship notice the standard map reads is accepted, an unsupported set gets code 1', async () => {
    const v5010 = (s: string, control: number) => withControl(s.replace('*-*00406*', '*^*00501*').replace('*X*004060~', '*X*005010~'), control);
    const accepted = await ackFor(url, (await send(v5010(soi, 700004))).id);
    assert.equal(accepted.type, '999');
    assert.equal(accepted.ic.groups[0]?.version, '005010X231');
    assert.equal(accepted.ic.groups[0]?.sets[0]?.implementation, '005010X231');
    assert.deepEqual(seg(accepted.ic, 'AK1'), [['SH', '49', '005010']]);
    assert.deepEqual(seg(accepted.ic, 'IK5'), [['A']]);
    assert.deepEqual(seg(accepted.ic, 'AK9'), [['A', '1', '1', '1']]);
    assert.equal(accepted.ic.delimiters.repetition, '^');
    // The same group with a transaction set no profile of the partner reads (857).
    const unsupported = await ackFor(url, (await send(v5010(soi.replace('ST*856*', 'ST*857*'), 700014))).id);
    assert.deepEqual(seg(unsupported.ic, 'IK5'), [['R', '1']]);
    assert.deepEqual(seg(unsupported.ic, 'AK9'), [['R', '1', '1', '0']]);
  });

  it('sends a TA1 when ISA14 asks for one, in the same interchange as the 997', async () => {
    const asked = withControl(soi, 700005).replace('*000700005*0*P*', '*000700005*1*P*');
    const { id } = await send(asked);
    const { ic } = await ackFor(url, id);
    assert.deepEqual(
      ic.ta1.map((s) => s.elements),
      [['000700005', '111206', '1719', 'A', '000']],
    );
    assert.deepEqual(seg(ic, 'AK9'), [['A', '1', '1', '1']]);
  });

  it('rejects a bad envelope with a TA1 alone (IEA02 ≠ ISA13: note 001) and delivers nothing', async () => {
    const bad = withControl(soi, 700006).replace(/IEA\*1\*\d+/, 'IEA*1*000000001');
    const { id, body } = await send(bad);
    assert.equal(body.state, 'rejected');
    assert.equal(body.deliveries.length, 0);
    const { ic } = await ackFor(url, id);
    assert.deepEqual(
      ic.ta1.map((s) => `${s.elements[3]}${s.elements[4]}`),
      ['R001'],
    );
    assert.equal(ic.groups.length, 0);
  });

  it('takes back the documents of a group whose GE01 is wrong: AK9 R 5, nothing delivered', async () => {
    const { id, body } = await send(withControl(soi.replace('GE*1*49', 'GE*2*49'), 700013));
    assert.equal(body.state, 'rejected');
    assert.deepEqual(
      body.documents.map((d: { state: string }) => d.state),
      ['rejected'],
    );
    assert.equal(body.deliveries.length, 0);
    const { ic } = await ackFor(url, id);
    assert.deepEqual(seg(ic, 'AK9'), [['R', '2', '1', '0', '5']]);
  });

  it('marks a repeated interchange duplicate, answers TA1 R 025 and does not deliver it again', async () => {
    const original = withControl(soi, 700007);
    const first = await send(original);
    await waitFor(
      'delivery',
      () => status(url, ACME_KEY, first.id),
      (s) => s.body.state === 'delivered',
    );
    const delivered = erp.requests.length;
    const again = await send(original);
    assert.equal(again.body.state, 'duplicate');
    assert.deepEqual(
      again.body.documents.map((d: { state: string }) => d.state),
      ['duplicate'],
    );
    assert.equal(again.body.deliveries.length, 0);
    const dup = again.body.timeline.find((e: { type: string }) => e.type === 'duplicate');
    assert.equal(dup.code, 'GW_X12_DUPLICATE');
    assert.equal(dup.data.originalMessageId, first.id);
    const { ic } = await ackFor(url, again.id);
    assert.deepEqual(
      ic.ta1.map((s) => [s.elements[0], s.elements[3], s.elements[4]]),
      [['000700007', 'R', '025']],
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(erp.requests.length, delivered, 'nothing more reached the ERP');
  });

  it('detects two copies of one interchange processed at the same moment (only one is delivered)', async () => {
    const original = withControl(soi, 700008);
    const [a, b] = await Promise.all([send(original), send(original)]);
    const states = [a.body.state, b.body.state].map((x) => (x === 'delivered' ? 'routed' : x)).sort();
    assert.deepEqual(states, ['duplicate', 'routed']);
  });

  it('lets a partner take items out of its mailbox; another partner sees none of them', async () => {
    const { id } = await send(withControl(soi, 700009));
    const { id: ackId } = await ackFor(url, id);
    assert.equal((await fetch(`${url}/v1/outbound/${ackId}`, { headers: { authorization: `Bearer ${NORTHWIND_KEY}` } })).status, 404);
    assert.ok((await mailbox(url, NORTHWIND_KEY)).items.every((i) => i.id !== ackId));
    const del = await fetch(`${url}/v1/outbound/${ackId}`, { method: 'DELETE', headers: { authorization: `Bearer ${ACME_KEY}` } });
    assert.equal(del.status, 204);
    assert.ok((await mailbox(url, ACME_KEY)).items.every((i) => i.id !== ackId));
    const again = await fetch(`${url}/v1/outbound/${ackId}`, { method: 'DELETE', headers: { authorization: `Bearer ${ACME_KEY}` } });
    assert.equal(again.status, 204, 'collecting twice is harmless');
  });

  it('never acknowledges an acknowledgment', async () => {
    const { id } = await send(withControl(soi, 700010));
    const { text } = await ackFor(url, id);
    // The partner echoes our own 997 back as if it were theirs: it is read, not answered.
    const echoed = withControl(text.replace('*01*999999999      *12*4405197800     *', '*12*4405197800     *01*999999999      *'), 700011);
    const before = (await mailbox(url, ACME_KEY)).items.length;
    const back = await send(echoed);
    assert.equal(back.body.state, 'processed', JSON.stringify(back.body.timeline));
    assert.ok(
      back.body.timeline.some((e: { type: string }) => e.type === 'ack.unmatched'),
      'read and reconciled against what we sent',
    );
    assert.equal((await mailbox(url, ACME_KEY)).items.length, before);
  });
});
