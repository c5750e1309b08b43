import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from '../../src/store/db.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { ErpReceiver } from '../helpers/erp.js';
import { ACME_KEY, post, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { allowAs2 } from '../helpers/as2.js';
import { allowSftp, knownHosts, runSftp, sshKeygen } from '../helpers/sftp.js';

describe('when the store cannot commit', function () {
  this.timeout(30_000);
  let erp: ErpReceiver;
  let t: TestGateway;

  before(async () => {
    erp = new ErpReceiver();
    await erp.start();
    // Nothing listens on port 1: every connection attempt is refused, as when the database is down.
    const knex = connect('postgres://gateway@127.0.0.1:1/gateway', 2);
    t = await startTestGateway(knex, erp.url);
  });
  after(async () => {
    await t?.close();
    await erp?.stop();
  });

  it('answers 503 with Retry-After and GW_STORE_UNAVAILABLE, never 202', async () => {
    const res = await post(t.gw.url, ACME_KEY, 'application/edi-x12', readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi')));
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'GW_STORE_UNAVAILABLE');
    assert.equal(res.headers.get('retry-after'), '5');
    assert.equal(res.body.messageId, undefined);
  });

  it('answers an AS2 message with 503 and no MDN, so the partner sends it again', async () => {
    await allowAs2(t.gw, t.partnersDir, 'acme-supply', 'id: ACME-AS2\nrequireSigned: false');
    const res = await fetch(`${t.gw.url}/as2`, {
      method: 'POST',
      headers: {
        'as2-version': '1.2',
        'as2-from': 'ACME-AS2',
        'as2-to': 'PARTNER-GATEWAY',
        'message-id': '<down-1@acme.example>',
        'disposition-notification-to': 'as2@acme.example',
        'content-type': 'application/edi-x12',
      },
      body: readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi')),
    });
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'GW_STORE_UNAVAILABLE');
  });

  it('reports not ready on /readyz while staying alive on /healthz', async () => {
    assert.equal((await fetch(`${t.gw.url}/readyz`)).status, 503);
    assert.equal((await fetch(`${t.gw.url}/healthz`)).status, 200);
  });
});

describe('when the store cannot commit an SFTP upload', function () {
  this.timeout(30_000);
  let erp: ErpReceiver;
  let t: TestGateway;
  let db: TestDatabase;
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-sftp-down-'));

  before(async () => {
    erp = new ErpReceiver();
    await erp.start();
    // Logins read the credential store, so the database answers; only storing a message fails.
    db = await freshDatabase();
    await db.knex.raw('ALTER TABLE messages ADD CONSTRAINT store_refuses_messages CHECK (false) NOT VALID');
    t = await startTestGateway(db.knex, erp.url, { SFTP: 'on' });
  });
  after(async () => {
    await t?.close();
    await erp?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails the client's close, so OpenSSH's sftp reports the put as failed", async () => {
    const key = await sshKeygen(dir, 'acme');
    await allowSftp(t.gw, t.partnersDir, 'acme-supply', [key.publicKey]);
    writeFileSync(path.join(dir, 'asn.edi'), readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi')));
    const kh = knownHosts(
      path.join(dir, 'known_hosts'),
      t.gw.sftp!.port,
      t.gw.sftp!.hostKeys.map((k) => k.publicKey),
    );
    const res = await runSftp({
      port: t.gw.sftp!.port,
      user: 'acme-supply',
      identity: key.identity,
      knownHosts: kh,
      commands: ['put asn.edi /inbound/'],
      cwd: dir,
    });
    assert.notEqual(res.code, 0, 'the batch fails');
    assert.match(res.stderr, /close remote: Failure/, res.stderr);
    assert.equal((await db.knex('messages').count({ n: '*' }))[0]?.n, '0');
  });
});

describe('when the credential store is unreachable at an SFTP login', function () {
  this.timeout(30_000);
  let erp: ErpReceiver;
  let t: TestGateway;
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-sftp-down-'));

  before(async () => {
    erp = new ErpReceiver();
    await erp.start();
    t = await startTestGateway(connect('postgres://gateway@127.0.0.1:1/gateway', 2), erp.url, { SFTP: 'on' });
  });
  after(async () => {
    await t?.close();
    await erp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the login (fail closed) instead of trusting keys it cannot check for revocation', async () => {
    const key = await sshKeygen(dir, 'acme');
    await allowSftp(t.gw, t.partnersDir, 'acme-supply', [key.publicKey]);
    const kh = knownHosts(
      path.join(dir, 'known_hosts'),
      t.gw.sftp!.port,
      t.gw.sftp!.hostKeys.map((k) => k.publicKey),
    );
    const res = await runSftp({ port: t.gw.sftp!.port, user: 'acme-supply', identity: key.identity, knownHosts: kh, commands: ['ls /outbound'], cwd: dir });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /Permission denied/, res.stderr);
  });
});
