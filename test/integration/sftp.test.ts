import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { CHUNK_BYTES } from '../../src/channels/sftp/files.js';
import { activateHostKey, addHostKey } from '../../src/channels/sftp/host-keys.js';
import { MasterKeys } from '../../src/security/secrets.js';
import { hashPassword } from '../../src/security/ssh-keys.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { ErpReceiver } from '../helpers/erp.js';
import { gatewaySuite, startTestGateway, terminal, waitFor, type TestGateway } from '../helpers/gateway.js';
import { allowSftp, knownHosts, largePriceList, leftovers, runSftp, sshKeygen, storedFiles, type SshIdentity } from '../helpers/sftp.js';
import { runCli, runProcess } from '../helpers/cli.js';
import { withControl } from '../helpers/x12.js';

const run = promisify(execFile);

const soi = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'), 'latin1');
const priceList = readFileSync(path.join(MAPPINGS, 'hansen-textil', 'samples', 'preisliste-2026-12.csv'));
const expectedPriceList = JSON.parse(readFileSync(path.join(MAPPINGS, 'hansen-textil', 'samples', 'preisliste-2026-12.csv.expected.json'), 'utf8')).documents[0]
  .canonical as { items: Record<string, unknown>[] };
const PASSWORD = 'correct horse battery staple';
const sha256Of = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

