import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

/**
 * Calls `changed` after a file under `dirs` is added, removed or saved. Node's recursive fs.watch
 * loses a file once an editor saves it by rename (`sed -i`, vim, most IDEs): the watch stays on the
 * old inode and later saves go unseen. So fs.watch is only a hint that makes a save show up at once;
 * what decides is a fingerprint of every file (path, inode, size, mtime), taken on each hint and
 * every `pollMs`, which no way of saving escapes.
 */
export class ConfigWatcher {
  private readonly watchers: FSWatcher[] = [];
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private last: string | undefined;
  private checking: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly dirs: string[],
    private readonly changed: () => void,
    private readonly log: Logger,
    private readonly pollMs = 1000,
    private readonly settleMs = 200,
  ) {}

  async start(): Promise<void> {
    this.last = await this.fingerprint();
    for (const dir of new Set(this.dirs)) {
      try {
        this.watchers.push(watch(dir, { recursive: true }, () => this.hint()));
      } catch (err) {
        this.log.warn({ dir, err: (err as Error).message }, 'cannot watch for configuration changes; polling only (or reload with SIGHUP)');
      }
    }
    this.poll = setInterval(() => void this.check(), this.pollMs);
    this.poll.unref();
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers) w.close();
    clearInterval(this.poll);
    clearTimeout(this.debounce);
  }

  /** A burst of events (an editor's temp file, rename, chmod) settles into one check. */
  private hint(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.check(), this.settleMs);
  }

  private check(): Promise<void> {
    this.checking ??= (async () => {
      try {
        const now = await this.fingerprint();
        if (this.closed || now === this.last) return;
        this.last = now;
        this.changed();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'cannot read the configuration folders for changes');
      } finally {
        this.checking = undefined;
      }
    })();
    return this.checking;
  }

  private async fingerprint(): Promise<string> {
    const lines: string[] = [];
    for (const dir of new Set(this.dirs)) await this.walk(dir, lines);
    return lines.sort().join('\n');
  }

  private async walk(dir: string, lines: string[]): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await this.walk(p, lines);
      else {
        const s = await stat(p).catch(() => undefined);
        if (s) lines.push(`${p}\t${s.ino}\t${s.size}\t${s.mtimeMs}`);
      }
    }
  }
}
