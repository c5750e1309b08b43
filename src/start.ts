import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { checkPortsFree, type Listener } from './channels/port-in-use.js';
import type { Settings } from './config/env.js';
import type { Gateway } from './server.js';
import { migrate, openDatabase } from './store/db.js';

interface StopRequest {
  reason: string;
  exitCode: number;
}

const sleep = (ms: number) => new Promise<false>((r) => setTimeout(() => r(false), ms).unref());

/**
 * `gateway start` as a process: SIGHUP reloads partners/ and mappings/; SIGINT or SIGTERM stop
 * gracefully (no new work is accepted, work in progress finishes, or is released when it takes
 * longer than STOP_TIMEOUT_SECONDS; the embedded PostgreSQL stops last); a second signal exits at
 * once. An embedded PostgreSQL that cannot be kept running stops the gateway with exit code 1.
 * With `demoUsers`, the README's demo portal users are added when missing (for the demo only).
 * Returns the exit code.
 * @see docs/decisions/0011-process-lifecycle.md
 */
export async function runGateway(settings: Settings, log: Logger, opts: { demoUsers?: boolean } = {}): Promise<number> {
  let requestStop!: (r: StopRequest) => void;
  const stopRequested = new Promise<StopRequest>((resolve) => (requestStop = resolve));
  let stopping = false;
  let gw: Gateway | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second stop signal: exiting now; claimed deliveries are sent again after their lease');
      process.exit(130);
    }
    stopping = true;
    requestStop({ reason: signal, exitCode: 0 });
  };
  const onHangUp = () => {
    if (gw) void gw.reload().catch(() => undefined);
    else log.warn('SIGHUP before the gateway has started: nothing to reload yet');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onHangUp);

  // The gateway's code, most of the program, loads while the database starts (decision 0045).
  const code = Promise.all([import('./server.js'), import('./security/demo-users.js')]);
  code.catch(() => undefined); // awaited below; a failure before then is reported there
  // A port another process holds is said at once, before the database is opened.
  await checkPortsFree(settings.host, listenersOf(settings));
  const db = await openDatabase({
    ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}),
    dataDir: settings.dataDir,
    log,
    onRestarted: (diedAt) => {
      void gw
        ?.release(diedAt)
        .then((n) => log.warn({ deliveries: n }, 'deliveries claimed before the database restart handed back'))
        .catch((err: Error) =>
          log.error({ err: err.message }, 'cannot hand back deliveries claimed before the database restart; they are sent after their lease'),
        );
    },
    onLost: (reason) => {
      stopping = true;
      requestStop({ reason: `GW_STORE_EMBEDDED: ${reason}`, exitCode: 1 });
    },
  });
  try {
    log.info({ database: db.describe }, 'database opened');
    const applied = await migrate(db.knex);
    if (applied.length) log.info({ applied }, 'migrations applied');
    const [{ startGateway }, demo] = await code;
    gw = await startGateway({ settings, knex: db.knex, log });
    if (opts.demoUsers) await announceDemoUsers(demo, db.knex, gw, log);
    log.info({ pid: process.pid }, 'gateway started; SIGHUP reloads the configuration, SIGTERM stops');
    process.stderr.write(`${readyLine(gw, db.describe)}\n`);
    const { reason, exitCode } = await stopRequested;
    log.info({ reason, timeoutSeconds: settings.stopTimeoutMs / 1000 }, 'stopping: no new work is accepted; work in progress finishes');
    return (await stopGateway(gw, settings.stopTimeoutMs, log)) ? exitCode : 1;
  } finally {
    process.off('SIGHUP', onHangUp);
    // The database stops last, whatever happened above.
    await Promise.race([db.close(), sleep(10_000)]).catch((err: Error) => log.error({ err: err.message }, 'closing the database failed'));
    log.info('stopped');
  }
}

/** The listeners `start` opens, each with the variable that moves it. */
function listenersOf(settings: Settings): Listener[] {
  return [
    { name: 'HTTP', port: settings.port, variable: 'PORT' },
    ...(settings.https.enabled ? [{ name: 'HTTPS', port: settings.https.port, variable: 'HTTPS_PORT' }] : []),
    ...(settings.sftp.enabled ? [{ name: 'SFTP', port: settings.sftp.port, variable: 'SFTP_PORT' }] : []),
    ...(settings.metrics.token && settings.metrics.port !== undefined ? [{ name: 'metrics', port: settings.metrics.port, variable: 'METRICS_PORT' }] : []),
  ];
}

/** One line for the person who started the gateway (the log has the details): where it answers, on what database. */
function readyLine(gw: Gateway, database: string): string {
  const doors = [
    `HTTP on ${gw.url} (portal ${gw.url}/portal/)`,
    ...(gw.https ? [`HTTPS (mTLS) on ${gw.https.url}`] : []),
    ...(gw.sftp ? [`SFTP on port ${gw.sftp.port}`] : []),
    ...(gw.metricsUrl ? [`metrics on ${gw.metricsUrl}/metrics`] : []),
  ];
  return `Gateway ready: ${doors.join(', ')}; database: ${database}. Ctrl-C stops it.`;
}

async function announceDemoUsers({ addDemoUsers, DEMO_USERS }: typeof import('./security/demo-users.js'), knex: Knex, gw: Gateway, log: Logger): Promise<void> {
  const added = await addDemoUsers(knex, gw.config());
  log.warn(
    { added, portal: `${gw.url}/portal/sign-in`, users: DEMO_USERS.map((u) => u.username) },
    'demo portal users are enabled, with the passwords printed in README.md: for a local demo only',
  );
}

/** Stops the gateway within `timeoutMs`; past it, claimed work is released. False when that fails too. */
async function stopGateway(gw: Gateway, timeoutMs: number, log: Logger): Promise<boolean> {
  const stopped = gw.stop().then(
    () => true,
    (err: Error) => {
      log.error({ err: err.message }, 'graceful stop failed; releasing claimed work');
      return false;
    },
  );
  if (await Promise.race([stopped, sleep(timeoutMs)])) return true;
  log.warn({ timeoutMs }, 'work in progress did not finish in time; releasing what this process claimed');
  try {
    const released = await gw.release();
    log.warn({ deliveries: released }, 'claimed deliveries released; another process (or the next start) sends them, under the same idempotency keys');
    return true;
  } catch (err) {
    log.error({ err: (err as Error).message }, 'cannot release claimed deliveries; they are sent again after their lease');
    return false;
  }
}
