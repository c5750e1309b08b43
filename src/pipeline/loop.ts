import type { Logger } from 'pino';

/**
 * Runs `step` repeatedly: again at once while it finds work, otherwise after `idleMs` or when
 * nudged. `stop()` waits for the step in progress. A failing step is logged and retried after
 * `idleMs`; the work it did not finish stays in the database.
 */
export class WorkLoop {
  private running = false;
  private wake: (() => void) | undefined;
  private done: Promise<void> | undefined;

  constructor(
    private readonly name: string,
    private readonly step: () => Promise<number>,
    private readonly idleMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.done = this.run();
  }

  nudge(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let found = 0;
      try {
        found = await this.step();
      } catch (err) {
        this.log.error({ err, loop: this.name }, 'work loop step failed');
      }
      if (found > 0 || !this.running) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.idleMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.done;
  }
}