describe('SFTP door: OpenSSH sftp against the hosted server (real server, real database)', function () {
  this.timeout(90_000);
  const suite = gatewaySuite({ env: { SFTP: 'on', SFTP_LOCKOUT_FAILURES: '3', SFTP_LOCKOUT_SECONDS: '2', SFTP_LOGIN_DELAY_MS: '10' } });
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-sftp-client-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let acmeKey: SshIdentity;
  let hansenKey: SshIdentity;
  let strangerKey: SshIdentity;
  let port: number;
  let trusted: string;

  before(async () => {
    strangerKey = await sshKeygen(dir, 'stranger');
    hansenKey = await sshKeygen(dir, 'hansen', 'rsa');
    acmeKey = await sshKeygen(dir, 'acme');
    port = suite.t.gw.sftp!.port;
    trusted = knownHosts(
      path.join(dir, 'known_hosts'),
      port,
      suite.t.gw.sftp!.hostKeys.map((k) => k.publicKey),
    );
    await allowSftp(suite.t.gw, suite.t.partnersDir, 'acme-supply', [acmeKey.publicKey]);
    await allowSftp(suite.t.gw, suite.t.partnersDir, 'hansen-textil', [hansenKey.publicKey], await hashPassword(PASSWORD));
  });

  const sftp = (user: string, identity: string, commands: string[], kh = trusted) => runSftp({ port, user, identity, knownHosts: kh, commands, cwd: dir });
  const messages = (partner: string) => suite.db.knex('messages').where({ partner_id: partner, direction: 'inbound' }).orderBy('received_at');
  const stateOf = async (id: string) => ({ body: (await suite.db.knex('messages').first('state').where('id', id)) as Record<string, any> });

  it('generates ed25519 and RSA host keys in the data folder, sealed and private to the gateway, matching what clients see', async () => {
    const keysDir = path.join(suite.t.dataDir, 'sftp', 'host-keys');
    const files = readdirSync(keysDir).filter((f) => f.endsWith('.key'));
    assert.deepEqual(files.map((f) => f.split('-')[0]).sort(), ['ed25519', 'rsa']);
    for (const f of files) {
      assert.equal(statSync(path.join(keysDir, f)).mode & 0o777, 0o600);
      const text = readFileSync(path.join(keysDir, f), 'utf8');
      assert.match(text, /BEGIN GATEWAY SEALED PRIVATE KEY/);
      assert.doesNotMatch(text, /BEGIN (OPENSSH|RSA) PRIVATE KEY/, 'no private key in the clear at rest');
    }
    // What an OpenSSH client sees (ssh-keyscan, fingerprinted by ssh-keygen) is what we announce.
    const scanned = (await run('ssh-keyscan', ['-p', String(suite.t.gw.sftp!.port), '-t', 'ed25519,rsa', '127.0.0.1'])).stdout;
    const fromOpenSsh = (await runProcess('ssh-keygen', ['-lf', '-'], { input: scanned })).stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[1])
      .sort();
    assert.deepEqual(fromOpenSsh, suite.t.gw.sftp!.hostKeys.map((k) => k.fingerprint).sort());
  });

  it('takes an X12 856 put into /inbound to the ERP as a canonical ASN, and serves the 997 from /outbound', async () => {
    writeFileSync(path.join(dir, 'asn-1001.edi'), withControl(soi, 810001), 'latin1');
    const put = await sftp('acme-supply', acmeKey.identity, ['cd inbound', 'put asn-1001.edi', 'ls -l /']);
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /archive/);
    const [msg] = await messages('acme-supply');
    assert.ok(msg);
    assert.equal(msg.channel, 'sftp');
    assert.equal(msg.file_name, 'asn-1001.edi');
    assert.equal(msg.format, 'x12');
    await waitFor('delivery', () => stateOf(msg.id), terminal);
    assert.equal((await stateOf(msg.id)).body.state, 'delivered');
    const asn = suite.erp.requests.find((r) => r.headers['x-correlation-id'] === msg.correlation_id);
    assert.equal(asn?.body.type, 'asn');
    assert.ok((asn?.body.document as { shipmentId?: string } | undefined)?.shipmentId);

    const ack = (await waitFor(
      'the 997',
      () => suite.db.knex('messages').first('file_name', 'id').where({ related_message_id: msg.id, direction: 'outbound' }),
      Boolean,
    )) as { file_name: string; id: string };
    const get = await sftp('acme-supply', acmeKey.identity, ['ls -l /outbound', `get /outbound/${ack.file_name} got-997.edi`, `ls /archive`]);
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, new RegExp(ack.file_name.replace(/\./g, '\\.')));
    assert.match(get.stdout, new RegExp(`${msg.id.slice(0, 8)}_asn-1001\\.edi`));
    const text = readFileSync(path.join(dir, 'got-997.edi'), 'latin1');
    assert.match(text, /^ISA/);
    assert.match(text, /ST\*997\*/);
    assert.match(text, /AK9\*A\*1\*1\*1/);
    // The archive holds the file exactly as uploaded.
    const back = await sftp('acme-supply', acmeKey.identity, [`get /archive/${msg.id.slice(0, 8)}_asn-1001.edi archived.edi`]);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(readFileSync(path.join(dir, 'archived.edi'), 'latin1'), withControl(soi, 810001));

    // Deleting it from /outbound marks it collected; it is gone from the listing.
    const rm = await sftp('acme-supply', acmeKey.identity, [`rm /outbound/${ack.file_name}`, 'ls /outbound']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.doesNotMatch(rm.stdout.split('sftp> ls /outbound')[1] ?? '', new RegExp(ack.file_name.replace(/\./g, '\\.')));
    assert.equal((await suite.db.knex('messages').first('state').where('id', ack.id)).state, 'collected');
  });

  it('takes a CSV price list (RSA key) to the ERP as a canonical price list', async () => {
    writeFileSync(path.join(dir, 'preisliste-2026-12.csv'), priceList);
    const put = await sftp('hansen-textil', hansenKey.identity, ['put preisliste-2026-12.csv /inbound/']);
    assert.equal(put.code, 0, put.stderr);
    const [msg] = await messages('hansen-textil');
    assert.ok(msg);
    assert.equal(msg.format, 'csv');
    await waitFor('delivery', () => stateOf(msg.id), terminal);
    assert.equal((await stateOf(msg.id)).body.state, 'delivered');
    const doc = suite.erp.requests.find((r) => r.headers['x-correlation-id'] === msg.correlation_id);
    assert.equal(doc?.body.type, 'price-list');
  });

  it('refuses a key that is not listed for the partner', async () => {
    const res = await sftp('acme-supply', strangerKey.identity, ['ls']);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /Permission denied \(publickey/);
    const other = await sftp('hansen-textil', acmeKey.identity, ['ls']);
    assert.notEqual(other.code, 0, 'a key listed for one partner does not open another');
  });

  it('refuses a partner whose profile does not list sftp, and the audit log says which channel to add', async () => {
    const file = path.join(suite.t.partnersDir, 'hansen-textil.yaml');
    const profile = readFileSync(file, 'utf8');
    writeFileSync(file, profile.replace(/^channels: \[rest, sftp\]$/m, 'channels: [rest]'));
    await suite.t.gw.reload();
    try {
      const res = await sftp('hansen-textil', hansenKey.identity, ['ls']);
      assert.notEqual(res.code, 0);
      const row = await suite.db
        .knex('audit_log')
        .where({ action: 'sftp.login', outcome: 'denied', actor: 'partner:hansen-textil' })
        .orderBy('id', 'desc')
        .first();
      assert.match(row?.details.reason, /Partner hansen-textil may not log in over SFTP: its profile does not list `sftp` under channels \(it lists rest\)/);
    } finally {
      writeFileSync(file, profile);
      await suite.t.gw.reload();
      // The refused logins count toward the address's lockout: cleared, so the next test logs in at once.
      await suite.db.knex('sftp_login_failures').del();
    }
  });

  it('is refused by the client when the server presents a host key it does not trust', async () => {
    const elsewhere = await sshKeygen(dir, 'other-host');
    const wrong = knownHosts(path.join(dir, 'known_hosts_wrong'), port, [elsewhere.publicKey]);
    const res = await sftp('acme-supply', acmeKey.identity, ['ls'], wrong);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /Host key verification failed/);
  });

  it('keeps every path inside the partner tree: .., absolute paths, links, folders', async () => {
    writeFileSync(path.join(dir, 'x'), 'ISA');
    const before = (await messages('acme-supply')).length;
    const escaped = await sftp('acme-supply', acmeKey.identity, ['cd inbound', 'put x ../../x']);
    assert.notEqual(escaped.code, 0);
    assert.match(escaped.stderr, /Permission denied|leads outside/);
    const tries = await sftp('acme-supply', acmeKey.identity, [
      '-put x /etc/x',
      '-put x /x',
      '-put x /outbound/x',
      '-get /inbound/x x2',
      '-symlink /etc/passwd /inbound/passwd',
      '-ln -s /inbound /archive/loop',
      '-mkdir /inbound/sub',
      '-get /../../../etc/passwd passwd',
      '-rm /archive/anything',
      'ls /',
    ]);
    assert.equal(tries.code, 0, tries.stderr);
    assert.equal(tries.stderr.match(/Permission denied|not found|No such file|Failure/gi)?.length, 9, tries.stderr);
    assert.deepEqual(tries.stdout.split('sftp> ls /')[1]?.trim().split(/\s+/).sort(), ['/archive', '/inbound', '/outbound']);
    assert.equal((await messages('acme-supply')).length, before, 'nothing was stored by refused writes');
    assert.throws(() => readFileSync(path.join(dir, 'passwd')), /ENOENT/);
  });

  it('holds a file uploaded as name.part and processes it only once renamed', async () => {
    writeFileSync(path.join(dir, 'asn-1002.edi'), withControl(soi, 810002), 'latin1');
    const before = (await messages('acme-supply')).length;
    const put = await sftp('acme-supply', acmeKey.identity, ['put asn-1002.edi /inbound/asn-1002.edi.part', 'ls -l /inbound']);
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /asn-1002\.edi\.part/);
    assert.equal((await messages('acme-supply')).length, before, 'a .part file is not processed');
    const mv = await sftp('acme-supply', acmeKey.identity, ['rename /inbound/asn-1002.edi.part /inbound/asn-1002.edi', 'ls /inbound']);
    assert.equal(mv.code, 0, mv.stderr);
    assert.doesNotMatch(mv.stdout.split('sftp> ls /inbound')[1] ?? '', /asn-1002/);
    const all = await messages('acme-supply');
    assert.equal(all.length, before + 1);
    const msg = all.at(-1)!;
    assert.equal(msg.file_name, 'asn-1002.edi');
    const [stored] = await storedFiles(suite.db.knex, 'acme-supply', 'asn-1002.edi');
    assert.equal(stored?.raw_sha256, sha256Of(withControl(soi, 810002)), 'the message holds the file as written');
    assert.equal(stored?.stored_bytes, stored?.size_bytes, 'its bytes are stored once (the held chunks became the message)');
    await waitFor('delivery', () => stateOf(msg.id), terminal);
    assert.equal((await stateOf(msg.id)).body.state, 'delivered');
  });

  it('streams a large file through staged chunks, stores each byte once, and serves and interprets it byte for byte', async () => {
    const big = largePriceList(priceList);
    writeFileSync(path.join(dir, 'preisliste-gross.csv'), big);
    const put = await sftp('hansen-textil', hansenKey.identity, ['put preisliste-gross.csv /inbound/']);
    assert.equal(put.code, 0, put.stderr);
    // The close was answered after the commit: the message is there now, whole (measured by the database).
    const [msg] = await storedFiles(suite.db.knex, 'hansen-textil', 'preisliste-gross.csv');
    assert.ok(msg);
    assert.equal(msg.size_bytes, big.length);
    assert.equal(msg.sha256, sha256Of(big));
    assert.equal(msg.raw_length, big.length);
    assert.equal(msg.raw_sha256, sha256Of(big));
    assert.equal(msg.chunked, true, 'the staged chunks are the message: messages.raw holds no copy');
    assert.equal(msg.stored_bytes, big.length, 'each byte is stored once');
    assert.deepEqual(await leftovers(suite.db.knex), { uploads: 0, strayChunks: 0 }, 'no staged upload is left behind');

    // Read back through the archive, across the chunks, exactly as uploaded.
    const back = await sftp('hansen-textil', hansenKey.identity, [`get /archive/${msg.id.slice(0, 8)}_preisliste-gross.csv gross-back.csv`]);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(sha256Of(readFileSync(path.join(dir, 'gross-back.csv'))), sha256Of(big));

    // Interpreted from the chunks: one price list with every row of the file.
    await waitFor('delivery', () => stateOf(msg.id), terminal, 60_000);
    assert.equal((await stateOf(msg.id)).body.state, 'delivered');
    const doc = suite.erp.requests.find((r) => r.headers['x-correlation-id'] === msg.id)?.body.document as { items: Record<string, unknown>[] };
    const rows = big.toString('latin1').split('\r\n').filter(Boolean).length - 1;
    assert.equal(doc.items.length, rows);
    assert.deepEqual(doc.items.at(-1), { ...expectedPriceList.items[0] });
  });

  it('interprets a held-then-renamed (chunked) message again on replay after its partner profile is fixed', async () => {
    const foreign = withControl(soi, 810003).replace('*12*4405197800     *', '*12*5550001111     *');
    writeFileSync(path.join(dir, 'asn-1003.edi.part'), foreign, 'latin1');
    const put = await sftp('acme-supply', acmeKey.identity, ['put asn-1003.edi.part /inbound/', 'rename /inbound/asn-1003.edi.part /inbound/asn-1003.edi']);
    assert.equal(put.code, 0, put.stderr);
    const [stored] = await storedFiles(suite.db.knex, 'acme-supply', 'asn-1003.edi');
    assert.ok(stored?.chunked, 'a held file is committed from its chunks');
    await waitFor('rejection', () => stateOf(stored.id), terminal);
    assert.equal((await stateOf(stored.id)).body.state, 'rejected', 'an unknown ISA sender');

    const file = path.join(suite.t.partnersDir, 'acme-supply.yaml');
    const profile = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      profile.replace('    - { qualifier: "11", id: "RA0219798" }', '    - { qualifier: "11", id: "RA0219798" }\n    - { qualifier: "12", id: "5550001111" }'),
    );
    try {
      await suite.t.gw.reload();
      const replay = await runCli(['replay', stored.id], { env: { DATABASE_URL: suite.db.url } });
      assert.equal(replay.status, 0, replay.stderr);
      await waitFor(
        'delivery after replay',
        () => stateOf(stored.id),
        (s) => s.body.state === 'delivered',
        30_000,
      );
      const asn = suite.erp.requests.find((r) => r.headers['x-correlation-id'] === stored.id);
      assert.equal(asn?.body.type, 'asn');
    } finally {
      writeFileSync(file, profile);
      await suite.t.gw.reload();
    }
  });

  it('discards a file cut off by a disconnect before close', async () => {
    const before = (await messages('hansen-textil')).length;
    const conn = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      conn.on('ready', resolve).on('error', reject);
      conn.connect({ host: '127.0.0.1', port, username: 'hansen-textil', privateKey: readFileSync(hansenKey.identity), hostVerifier: () => true });
    });
    const sftpc = await new Promise<ssh2.SFTPWrapper>((resolve, reject) => conn.sftp((err, s) => (err ? reject(err) : resolve(s))));
    const handle = await new Promise<Buffer>((resolve, reject) => sftpc.open('/inbound/cut-off.csv', 'w', (err, h) => (err ? reject(err) : resolve(h))));
    const chunk = Buffer.alloc(16 * 1024, 0x41); // one SFTP request each (ssh2 splits larger writes)
    // Pipelined, as OpenSSH writes: more than one chunk's worth, so that one chunk is staged.
    const writes = Array.from(
      { length: CHUNK_BYTES / chunk.length + 16 },
      (_, i) => new Promise<void>((resolve, reject) => sftpc.write(handle, chunk, 0, chunk.length, i * chunk.length, (err) => (err ? reject(err) : resolve()))),
    );
    await Promise.all(writes);
    await waitFor(
      'staged chunks',
      () => suite.db.knex('sftp_uploads').where({ name: 'cut-off.csv' }).count({ n: '*' }).first(),
      (r) => r?.n === '1',
      60_000,
    );
    conn.end();
    await waitFor(
      'the cut-off upload to be dropped',
      () => suite.db.knex('sftp_uploads').where({ name: 'cut-off.csv' }).count({ n: '*' }).first(),
      (r) => r?.n === '0',
      60_000,
    );
    assert.equal((await messages('hansen-textil')).length, before);
    assert.deepEqual(await leftovers(suite.db.knex), { uploads: 0, strayChunks: 0 }, 'none of its staged chunks is left');
  });

  it('exits cleanly (EOF answered) after a batch, even an empty one', async () => {
    const res = await sftp('acme-supply', acmeKey.identity, ['pwd']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Remote working directory: \//);
  });
});

