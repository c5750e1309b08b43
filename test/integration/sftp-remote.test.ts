import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parsePublicKey } from '../../src/security/ssh-keys.js';
import { runCli } from '../helpers/cli.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { ERP, gatewaySuite, terminal, waitFor } from '../helpers/gateway.js';
import { sshKeygen } from '../helpers/sftp.js';
import { haveSshd, PartnerSshd } from '../helpers/sshd.js';
import { withControl } from '../helpers/x12.js';

const soi = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'), 'latin1');
const order = readFileSync(path.join(MAPPINGS, 'x12-standard', 'samples', 'outbound', 'purchase-order.json'), 'utf8');

describe("remote SFTP: pickup from and delivery to a partner's own OpenSSH server", function () {
  this.timeout(60_000);
  before(function () {
    if (!haveSshd()) {
      console.log('      (skipped: OpenSSH sshd is not installed here; .ci/run installs openssh-server)');
      this.skip();
    }
  });
  // Outages here last several attempts; the breaker (tested in delivery-retry) would pause the server for 30 s.
  const suite = gatewaySuite({ env: { REMOTE_SFTP_CHECK_MS: '100', DELIVERY_BREAKER_FAILURES: '1000' } });
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-partner-server-'));
  const outgoing = path.join(dir, 'outgoing');
  const done = path.join(dir, 'outgoing', 'done');
  const incoming = path.join(dir, 'incoming');
  let sshd: PartnerSshd;
  let loginKey: string;

  before(async () => {
    for (const d of [outgoing, done, incoming]) mkdirSync(d, { recursive: true });
    const key = await sshKeygen(dir, 'gateway-login');
    loginKey = key.identity;
    sshd = new PartnerSshd(dir, key.publicKey);
    await sshd.start();
  });
  after(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Points ACME's profile at the partner server (pinning `hostKey`) and reloads. */
  async function configure(hostKey: string, after: 'delete' | 'move' = 'delete', delivery = '') {
    const file = path.join(suite.t.partnersDir, 'acme-supply.yaml');
    const text = readFileSync(file, 'utf8').replace(/\nsftp:[\s\S]*$/, '\n');
    writeFileSync(file, text);
    appendFileSync(
      file,
      `sftp:
  remote:
    host: 127.0.0.1
    port: ${sshd.port}
    username: ${sshd.user}
    privateKey: ${loginKey}
    hostKey: ["${hostKey}"]
    pickup: { dir: ${outgoing}, glob: "*.edi", after: ${after}${after === 'move' ? `, moveTo: ${done}` : ''}, everySeconds: 1 }
    delivery: { dir: ${incoming}, tempSuffix: .part${delivery} }
`,
    );
    await suite.t.gw.reload();
    // A poll claimed from now on reads the new profile; wait for one to finish before placing files.
    await suite.db.knex('sftp_remote_polls').del();
    await waitFor(
      'a poll with the new profile',
      () => suite.db.knex('sftp_remote_polls').first('last_poll_at').where('partner_id', 'acme-supply'),
      (r) => Boolean(r?.last_poll_at),
    );
  }

  const inbound = () => suite.db.knex('messages').where({ partner_id: 'acme-supply', direction: 'inbound' }).orderBy('received_at');

  it('picks up matching files once committed, deletes them, leaves others, and delivers the 997 by temporary name and rename', async () => {
    await configure(sshd.hostKey);
    writeFileSync(path.join(outgoing, 'readme.txt'), 'not for us');
    writeFileSync(path.join(outgoing, 'asn-2001.edi.part'), 'still being written');
    writeFileSync(path.join(outgoing, 'asn-2001.edi'), withControl(soi, 820001), 'latin1');
    const [msg] = await waitFor('the pickup', inbound, (rows) => rows.length === 1);
    assert.equal(msg.channel, 'sftp');
    assert.equal(msg.file_name, 'asn-2001.edi');
    assert.equal(Buffer.from(msg.raw).toString('latin1'), withControl(soi, 820001));
    // Deleted once committed (the delete follows the commit, so it may land a moment later).
    await waitFor(
      'the remote delete',
      () => Promise.resolve(existsSync(path.join(outgoing, 'asn-2001.edi'))),
      (exists) => !exists,
    );
    assert.ok(existsSync(path.join(outgoing, 'readme.txt')), 'a name outside the glob stays');
    assert.ok(existsSync(path.join(outgoing, 'asn-2001.edi.part')), 'a temporary name stays');
    await waitFor('delivery to the ERP', async () => ({ body: await suite.db.knex('messages').first('state').where('id', msg.id) }), terminal);
    assert.ok(suite.erp.requests.some((r) => r.headers['x-correlation-id'] === msg.correlation_id && r.body.type === 'asn'));

    const ack = await waitFor(
      'the 997 on the partner server',
      () => Promise.resolve(readdirSync(incoming)),
      (names) => names.some((n) => n.startsWith('997-') && !n.endsWith('.part')),
    );
    const name = ack.find((n) => n.startsWith('997-') && !n.endsWith('.part'))!;
    assert.match(readFileSync(path.join(incoming, name), 'latin1'), /ST\*997\*/);
    assert.ok(!ack.some((n) => n.endsWith('.part')), 'no temporary file is left');
    // Collected once the transfer's transaction commits (just after the rename).
    await waitFor(
      'the 997 to be marked collected',
      () => suite.db.knex('messages').first('state').where({ related_message_id: msg.id, direction: 'outbound' }),
      (r) => r?.state === 'collected',
    );
  });

  it('moves picked-up files when told to, and pushes a purchase order from the ERP', async () => {
    await configure(sshd.hostKey, 'move');
    const before = (await inbound()).length;
    writeFileSync(path.join(outgoing, 'asn-2002.edi'), withControl(soi, 820002), 'latin1');
    await waitFor('the pickup', inbound, (rows) => rows.length === before + 1);
    await waitFor('the remote move', () => Promise.resolve(existsSync(path.join(done, 'asn-2002.edi'))), Boolean);
    assert.ok(!existsSync(path.join(outgoing, 'asn-2002.edi')));

    const res = await fetch(`${suite.url}/v1/erp/partners/acme-supply/purchase-orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ERP.key}`, 'content-type': 'application/json', 'idempotency-key': 'po-remote-1' },
      body: order,
    });
    assert.equal(res.status, 201, await res.clone().text());
    const is850 = (x: string) => x.startsWith('850-') && !x.endsWith('.part');
    const names = await waitFor(
      'the 850 on the partner server',
      () => Promise.resolve(readdirSync(incoming)),
      (n) => n.some(is850),
    );
    assert.match(readFileSync(path.join(incoming, names.find(is850)!), 'latin1'), /ST\*850\*/);
  });

  it('keeps an outbound document while the partner server is down, retries with backoff, and delivers it once it is back', async () => {
    await configure(sshd.hostKey);
    await sshd.stop();
    const res = await fetch(`${suite.url}/v1/erp/partners/acme-supply/purchase-orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ERP.key}`, 'content-type': 'application/json', 'idempotency-key': 'po-remote-2' },
      body: order,
    });
    assert.equal(res.status, 201);
    const { messageId } = (await res.json()) as { messageId: string };
    const failed = (await waitFor(
      'a failed transfer',
      () => suite.db.knex('events').first('code', 'detail').where({ message_id: messageId, type: 'delivery.failed' }),
      Boolean,
    )) as { code: string; detail: string };
    assert.equal(failed.code, 'GW_SFTP_REMOTE');
    assert.match(failed.detail, /next attempt in/);
    const row = await suite.db.knex('messages').first('state').where('id', messageId);
    assert.equal(row.state, 'ready', 'still in the mailbox, not lost');
    const push = await suite.db.knex('deliveries').first('state', 'attempts', 'last_error_code').where('message_id', messageId);
    assert.ok(push.attempts >= 1);
    assert.equal(push.last_error_code, 'GW_SFTP_REMOTE');
    await sshd.start();
    await waitFor(
      'the delivery after the outage',
      () => suite.db.knex('messages').first('state').where('id', messageId),
      (r) => r?.state === 'collected',
      20_000,
    );
    const name = (await suite.db.knex('messages').first('file_name').where('id', messageId)).file_name as string;
    assert.match(readFileSync(path.join(incoming, name), 'latin1'), /ST\*850\*/);
  });

  it('refuses a server whose host key is not the pinned one, raises an event and touches nothing', async () => {
    const other = await sshKeygen(dir, 'not-the-server');
    await configure(other.publicKey);
    writeFileSync(path.join(outgoing, 'asn-2003.edi'), withControl(soi, 820003), 'latin1');
    const before = (await inbound()).length;
    const event = (await waitFor(
      'the mismatch event',
      () => suite.db.knex('events').first('type', 'code', 'detail').where({ partner_id: 'acme-supply', type: 'sftp.host-key-mismatch' }),
      Boolean,
    )) as { code: string; detail: string };
    const served = parsePublicKey(sshd.hostKey);
    assert.ok(!(served instanceof Error));
    assert.equal(event.code, 'GW_SFTP_HOST_KEY');
    assert.ok(event.detail.includes(served.fingerprint), event.detail);
    assert.ok(existsSync(path.join(outgoing, 'asn-2003.edi')), 'the file stays on the server');
    assert.equal((await inbound()).length, before);
    assert.match(sshd.log, /^$|Connection closed|disconnect/i);
  });

  async function purchaseOrder(key: string): Promise<string> {
    const res = await fetch(`${suite.url}/v1/erp/partners/acme-supply/purchase-orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ERP.key}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: order,
    });
    assert.equal(res.status, 201);
    return ((await res.json()) as { messageId: string }).messageId;
  }
  const push = (messageId: string) => suite.db.knex('deliveries').first('state', 'attempts', 'last_error_code').where('message_id', messageId);
  const fileNameOf = async (messageId: string) => (await suite.db.knex('messages').first('file_name').where('id', messageId)).file_name as string;

  it('keeps a push through a server outage and a gateway restart, and writes it once under its file name', async () => {
    await configure(sshd.hostKey);
    await sshd.stop();
    const messageId = await purchaseOrder('po-remote-3');
    await waitFor(
      'a failed push',
      () => push(messageId),
      (p) => p?.attempts >= 1 && p.state === 'pending',
    );
    await suite.restart();
    await sshd.start();
    await waitFor(
      'the push after the restart',
      () => suite.db.knex('messages').first('state').where('id', messageId),
      (r) => r?.state === 'collected',
      20_000,
    );
    const name = await fileNameOf(messageId);
    assert.match(readFileSync(path.join(incoming, name), 'latin1'), /ST\*850\*/);
    assert.ok(!readdirSync(incoming).some((n) => n.endsWith('.part')), 'no temporary file is left');
    assert.equal((await push(messageId)).state, 'delivered');
  });

  it('sends a push to dead letter after sftp.remote.delivery.maxAttempts; a replay writes it under the same file name', async () => {
    await configure(sshd.hostKey, 'delete', ', maxAttempts: 2');
    await sshd.stop();
    try {
      const messageId = await purchaseOrder('po-remote-4');
      const dead = await waitFor(
        'dead letter',
        () => push(messageId),
        (p) => p?.state === 'dead',
        20_000,
      );
      assert.equal(dead.attempts, 2);
      assert.equal(dead.last_error_code, 'GW_SFTP_REMOTE');
      const event = await suite.db.knex('events').first('code', 'detail').where({ message_id: messageId, type: 'delivery.dead' });
      assert.match(event.detail, /attempt 2 of 2 .*attempts exhausted/);
      assert.equal((await suite.db.knex('messages').first('state').where('id', messageId)).state, 'ready', 'still in the mailbox');
      await sshd.start();
      const replay = await runCli(['replay', messageId], { env: { DATABASE_URL: suite.db.url } });
      assert.equal(replay.status, 0, replay.stderr);
      await waitFor(
        'the replayed push',
        () => push(messageId),
        (p) => p?.state === 'delivered',
        20_000,
      );
      assert.match(readFileSync(path.join(incoming, await fileNameOf(messageId)), 'latin1'), /ST\*850\*/);
    } finally {
      if (!sshd.running) await sshd.start();
    }
  });
});
