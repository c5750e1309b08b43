import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { buildIsCurrent } from '../../scripts/build-stamp.mjs';
import { REPO } from './corpus.js';

export interface ProcessRun {
  /** The exit code (null when killed by a signal). */
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program asynchronously, feeding `input` on stdin, and resolves when it exits, whatever
 * its status. A child process run synchronously beside an in-process gateway would block its event
 * loop: keep-alive sockets close and the test fails for the wrong reason.
 */
export function runProcess(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string | Buffer; cwd?: string; timeoutMs?: number } = {},
): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd ?? REPO, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const limit = opts.timeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(file)} ${args.join(' ')} did not exit within ${limit} ms; stderr: ${Buffer.concat(err).toString('utf8')}`));
    }, limit);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined); // a program that exits without reading its input
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * Node's arguments that start `gateway`: the build when it is current (what `npx gateway` runs; half a
 * second quicker per process than compiling the sources), else the sources through tsx (a checkout
 * being edited, where dist/ is stale).
 */
export const CLI_ENTRY: readonly string[] = buildIsCurrent()
  ? [path.join(REPO, 'dist', 'src', 'cli.js')]
  : ['--import', 'tsx', path.join(REPO, 'src', 'cli.ts')];

/** `gateway <args>` as a process (CLI_ENTRY), with LOG_LEVEL=silent unless `env` says otherwise. */
export function runCli(args: string[], opts: { env?: Record<string, string | undefined>; input?: string } = {}): Promise<ProcessRun> {
  return runProcess(process.execPath, [...CLI_ENTRY, ...args], {
    env: { ...process.env, LOG_LEVEL: 'silent', ...opts.env },
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
}

/** `openssl <args>` asynchronously; its stdout as a Buffer; throws with stderr when it fails. */
export async function openssl(args: string[], input?: string | Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (status) =>
      status === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`openssl ${args.join(' ')} exited ${status}: ${Buffer.concat(err).toString('utf8')}`)),
    );
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** Adds a portal user with `gateway users add <args>` against a test gateway's database and profiles; the password on stdin. */
export async function addUserByCli(
  suite: { db: { url: string }; t: { dataDir: string; partnersDir: string } },
  args: string[],
  password: string,
): Promise<void> {
  const r = await runCli(['users', 'add', ...args], {
    env: { DATABASE_URL: suite.db.url, GATEWAY_DATA_DIR: suite.t.dataDir, PARTNERS_DIR: suite.t.partnersDir },
    input: password,
  });
  assert.equal(r.status, 0, r.stderr);
}
