import { GatewayError, isGatewayError } from './errors.js';

/** Numeric options are checked before anything runs: a typo must not turn into "50" or NaN. */
export function checkNumbers(values: { within?: string | undefined; limit?: string | undefined }): void {
  const check = (name: string, v: string | undefined, min: number, max: number) => {
    if (v === undefined) return;
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || n < min || n > max)
      throw new GatewayError('GW_CLI_ARGUMENT', `--${name} takes a whole number from ${min} to ${max} (found "${v}").`);
  };
  check('within', values.within, 0, 36_500);
  check('limit', values.limit, 1, 10_000);
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One line for any failure: a stable code and what to do; the stack only at LOG_LEVEL debug or trace. Returns the exit code. */
export function report(err: unknown): number {
  const line = failureLine(err);
  console.error(line);
  if (line.startsWith('GW_INTERNAL') && /^(debug|trace)$/.test(process.env.LOG_LEVEL ?? '')) console.error(String((err as Error).stack));
  return line.startsWith('GW_CLI_ARGUMENT') ? 2 : 1;
}

function failureLine(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; path?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (isGatewayError(err)) return `${err.code}: ${err.message}`;
  // Node's first sentence says what is wrong; the rest (quoting with --) is rarely what a person meant.
  if (code.startsWith('ERR_PARSE_ARGS')) return `GW_CLI_ARGUMENT: ${firstSentence(String(e.message))}; \`gateway --help\` shows the usage.`;
  // A file named on the command line that cannot be read (or written).
  if (/^(ENOENT|EACCES|EISDIR|ENOTDIR|EPERM)$/.test(code) && e.path)
    return `GW_CLI_ARGUMENT: cannot use ${String(e.path)}: ${code === 'ENOENT' ? 'no such file or folder' : code}.`;
  // PostgreSQL's invalid_text_representation and numeric_value_out_of_range: an argument the checks above let through.
  if (code === '22P02' || code === '22003') return `GW_CLI_ARGUMENT: ${String(e.message).split(' - ').pop()}`;
  // Anything else is not the user's mistake: say so, and how to see the stack for a report.
  const where = /^(debug|trace)$/.test(process.env.LOG_LEVEL ?? '') ? 'the stack follows' : 'LOG_LEVEL=debug shows where';
  return `GW_INTERNAL: ${String(e.message ?? err)} (unexpected: probably a bug in the gateway, please report it; ${where})`;
}

function firstSentence(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').replace(/\.(\s.*)?$/, '');
}
