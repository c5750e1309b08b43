import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/store/embedded.js';
import { runProcess } from '../helpers/cli.js';
import { copyConfig } from '../helpers/config.js';
import { REPO } from '../helpers/corpus.js';
import { type GatewayProcess, spawnGateway } from '../helpers/gateway-process.js';
import { blockScript, COMMAND_END, missingOutput, type ReadmeCommand, type ReadmeStep, readmeSteps } from '../helpers/readme.js';

/**
 * README.md, run as written (test/helpers/readme.ts says how its blocks are annotated): a copy of
 * the checkout's configuration, `npm start` in it (the embedded PostgreSQL in its ./data, as the
 * README says), then every walk-through in order, each command's output checked against the `# →`
 * lines under it. Only the ports differ from the README's, so that the test never meets a gateway
 * someone is running: 8080 and 2222 in the commands are replaced by free ports.
 *
 * It starts its own embedded database whatever TEST_DATABASE_URL says, so the run against a
 * server PostgreSQL would repeat it identically: there it is skipped (visibly).
 */

const LINKED = ['node_modules', 'dist', 'src', 'scripts', 'migrations', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];

/** A directory that looks like a fresh checkout: code linked, configuration copied (the walk-throughs edit it). */
function checkoutCopy(): string {
  const { dir } = copyConfig();
  // The embedded PostgreSQL runs as the postgres user when we are root: it must reach ./data.
  chmodSync(dir, 0o755);
  for (const name of LINKED) symlinkSync(path.join(REPO, name), path.join(dir, name));
  return dir;
}

interface Ports {
  http: number;
  sftp: number;
  https: number;
}

const onOurPorts = (text: string, ports: Ports) => text.replaceAll('127.0.0.1:8080', `127.0.0.1:${ports.http}`).replaceAll('-P 2222', `-P ${ports.sftp}`);

/** Runs one shell block; answers the failure to report, or undefined when every command did and printed what the README says. */
async function runBlock(commands: ReadmeCommand[], dir: string, env: NodeJS.ProcessEnv, ports: Ports): Promise<string | undefined> {
  const ours = commands.map((c) => ({ ...c, text: onOurPorts(c.text, ports) }));
  const run = await runProcess('bash', ['-c', blockScript(ours, path.join(dir, '.readme-state'))], { cwd: dir, env, timeoutMs: 240_000 });
  const outputs = run.stdout.split(`\n${COMMAND_END}\n`);
  for (const [i, c] of commands.entries()) {
    const output = outputs[i] ?? '';
    if (i >= outputs.length - 1 && run.status !== 0) return `README.md:${c.line}: \`${c.text}\` exited with ${run.status}; it printed:\n${output}`;
    const missing = missingOutput(output, c.expect);
    if (missing !== undefined) return `README.md:${c.line}: \`${c.text}\` did not print "${missing}"; it printed:\n${output}`;
  }
  return run.status === 0 ? undefined : `the block exited with ${run.status}:\n${run.stdout}`;
}

async function runStep(step: ReadmeStep, dir: string, env: NodeJS.ProcessEnv, ports: Ports): Promise<void> {
  if (step.kind === 'skip') return;
  if (step.kind === 'file') {
    mkdirSync(path.dirname(path.join(dir, step.path)), { recursive: true });
    writeFileSync(path.join(dir, step.path), step.text);
    return;
  }
  // A retried block reads what the gateway finishes a moment later (a status, a mailbox): again until it shows it.
  const deadline = Date.now() + (step.kind === 'retry' ? 120_000 : 0);
  for (;;) {
    const failure = await runBlock(step.commands, dir, env, ports);
    if (failure === undefined) return;
    if (Date.now() > deadline) assert.fail(failure);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('README.md walk-throughs, run as written against `npm start`', function () {
  this.timeout(300_000);
  const steps = readmeSteps(readFileSync(path.join(REPO, 'README.md'), 'utf8'));
  let dir: string;
  let gp: GatewayProcess | undefined;
  let ports: Ports;
  let env: NodeJS.ProcessEnv;
  let failed = false;

  before(async function () {
    if (process.env.TEST_DATABASE_URL) {
      console.log('    (skipped with TEST_DATABASE_URL: the README test runs on its own embedded PostgreSQL, in the embedded run)');
      this.skip();
    }
    dir = checkoutCopy();
    ports = { http: await freePort(), sftp: await freePort(), https: await freePort() };
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LANG: 'C.UTF-8',
      PORT: String(ports.http),
      SFTP_PORT: String(ports.sftp),
      HTTPS_PORT: String(ports.https),
    };
    gp = spawnGateway({ ...(env as Record<string, string>), LOG_LEVEL: 'info' }, 'npm', [], dir);
    await gp.waitForLog('gateway started', 180_000);
  });

  after(async () => {
    if (gp && gp.child.exitCode === null) {
      gp.child.kill('SIGTERM');
      await gp.exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('annotates every walk-through', () => {
    const sections = new Set(steps.filter((s) => s.kind !== 'skip').map((s) => s.section));
    for (const s of ['Walk-through', 'Add a partner (YAML and samples only)', 'SFTP', 'AS2', 'Security'])
      assert.ok(sections.has(s), `README section "${s}" is run`);
  });

  for (const step of steps)
    it(`README.md:${step.line} (${step.section}) ${step.kind === 'file' ? step.path : step.kind}`, async function () {
      if (failed) this.skip();
      try {
        await runStep(step, dir, env, ports);
      } catch (err) {
        failed = true;
        throw err;
      }
    });
});
