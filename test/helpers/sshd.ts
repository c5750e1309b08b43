import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/store/embedded.js';
import { promisify } from 'node:util';

export const SSHD = '/usr/sbin/sshd';

/** Whether OpenSSH's server can run here (Debian package openssh-server; CI installs it). */
export const haveSshd = (): boolean => existsSync(SSHD);

/**
 * A partner's own SFTP server: OpenSSH's sshd on a loopback port, with its own host key, one
 * authorized key and internal-sftp, running as the current user. Files live under `dir`.
 */
export class PartnerSshd {
  port = 0;
  private child: ChildProcess | undefined;
  readonly user = userInfo().username;
  readonly hostKeyFile: string;
  log = '';

  constructor(
    private readonly dir: string,
    private readonly authorizedKey: string,
  ) {
    this.hostKeyFile = path.join(dir, 'ssh_host_ed25519_key');
  }

  /** The host key line the partner gives us to pin. */
  get hostKey(): string {
    return readFileSync(`${this.hostKeyFile}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  }

  async start(): Promise<void> {
    if (!existsSync(this.hostKeyFile)) await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', this.hostKeyFile]);
    writeFileSync(path.join(this.dir, 'authorized_keys'), `${this.authorizedKey}\n`, { mode: 0o600 });
    // A restart keeps the port, as a real server would.
    this.port ||= await freePort();
    const config = path.join(this.dir, 'sshd_config');
    writeFileSync(
      config,
      `${[
        `Port ${this.port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${this.hostKeyFile}`,
        'PidFile none',
        `AuthorizedKeysFile ${path.join(this.dir, 'authorized_keys')}`,
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'PermitRootLogin prohibit-password',
        'StrictModes no',
        `AllowUsers ${this.user}`,
        'Subsystem sftp internal-sftp',
        'LogLevel ERROR',
      ].join('\n')}\n`,
    );
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true });
    this.child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr?.on('data', (d) => (this.log += d));
    const until = Date.now() + 10_000;
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const c = connect(this.port, '127.0.0.1', () => (c.end(), resolve(true)));
        c.on('error', () => resolve(false));
      });
      if (up) return;
      if (this.child.exitCode !== null || Date.now() > until) throw new Error(`sshd did not start: ${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** True while the server process runs. */
  get running(): boolean {
    return Boolean(this.child && this.child.exitCode === null);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}
