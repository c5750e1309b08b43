import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

/** An idle event loop in a worker thread of this process: it measures its own delay until told to stop. */
const CONTROL = `
const { parentPort } = require('node:worker_threads');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const h = monitorEventLoopDelay({ resolution: 10 });
h.enable();
parentPort.postMessage('started');
parentPort.on('message', () => { h.disable(); parentPort.postMessage(h.max / 1e6); });
`;

export interface LoopDelay {
  /** The longest delay of this process's main event loop, in ms. */
  mainMs: number;
  /** The longest delay of an idle loop beside it in the same process: what the machine's load alone causes. */
  controlMs: number;
}

/**
 * Measures the main event loop's longest delay while `during` runs, beside an idle control loop in
 * a worker thread. On a busy machine both are delayed when the process is not scheduled; only the
 * main loop is delayed by work that holds it, so a hold is the main delay beyond the control's.
 */
export async function loopDelayDuring(during: () => Promise<void>): Promise<LoopDelay> {
  const control = new Worker(CONTROL, { eval: true });
  const next = () => new Promise<unknown>((resolve, reject) => control.once('message', resolve).once('error', reject));
  try {
    await next();
    const main = monitorEventLoopDelay({ resolution: 10 });
    main.enable();
    try {
      await during();
    } finally {
      main.disable();
    }
    const stopped = next();
    control.postMessage('stop');
    return { mainMs: main.max / 1e6, controlMs: Number(await stopped) };
  } finally {
    await control.terminate();
  }
}
