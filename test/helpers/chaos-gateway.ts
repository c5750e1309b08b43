import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { newMasterKey } from '../../src/security/secrets.js';
import { runProcess } from './cli.js';
import { REPO } from './corpus.js';
import { freePort } from '../../src/store/embedded.js';
import { testGatewayEnv, testPartners } from './gateway.js';

export { freePort };
import { sshKeygen } from './sftp.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it holds, or throws after `ms` naming `what`. */
export async function until(what: string, probe: () => Promise<boolean> | boolean, ms: number, everyMs = 200): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * What the gateway processes of one scenario share: partner profiles routed to the scenario's ERP
 * (retries enough to ride out every outage the scenarios make; no rate limit in the way of the
 * load), a master key, an SSH key for the SFTP partner and the known_hosts file that trusts them.
 */
export class ChaosSite {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'gw-chaos-'));
  readonly partnersDir = path.join(this.dir, 'partners');
  readonly masterKeyFile = path.join(this.dir, 'master.key');
  readonly knownHosts = path.join(this.dir, 'known_hosts');
  /** The SFTP partner's key pair, made by prepare(). */
  sftpKey = { identity: '', publicKey: '' };

  constructor(
    readonly databaseUrl: string,
    readonly erpUrl: string,
  ) {}

  async prepare(): Promise<void> {
    this.sftpKey = await sshKeygen(this.dir, 'acme-sftp');
    await mkdir(this.partnersDir);
    writeFileSync(this.masterKeyFile, newMasterKey(), { mode: 0o600 });
    writeFileSync(this.knownHosts, '');
    for (const [name, text] of Object.entries(testPartners(this.erpUrl))) {
      if (!['acme-supply.yaml', 'northwind.yaml'].includes(name)) continue;
      let y = text
        .replace('maxAttempts: 4', 'maxAttempts: 50')
        .replace('limits: { maxBytes: 65536 }', 'limits: { maxBytes: 20971520, requestsPerMinute: 1000000 }');
      if (name === 'acme-supply.yaml')
        y = y
          .replace(/^channels: \[rest\]$/m, 'channels: [rest, sftp]')
          .replace(/^credentials:\n/m, `credentials:\n  sshKeys:\n    - key: "${this.sftpKey.publicKey}"\n`);
      await writeFile(path.join(this.partnersDir, name), y);
    }
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the signal sent (or from the call) to the exit. */
  ms: number;
}

/**
 * One gateway as operators run it: `node --import tsx src/cli.ts start` in a child process, with
 * its own data folder and ports (the same on every restart), logging to `<name>.log`.
 */
export class GatewayProcess {
  readonly dataDir: string;
  readonly logFile: string;
  port = 0;
  sftpPort = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<Exit> | undefined;
  private signalledAt = 0;

  constructor(
    readonly site: ChaosSite,
    readonly name: string,
    private readonly env: Record<string, string> = {},
  ) {
    this.dataDir = path.join(site.dir, name);
    this.logFile = path.join(site.dir, `${name}.log`);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and resolves once HTTP answers /healthz and the SFTP port accepts connections. */
  async start(): Promise<void> {
    if (!this.port) [this.port, this.sftpPort] = [await freePort(), await freePort()];
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src', 'cli.ts'), 'start'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...testGatewayEnv(this.dataDir, this.site.partnersDir),
        // Fixed ports: a restarted process answers where its clients left it.
        PORT: String(this.port),
        DATABASE_URL: this.site.databaseUrl,
        GATEWAY_MASTER_KEY_FILE: this.site.masterKeyFile,
        DELIVERY_BACKOFF_MS: '50',
        DELIVERY_BACKOFF_MAX_MS: '1000',
        LOG_LEVEL: 'info',
        CONFIG_WATCH: 'off',
        HTTPS: 'off',
        SFTP: 'on',
        SFTP_PORT: String(this.sftpPort),
        SFTP_LOGIN_DELAY_MS: '0',
        ...this.env,
      },
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.child = child;
    this.signalledAt = 0;
    const startedAt = Date.now();
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        log.end();
        resolve({ code, signal, ms: Date.now() - (this.signalledAt || startedAt) });
      }),
    );
    await until(
      `${this.name} to listen (log: ${this.logFile})`,
      async () => {
        if (!this.running) throw new Error(`${this.name} exited while starting: ${this.logTail()}`);
        return (await this.healthy()) && (await portOpen(this.sftpPort));
      },
      120_000,
    );
    await this.trustHostKeys();
  }

  async healthy(): Promise<boolean> {
    try {
      return (await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(2000) })).ok;
    } catch {
      return false;
    }
  }

  /** Sends `signal` (SIGKILL: the crash; SIGTERM: the supervisor's stop). */
  signal(signal: NodeJS.Signals): void {
    this.signalledAt = Date.now();
    this.child?.kill(signal);
  }

  /** The exit, once it happens (rejects after `ms`). */
  async exit(ms = 60_000): Promise<Exit> {
    if (!this.exited) throw new Error(`${this.name} never started`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${this.name} did not exit within ${ms} ms`)), ms)));
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops it cleanly (SIGTERM), so it leaves nothing claimed; kills it if that takes too long. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    await this.exit(20_000).catch(() => undefined);
    if (this.running) {
      this.signal('SIGKILL');
      await this.exit(30_000).catch(() => undefined);
    }
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Adds this process's SFTP host keys (as ssh-keyscan sees them) to the site's known_hosts. */
  private async trustHostKeys(): Promise<void> {
    const scan = await runProcess('ssh-keyscan', ['-p', String(this.sftpPort), '-t', 'ed25519,rsa', '127.0.0.1'], { timeoutMs: 60_000 });
    const have = readFileSync(this.site.knownHosts, 'utf8');
    const fresh = scan.stdout.split('\n').filter((l) => l.trim() && !have.includes(l));
    if (fresh.length) writeFileSync(this.site.knownHosts, `${have}${fresh.join('\n')}\n`);
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
