import { GatewayError, isGatewayError } from '../errors.js';

/**
 * Every problem of every configuration file, collected so that `gateway partners validate`, a start
 * and a reload list them all at once instead of one per try (decision 0046).
 */

/** Runs one check; a configuration error it throws is noted in `errs` (and undefined returned), anything else goes on up. */
export async function noting<T>(errs: GatewayError[], check: () => Promise<T> | T): Promise<T | undefined> {
  try {
    return await check();
  } catch (err) {
    if (!isGatewayError(err)) throw err;
    errs.push(...(err instanceof ConfigErrors ? err.errors : [err]));
    return undefined;
  }
}

/**
 * Every problem of every configuration file, in file order: `gateway partners validate`, a start
 * and a reload list them all at once instead of one per try.
 */
export class ConfigErrors extends GatewayError {
  constructor(readonly errors: GatewayError[]) {
    const first = errors[0] as GatewayError;
    const code = errors.every((e) => e.code === first.code) ? first.code : 'GW_CONFIG_INVALID';
    super(code, `${errors.map((e) => e.message).join('\n')}\n${countLine(errors)}`, {
      ...(first.location ? { location: first.location } : {}),
      problems: errors.flatMap((e) => e.problems),
    });
  }
}

/** "3 errors in 2 files". */
export function countLine(errors: readonly GatewayError[]): string {
  const files = new Set(errors.map((e) => e.location?.file ?? e.message.split(':')[0]));
  return `${errors.length} error${errors.length === 1 ? '' : 's'} in ${files.size} file${files.size === 1 ? '' : 's'}`;
}

/** Problems file by file (in the order the files were read), each file's from its top line down. */
export function inFileOrder(errors: GatewayError[]): GatewayError[] {
  const files = [...new Set(errors.map((e) => e.location?.file))];
  const place = (e: GatewayError) => files.indexOf(e.location?.file) * 1e12 + (e.location?.line ?? 0) * 1e6 + (e.location?.column ?? 0);
  return errors.sort((a, b) => place(a) - place(b));
}
