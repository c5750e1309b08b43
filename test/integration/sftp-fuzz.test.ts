import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import ssh2 from 'ssh2';
import type { SFTPWrapper } from 'ssh2';
import { MAPPINGS } from '../helpers/corpus.js';
import { gatewaySuite } from '../helpers/gateway.js';
import { allowSftp, knownHosts, largePriceList, runSftp, sshKeygen, type SshIdentity } from '../helpers/sftp.js';

const { STATUS_CODE } = ssh2.utils.sftp;
const priceList = readFileSync(path.join(MAPPINGS, 'hansen-textil', 'samples', 'preisliste-2026-12.csv'));

/** What a refusal may be: never an internal failure, never a dropped session. */
const REFUSALS = new Set<number>([STATUS_CODE.EOF, STATUS_CODE.NO_SUCH_FILE, STATUS_CODE.PERMISSION_DENIED, STATUS_CODE.FAILURE, STATUS_CODE.OP_UNSUPPORTED]);
/** Per request, on a busy machine: far above what an answer takes, far below a hang. */
const PER_REQUEST_MS = 20_000;

const segment = fc.oneof(
  fc.constantFrom('..', '.', '', 'inbound', 'outbound', 'archive', 'x.edi', 'x.edi.part', '\u0000', '\n', '\\', 'é', '📦', '\u202e'),
  fc.string({ unit: 'grapheme', maxLength: 16 }),
);
const hostilePath = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.boolean(), fc.array(segment, { maxLength: 10 })).map(([abs, parts]) => `${abs ? '/' : ''}${parts.join('/')}`) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('/inbound/', '/', '../'), fc.constantFrom('a', 'é', '../'), fc.integer({ min: 250, max: 7000 }))
      .map(([p, u, n]) => `${p}${u.repeat(n)}`),
  },
);
const request = fc.oneof(
  fc.record({ op: fc.constantFrom('stat', 'lstat', 'opendir', 'realpath', 'unlink', 'mkdir', 'rmdir', 'readlink'), path: hostilePath }),
  fc.record({ op: fc.constantFrom('rename', 'symlink'), path: hostilePath, to: hostilePath }),
  fc.record({ op: fc.constant('setstat'), path: hostilePath, mode: fc.nat({ max: 0o177777 }) }),
  fc.record({ op: fc.constant('open'), path: hostilePath, flags: fc.oneof(fc.nat({ max: 0x3f }), fc.nat({ max: 0xffffffff })) }),
  fc.record({
    op: fc.constant('write'),
    path: hostilePath,
    flags: fc.nat({ max: 0x3f }),
    offset: fc.oneof(fc.constant(0), fc.nat(), fc.maxSafeNat()),
    length: fc.nat({ max: 40_000 }),
  }),
  // Handles the server never gave out (or gave out for something else).
  fc.record({
    op: fc.constantFrom('fstat', 'readdir', 'close', 'read', 'fsetstat'),
    path: fc.constant(''),
    handle: fc.uint8Array({ maxLength: 8 }),
    offset: fc.oneof(fc.nat(), fc.maxSafeNat()),
    length: fc.integer({ min: 1, max: 30_000 }),
  }),
);
type Request = { op: string; path: string; to?: string; mode?: number; flags?: number; offset?: number; length?: number; handle?: Uint8Array };