describe('SFTP password logins: scrypt, slowed failures, lockout (real server)', function () {
  this.timeout(90_000);
  // The lockout outlasts a few handshakes on a loaded machine; its end is waited for, not slept through.
  const suite = gatewaySuite({ env: { SFTP: 'on', SFTP_LOCKOUT_FAILURES: '3', SFTP_LOCKOUT_SECONDS: '8', SFTP_LOGIN_DELAY_MS: '10' } });
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-sftp-password-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let hansenKey: SshIdentity;
  let port: number;

  before(async () => {
    hansenKey = await sshKeygen(dir, 'hansen', 'rsa');
    port = suite.t.gw.sftp!.port;
    await allowSftp(suite.t.gw, suite.t.partnersDir, 'hansen-textil', [hansenKey.publicKey], await hashPassword(PASSWORD));
  });

  it('accepts the optional password (stored as scrypt), slows down failures and locks out after repeated ones', async () => {
    const login = (password: string) =>
      new Promise<boolean>((resolve) => {
        const c = new ssh2.Client();
        c.on('ready', () => (c.end(), resolve(true))).on('error', () => resolve(false));
        c.connect({ host: '127.0.0.1', port, username: 'hansen-textil', password, hostVerifier: () => true, tryKeyboard: false });
      });
    assert.equal(await login(PASSWORD), true);
    const yaml = readFileSync(path.join(suite.t.partnersDir, 'hansen-textil.yaml'), 'utf8');
    assert.match(yaml, /sftpPassword: "scrypt\$/);
    assert.doesNotMatch(yaml, new RegExp(PASSWORD));
    for (let i = 0; i < 3; i++) assert.equal(await login('wrong'), false);
    const lockedAt = Date.now();
    assert.equal(await login(PASSWORD), false, 'locked out even with the right password');
    await waitFor(
      'the lockout to end',
      () => login(PASSWORD),
      (ok) => ok,
      60_000,
    );
    assert.ok(Date.now() - lockedAt >= 7_000, 'the lockout lasted its 8 s');
  });
});

describe('SFTP host key rotation (real server, OpenSSH client)', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-sftp-rotation-'));
  const keysDir = path.join(dir, 'host-keys');
  let db: TestDatabase;
  let erp: ErpReceiver;
  let t: TestGateway | undefined;
  let client: SshIdentity;
  // Host keys outlive one gateway here, so every gateway shares one master key (as replicas do).
  const masterKey = randomBytes(32);
  const master = new MasterKeys(masterKey);
  const start = async () => {
    t = await startTestGateway(db.knex, erp.url, { SFTP: 'on', SFTP_HOST_KEYS_DIR: keysDir, GATEWAY_MASTER_KEY: masterKey.toString('base64') });
    await allowSftp(t.gw, t.partnersDir, 'acme-supply', [client.publicKey]);
    return t;
  };
  const ls = (gw: TestGateway, kh: string) =>
    runSftp({ port: gw.gw.sftp!.port, user: 'acme-supply', identity: client.identity, knownHosts: kh, commands: ['ls /'], cwd: dir });

  before(async () => {
    client = await sshKeygen(dir, 'acme');
    db = await freshDatabase();
    erp = new ErpReceiver();
    await erp.start();
  });
  after(async () => {
    await t?.close();
    await erp.stop();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes a next key beside the active one, presents it on activation, and retires the old one', async () => {
    const first = await start();
    const old = first.gw.sftp!.hostKeys;
    const next = addHostKey(keysDir, 'ed25519', master);
    const oldOnly = knownHosts(
      path.join(dir, 'kh-old'),
      first.gw.sftp!.port,
      old.map((k) => k.publicKey),
    );
    const both = knownHosts(path.join(dir, 'kh-both'), first.gw.sftp!.port, [...old.map((k) => k.publicKey), next.publicKey]);
    // Before activation, nothing changes for anyone.
    assert.equal((await ls(first, oldOnly)).code, 0);
    assert.equal((await ls(first, both)).code, 0);
    await first.close();

    activateHostKey(keysDir, next.fingerprint, master);
    const second = await start();
    const presented = second.gw.sftp!.hostKeys.map((k) => k.publicKey);
    assert.ok(presented.includes(next.publicKey));
    assert.ok(!presented.includes(old.find((k) => k.type === 'ed25519')!.publicKey));
    assert.ok(
      readdirSync(path.join(keysDir, 'retired')).some((f) => f.startsWith('ed25519-')),
      'the old key is kept in retired/',
    );
    // Partners who added the published line connect; those who did not are warned by their client.
    const port = second.gw.sftp!.port;
    assert.equal((await ls(second, knownHosts(both, port, [...old.map((k) => k.publicKey), next.publicKey]))).code, 0);
    const stale = await ls(
      second,
      knownHosts(
        oldOnly,
        port,
        old.map((k) => k.publicKey),
      ),
    );
    assert.notEqual(stale.code, 0);
    assert.match(stale.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });
});
