import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { MAPPINGS } from '../helpers/corpus.js';
import { gatewaySuite, waitFor } from '../helpers/gateway.js';
import { allowSftp, knownHosts, largePriceList, runSftp, sshKeygen, type SshIdentity } from '../helpers/sftp.js';
import { haveSshd, PartnerSshd } from '../helpers/sshd.js';

const priceList = readFileSync(path.join(MAPPINGS, 'hansen-textil', 'samples', 'preisliste-2026-12.csv'));
const CAP = 1 << 20;

/**
 * GATEWAY_MAX_BODY_BYTES caps every SFTP file, on the hosted door and on pickups from partners'
 * own servers: the effective limit is the smaller of it and the partner's `limits.maxBytes`, and the
 * refusal names the limit that binds and its value. Hansen's own limit is the default 10 MiB, so the
 * gateway's 1 MiB binds; ACME's is 64 KiB.
 */
describe('SFTP size limits: GATEWAY_MAX_BODY_BYTES over the partner limit (OpenSSH sftp and sshd)', function () {
  this.timeout(120_000);
  const suite = gatewaySuite({ env: { SFTP: 'on', GATEWAY_MAX_BODY_BYTES: String(CAP), REMOTE_SFTP_CHECK_MS: '100' } });
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-sftp-limits-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let hansen: SshIdentity;
  let acme: SshIdentity;
  let kh: string;

  before(async () => {
    acme = await sshKeygen(dir, 'acme');
    hansen = await sshKeygen(dir, 'hansen');
    kh = knownHosts(
      path.join(dir, 'known_hosts'),
      suite.t.gw.sftp!.port,
      suite.t.gw.sftp!.hostKeys.map((k) => k.publicKey),
    );
    await allowSftp(suite.t.gw, suite.t.partnersDir, 'hansen-textil', [hansen.publicKey]);
    await allowSftp(suite.t.gw, suite.t.partnersDir, 'acme-supply', [acme.publicKey]);
  });

  const put = (user: string, identity: string, file: string) =>
    runSftp({ port: suite.t.gw.sftp!.port, user, identity, knownHosts: kh, commands: [`put ${file} /inbound/`], cwd: dir, timeoutMs: 90_000 });
  const stored = (partner: string, name: string) => suite.db.knex('messages').where({ partner_id: partner, file_name: name }).count({ n: '*' }).first();
  const noUploads = () =>
    waitFor(
      'the refused upload to be discarded',
      () => suite.db.knex('sftp_uploads').count({ n: '*' }).first(),
      (r) => r?.n === '0',
      60_000,
    );

  /** Writes `size` bytes with the ssh2 client and returns the server's status message for the refusal. */
  async function refusalMessage(user: string, identity: string, size: number): Promise<string> {
    const conn = new ssh2.Client();
    try {
      await new Promise<void>((resolve, reject) => {
        conn.on('ready', resolve).on('error', reject);
        conn.connect({ host: '127.0.0.1', port: suite.t.gw.sftp!.port, username: user, privateKey: readFileSync(identity), hostVerifier: () => true });
      });
      const sftp = await new Promise<ssh2.SFTPWrapper>((resolve, reject) => conn.sftp((err, s) => (err ? reject(err) : resolve(s))));
      const err = await new Promise<Error | undefined>((resolve) =>
        sftp.writeFile('/inbound/too-big.csv', Buffer.alloc(size, 0x41), (e) => resolve(e ?? undefined)),
      );
      assert.ok(err, `a ${size}-byte file was accepted`);
      return err.message;
    } finally {
      conn.end();
    }
  }

  it('refuses a 3 MiB file put with a 1 MiB GATEWAY_MAX_BODY_BYTES, stores nothing, and names the limit', async () => {
    writeFileSync(path.join(dir, 'big.csv'), largePriceList(priceList, 3 << 20));
    const res = await put('hansen-textil', hansen.identity, 'big.csv');
    assert.notEqual(res.code, 0, `sftp reported success: ${res.stdout}`);
    assert.equal((await stored('hansen-textil', 'big.csv'))?.n, '0');
    await noUploads();
    const message = await refusalMessage('hansen-textil', hansen.identity, CAP + 1);
    assert.match(message, new RegExp(`GW_REQUEST_TOO_LARGE: /inbound/too-big\\.csv exceeds the limit of ${CAP} bytes \\(GATEWAY_MAX_BODY_BYTES\\)`));
    await noUploads();
  });

  it('takes a file under both limits', async () => {
    writeFileSync(path.join(dir, 'small.csv'), largePriceList(priceList, CAP / 2));
    const res = await put('hansen-textil', hansen.identity, 'small.csv');
    assert.equal(res.code, 0, res.stderr);
    assert.equal((await stored('hansen-textil', 'small.csv'))?.n, '1');
  });

  it("names the partner's own limit when it is the smaller one", async () => {
    const message = await refusalMessage('acme-supply', acme.identity, 65_537);
    assert.match(message, /GW_REQUEST_TOO_LARGE: \/inbound\/too-big\.csv exceeds the limit of 65536 bytes \(limits\.maxBytes of partner acme-supply\)/);
    await noUploads();
  });

  describe("pickup from the partner's own server", () => {
    const server = path.join(dir, 'partner-server');
    const outgoing = path.join(server, 'outgoing');
    let sshd: PartnerSshd | undefined;
    before(async function () {
      if (!haveSshd()) {
        console.log('      (skipped: OpenSSH sshd is not installed here; .ci/run installs openssh-server)');
        this.skip();
      }
      mkdirSync(outgoing, { recursive: true });
      const login = await sshKeygen(server, 'gateway-login');
      sshd = new PartnerSshd(server, login.publicKey);
      await sshd.start();
      appendFileSync(
        path.join(suite.t.partnersDir, 'hansen-textil.yaml'),
        `sftp:
  remote:
    host: 127.0.0.1
    port: ${sshd.port}
    username: ${sshd.user}
    privateKey: ${login.identity}
    hostKey: ["${sshd.hostKey}"]
    pickup: { dir: ${outgoing}, glob: "*.csv", after: delete, everySeconds: 1 }
`,
      );
      await suite.t.gw.reload();
    });
    after(async () => {
      await sshd?.stop();
    });

    it('leaves a file over GATEWAY_MAX_BODY_BYTES on the server with an event naming the limit, and picks up the rest', async () => {
      writeFileSync(path.join(outgoing, 'remote-big.csv'), largePriceList(priceList, 2 << 20));
      writeFileSync(path.join(outgoing, 'remote-small.csv'), priceList);
      const skipped = (await waitFor(
        'the skipped event',
        () => suite.db.knex('events').first('code', 'detail').where({ partner_id: 'hansen-textil', type: 'sftp.pickup-skipped' }),
        Boolean,
        60_000,
      )) as { code: string; detail: string };
      assert.equal(skipped.code, 'GW_REQUEST_TOO_LARGE');
      assert.match(skipped.detail, new RegExp(`remote-big\\.csv exceeds the limit of ${CAP} bytes \\(GATEWAY_MAX_BODY_BYTES\\)`));
      await waitFor(
        'the small file',
        () => stored('hansen-textil', 'remote-small.csv'),
        (r) => r?.n === '1',
        60_000,
      );
      assert.equal((await stored('hansen-textil', 'remote-big.csv'))?.n, '0');
      assert.ok(existsSync(path.join(outgoing, 'remote-big.csv')), 'the large file stays on the server');
    });
  });
});
