#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { checkNumbers, report } from './cli-errors.js';
import { helpFor, USAGE } from './cli-usage.js';
import { readSettings } from './config/env.js';
import { createLogger } from './observability/logger.js';
import { withDemoErpKey } from './security/demo-erp-key.js';

/**
 * The `gateway` command. This module stays small: `start` and the other commands load their own
 * modules only when run, so `gateway start` opens its database while the gateway's code loads
 * (decision 0045), and `--help` answers at once.
 */
async function main(argv: string[]): Promise<number> {
  const help = helpFor(argv);
  if (help !== undefined) {
    console.log(help);
    return 0;
  }
  const {
    positionals: [command, ...rest],
    values: { demo, 'demo-users': demoUsers, ...values },
  } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      within: { type: 'string' },
      partner: { type: 'string' },
      kind: { type: 'string' },
      file: { type: 'string' },
      overlap: { type: 'string' },
      expires: { type: 'string' },
      scopes: { type: 'string' },
      publish: { type: 'string' },
      action: { type: 'string' },
      limit: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      demo: { type: 'boolean' },
      'demo-users': { type: 'boolean' },
    },
  });
  checkNumbers(values);
  if (command === undefined) {
    console.error(USAGE);
    return 2;
  }
  const settings = readSettings(process.env);
  if (command === 'start') {
    const { runGateway } = await import('./start.js');
    const log = createLogger(settings.logLevel);
    if (demo === true) return runGateway(withDemoErpKey(settings, log), log, { demoUsers: true });
    return runGateway(settings, log, { demoUsers: demoUsers === true });
  }
  // A command's stdout carries its answer: its logs go to stderr, warnings only unless LOG_LEVEL says otherwise.
  const log = createLogger(process.env.LOG_LEVEL ? settings.logLevel : 'warn', 'stderr');
  const { runCommand } = await import('./cli-commands.js');
  return runCommand(command, rest, values, settings, log);
}

/** Resolves once everything written to `stream` so far has been handed to the OS (a pipe may be slower than us). */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    stream.write('', () => resolve());
  });
}

// Exiting while stdout is a pipe that still holds output cuts it short: exit once it has drained.
main(process.argv.slice(2))
  .then(
    (code) => code,
    (err: unknown) => report(err),
  )
  .then(async (code) => {
    await Promise.all([drained(process.stdout), drained(process.stderr)]);
    process.exit(code);
  });