/** Calls `fn` with a callback; resolves with the error or value, or fails after PER_REQUEST_MS. */
function within<T>(
  what: string,
  fn: (cb: (err: (Error & { code?: unknown }) | null | undefined, value?: T) => void) => void,
): Promise<{ err?: Error & { code?: unknown }; value?: T }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${what} within ${PER_REQUEST_MS} ms`)), PER_REQUEST_MS);
    fn((err, value) => {
      clearTimeout(timer);
      resolve(err ? { err } : { value: value as T });
    });
  });
}

/**
 * Sends one hostile request and checks the answer: a result, or a refusal with a status code.
 * Resolves true when it uploaded a file (a well-formed write to /inbound is a partner's right).
 */
async function send(sftp: SFTPWrapper, r: Request): Promise<boolean> {
  const what = `${r.op} ${JSON.stringify(r.path.slice(0, 80))}`;
  let res: { err?: Error & { code?: unknown }; value?: unknown };
  let uploaded = false;
  if (r.handle) {
    const handle = Buffer.from(r.handle);
    const ops: Record<string, (cb: (e: Error | null | undefined, v?: unknown) => void) => void> = {
      fstat: (cb) => sftp.fstat(handle, cb),
      readdir: (cb) => sftp.readdir(handle, cb),
      close: (cb) => sftp.close(handle, cb),
      read: (cb) => sftp.read(handle, Buffer.alloc(r.length!), 0, r.length!, r.offset!, (e) => cb(e)),
      fsetstat: (cb) => sftp.fsetstat(handle, { mode: 0o644 }, cb),
    };
    res = await within<unknown>(`${r.op} handle ${handle.toString('hex')}`, ops[r.op]!);
  } else if (r.op === 'open' || r.op === 'write') {
    res = await within<Buffer>(what, (cb) => sftp.open(r.path, r.flags!, cb));
    const handle = res.value as Buffer | undefined;
    let written = false;
    if (handle && r.op === 'write') {
      const w = await within<void>(`${what}: write`, (cb) => sftp.write(handle, Buffer.alloc(r.length!, 0x42), 0, r.length!, r.offset!, (e) => cb(e)));
      checkAnswer(`${what}: write`, w.err);
      written = !w.err && r.length! > 0;
    }
    if (handle) {
      const closed = await within<void>(`${what}: close`, (cb) => sftp.close(handle, (e) => cb(e)));
      checkAnswer(`${what}: close`, closed.err);
      uploaded = written && !closed.err;
    }
  } else if (r.op === 'rename' || r.op === 'symlink') {
    res = await within<void>(what, (cb) =>
      (sftp[r.op as 'rename'] as (a: string, b: string, cb: (e?: Error | null) => void) => void).call(sftp, r.path, r.to!, (e) => cb(e)),
    );
  } else if (r.op === 'setstat') {
    res = await within<void>(what, (cb) => sftp.setstat(r.path, { mode: r.mode! }, (e) => cb(e)));
  } else if (r.op === 'realpath') {
    res = await within<string>(what, (cb) => sftp.realpath(r.path, cb));
    if (!res.err) {
      const resolved = res.value as string;
      assert.ok(resolved.startsWith('/') && !resolved.split('/').includes('..'), `realpath answered ${resolved}`);
      assert.ok(resolved.length <= 8192, `realpath answered ${resolved.length} characters`);
    }
  } else {
    res = await within<unknown>(what, (cb) =>
      (sftp[r.op as 'stat'] as (p: string, cb: (e: Error | null | undefined, v?: unknown) => void) => void).call(sftp, r.path, cb),
    );
    if (r.op === 'opendir' && res.value) await within<void>(`${what}: close`, (cb) => sftp.close(res.value as Buffer, (e) => cb(e)));
  }
  checkAnswer(what, res.err);
  return uploaded;
}

function checkAnswer(what: string, err: (Error & { code?: unknown }) | undefined): void {
  if (!err) return;
  assert.equal(typeof err.code, 'number', `${what}: not an SFTP status (${err.message})`);
  assert.ok(REFUSALS.has(err.code as number), `${what}: status ${String(err.code)}`);
  assert.doesNotMatch(err.message, /GW_INTERNAL/, `${what}: an unexpected error inside the server`);
}

describe('SFTP door under hostile requests (fast-check over a live session, real server)', function () {
  this.timeout(300_000);
  const suite = gatewaySuite({ env: { SFTP: 'on' } });
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-sftp-fuzz-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let key: SshIdentity;
  let conn: ssh2.Client;
  let sftp: SFTPWrapper;

  before(async () => {
    key = await sshKeygen(dir, 'hansen');
    await allowSftp(suite.t.gw, suite.t.partnersDir, 'hansen-textil', [key.publicKey]);
    conn = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      conn.on('ready', resolve).on('error', reject);
      conn.connect({
        host: '127.0.0.1',
        port: suite.t.gw.sftp!.port,
        username: 'hansen-textil',
        privateKey: readFileSync(key.identity),
        hostVerifier: () => true,
      });
    });
    sftp = await new Promise<SFTPWrapper>((resolve, reject) => conn.sftp((err, s) => (err ? reject(err) : resolve(s))));
  });
  after(() => conn?.end());

  it('answers every request (odd paths, flags, offsets) with a result or a refusal, keeps the session, and stores only well-formed uploads', async () => {
    const sessionEnded = new Promise<string>((resolve) => sftp.once('close', () => resolve('the session was closed by the server')));
    let uploads = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const outcome = await Promise.race([send(sftp, r).then((uploaded) => ((uploads += Number(uploaded)), 'answered')), sessionEnded]);
        assert.equal(outcome, 'answered', `${r.op} ${JSON.stringify(r.path.slice(0, 80))}`);
      }),
      {
        numRuns: Number(process.env.PROPERTY_RUNS ?? 300),
        // Found by this test: REALPATH of a path naming nothing answered it with its `..` kept.
        examples: [
          [{ op: 'realpath', path: '/x.edi.part/../zzz' }],
          [{ op: 'realpath', path: `/inbound/${'é'.repeat(7000)}` }],
          [{ op: 'open', path: '/inbound/x.edi', flags: 0xffffffff }],
        ],
      },
    );
    // Still the same session, still at home.
    assert.equal((await within<string>('realpath .', (cb) => sftp.realpath('.', cb))).value, '/');
    assert.equal(Number((await suite.db.knex('messages').count({ n: '*' }).first())?.n), uploads, 'only well-formed uploads stored a message');
  });

  it('answers a READ asking for more than one packet with a short read, not an oversized packet', async () => {
    const file = largePriceList(priceList, 1 << 20);
    writeFileSync(path.join(dir, 'big.csv'), file);
    const kh = knownHosts(
      path.join(dir, 'known_hosts'),
      suite.t.gw.sftp!.port,
      suite.t.gw.sftp!.hostKeys.map((k) => k.publicKey),
    );
    const put = await runSftp({
      port: suite.t.gw.sftp!.port,
      user: 'hansen-textil',
      identity: key.identity,
      knownHosts: kh,
      commands: ['put big.csv /inbound/'],
      cwd: dir,
      timeoutMs: 90_000,
    });
    assert.equal(put.code, 0, put.stderr);
    const [archived] = (await within<{ filename: string }[]>('readdir', (cb) => sftp.readdir('/archive', cb))).value!.filter((e) =>
      e.filename.endsWith('_big.csv'),
    );
    const handle = (await within<Buffer>('open', (cb) => sftp.open(`/archive/${archived!.filename}`, 'r', cb))).value!;
    // A client that ignores the packet limit (ssh2 otherwise splits reads itself) asks for 1 MiB at once.
    (sftp as unknown as { _maxReadLen: number })._maxReadLen = 1 << 20;
    const buf = Buffer.alloc(1 << 20);
    const read = await within<number>('read', (cb) => sftp.read(handle, buf, 0, buf.length, 0, (e, n) => cb(e, n)));
    assert.equal(read.err, undefined, read.err?.message);
    assert.ok(read.value! > 0 && read.value! <= 256 * 1024, `read ${read.value} bytes in one packet`);
    assert.ok(buf.subarray(0, read.value).equals(file.subarray(0, read.value)));
  });
});
