import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { REPO } from './corpus.js';
import { testGatewayEnv } from './gateway.js';

export { writeTestPartners } from './gateway.js';

/**
 * The gateway as operators run it: a separate process (`node --import tsx src/cli.ts start`, or
 * `npm start`), read through its JSON log lines, stopped with signals.
 */
export interface GatewayProcess {
  child: ChildProcess;
  /** Every JSON log line so far. */
  logs: Record<string, any>[];
  /** Plain lines (npm's banner, stack traces). */
  text: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line (from `from` on) whose msg includes `msg`. */
  waitForLog(msg: string, ms?: number, from?: number): Promise<Record<string, any>>;
  /** The HTTP door's URL, once listening. */
  url(): Promise<string>;
}

/** Environment for a gateway on ephemeral loopback ports with the test partners. */
export function gatewayEnv(dataDir: string, partnersDir: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(DATABASE_URL|TEST_DATABASE_URL|NODE_OPTIONS)$/.test(k)) env[k] = v;
  return { ...env, ...testGatewayEnv(dataDir, partnersDir), HTTPS: 'off', SFTP: 'off', LOG_LEVEL: 'info', ...extra };
}

/** `nodeArgs` (with `cli`): options for node itself, e.g. a benchmark's `--cpu-prof`; `cwd`: where `npm start` runs. */
export function spawnGateway(env: Record<string, string>, how: 'cli' | 'npm' = 'cli', nodeArgs: string[] = [], cwd = REPO): GatewayProcess {
  const child =
    how === 'npm'
      ? spawn('npm', ['start'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/cli.ts', 'start'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, any>[] = [];
  const text: string[] = [];
  const waiters = new Set<() => void>();
  let rest = '';
  const onData = (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        if (line.trim()) text.push(line);
      }
    }
    for (const w of waiters) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const w of waiters) w();
  });
  const waitForLog = (msg: string, ms = 120_000, from = 0) =>
    new Promise<Record<string, any>>((resolve, reject) => {
      const check = () => {
        const hit = logs.slice(from).find((l) => String(l.msg).includes(msg));
        if (hit || gone) {
          clearTimeout(timer);
          waiters.delete(check);
          if (hit) resolve(hit);
          else
            reject(
              new Error(`the gateway exited before logging "${msg}"; its output:\n${[...text, ...logs.map((l) => JSON.stringify(l))].slice(-40).join('\n')}`),
            );
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(`no "${msg}" in the gateway's log within ${ms} ms; its output:\n${[...text, ...logs.map((l) => JSON.stringify(l))].slice(-40).join('\n')}`),
        );
      }, ms);
      waiters.add(check);
      check();
    });
  return { child, logs, text, exited, waitForLog, url: async () => String((await waitForLog('HTTP listening')).url) };
}

/** Every process below `pid` (from /proc), so that a test can see that none outlives a stop. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(name), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) if (pp === p) out.push(c), walk(c);
  };
  walk(pid);
  return out;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie (exited, not yet reaped) is dead for our purposes.
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Polls `cond` until it holds, or fails after `ms`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
