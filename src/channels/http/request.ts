import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { GatewayError } from '../../errors.js';
import type { RateLimiter } from '../../security/rate-limit.js';

/**
 * Reading a request at the HTTP doors: credentials, bodies, headers and parameters, each checked
 * before it reaches the pipeline or SQL, so a malformed request is a 4xx with a stable code.
 */

/** The bearer token of a request; undefined without an Authorization header. */
export function bearerToken(ctx: Context): string | undefined {
  const header = ctx.get('authorization');
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new GatewayError('GW_AUTH_INVALID', 'The Authorization header must be "Bearer <access token or API key>".');
  return m[1] as string;
}

/** The media type of the body, lower case, without parameters; '' without a Content-Type. */
export function mediaTypeOf(ctx: Context): string {
  return (ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase();
}

/** The request body, at most `limit` bytes (413 beyond). */
export async function readBody(ctx: Context, limit: number, whose: string): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, { limit, length: ctx.get('content-length') || undefined });
  } catch (err) {
    if ((err as { type?: string }).type === 'entity.too.large')
      throw new GatewayError('GW_REQUEST_TOO_LARGE', `The body exceeds the limit of ${limit} bytes${whose}.`);
    throw new GatewayError('GW_REQUEST_INVALID', `The body could not be read: ${(err as Error).message}.`);
  }
}

/** An Idempotency-Key header, checked; undefined when absent. */
export function idempotencyKeyOf(ctx: Context): string | undefined {
  const key = ctx.get('idempotency-key') || undefined;
  if (key && !/^[\x21-\x7e]{1,255}$/.test(key)) throw new GatewayError('GW_REQUEST_INVALID', 'Idempotency-Key must be 1-255 visible ASCII characters.');
  return key;
}

/** The caller's X-Correlation-Id when it is well-formed; '' otherwise (one is made). */
export function requestId(ctx: Context): string {
  const given = ctx.get('x-correlation-id');
  return /^[\w.:-]{1,128}$/.test(given) ? given : '';
}

/** 429 with Retry-After when the bucket `key` is empty; takes one request from it otherwise. */
export async function throttle(ctx: Context, limiter: RateLimiter, key: string, perMinute: number): Promise<void> {
  refuseAfter(ctx, await limiter.take(key, perMinute));
}

/** 429 with Retry-After when `wait` (seconds) is positive. */
export function refuseAfter(ctx: Context, wait: number): void {
  if (wait <= 0) return;
  ctx.set('retry-after', String(wait));
  throw new GatewayError('GW_RATE_LIMITED', `Too many requests; retry in ${wait} s.`);
}

/** U+0000 or a lone surrogate: text that PostgreSQL cannot store in text or jsonb columns. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A message or document id from the path, which must be a UUID in its canonical form (8-4-4-4-12
 * hex digits) before it reaches SQL. Anything else is 404 GW_NOT_FOUND, as an unknown id is.
 */
export function uuidParam(value: unknown, what: string): string {
  if (typeof value === 'string' && UUID.test(value)) return value.toLowerCase();
  throw new GatewayError('GW_NOT_FOUND', `No ${what} ${printable(value)}: ids are UUIDs such as 3f2b8c1e-5d4a-4c1b-9e7f-0a1b2c3d4e5f.`);
}

/** A text parameter (query or body) that reaches SQL: one string, 1-`max` characters, no control characters. */
export function textParam(value: unknown, name: string, max = 200): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > max || /[\u0000-\u001f\u007f]/.test(value) || UNSTORABLE.test(value))
    throw new GatewayError('GW_REQUEST_INVALID', `${name} must be given once, as 1-${max} characters without control characters.`);
  return value;
}

/**
 * An integer parameter within [min, max]; `fallback` when absent. A JSON body gives a number, a
 * query string gives digits (`text`).
 */
export function integerParam(value: unknown, name: string, o: { min: number; max: number; fallback: number; text?: boolean }): number {
  if (value === undefined) return o.fallback;
  const n = typeof value === 'number' ? value : o.text && typeof value === 'string' && /^-?\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < o.min || n > o.max)
    throw new GatewayError('GW_REQUEST_INVALID', `${name} must be a whole number from ${o.min} to ${o.max} (found ${printable(value)}).`);
  return n;
}

/** The latest instant PostgreSQL and every client can hold comfortably. */
const LAST_DATE = Date.UTC(9999, 11, 31, 23, 59, 59);

/** A date-time parameter (ISO 8601) between 1970 and 9999; undefined when absent. */
export function dateParam(value: unknown, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (!(ms >= 0 && ms <= LAST_DATE))
    throw new GatewayError(
      'GW_REQUEST_INVALID',
      `${name} must be an ISO 8601 date or date-time between 1970 and 9999, such as 2026-11-30T12:00:00Z (found ${printable(value)}).`,
    );
  return new Date(ms);
}

/** Whether PostgreSQL can store the text (no U+0000, no lone surrogate). */
export function isStorable(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/**
 * The JSON path of the first string (value or key) holding U+0000 or a lone surrogate, which the
 * store cannot hold; undefined when there is none. Iterative, so any nesting depth is safe.
 */
export function pathOfUnstorable(value: unknown): string | undefined {
  const stack: [unknown, string][] = [[value, '$']];
  while (stack.length) {
    const [v, at] = stack.pop() as [unknown, string];
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) return at;
    } else if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) stack.push([x, `${at}[${i}]`]);
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (UNSTORABLE.test(k)) return at;
        stack.push([x, `${at}.${k}`]);
      }
    }
  }
  return undefined;
}

/** A value as an error message may quote it: a short, printable excerpt. */
export function printable(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return `"${clean.length > 60 ? `${clean.slice(0, 60)}…` : clean}"`;
}

/** A small JSON object body (an administration or operations request); anything else is GW_JSON_SYNTAX. */
export async function readJson(ctx: Context): Promise<Record<string, unknown>> {
  const text = (await readBody(ctx, 65_536, '')).toString('utf8');
  try {
    const v: unknown = JSON.parse(text || '{}');
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new GatewayError('GW_JSON_SYNTAX', `The body is not a JSON object: ${(err as Error).message}.`);
  }
}
