import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { GatewayError, isGatewayError } from '../../errors.js';
import { OAUTH_ERROR } from '../../security/oauth.js';

/**
 * The one place the HTTP app turns an error into an answer: the stable code and message of a
 * GatewayError, never the details of a 5xx. The token endpoint answers in the names of RFC 6749
 * §5.2, with our code beside them, whichever method reached its path.
 */
export function answerErrors(log: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
    } catch (err) {
      const ge = isGatewayError(err) ? err : undefined;
      const status = ge?.status ?? 500;
      if (status >= 500) log.error({ err, path: ctx.path }, 'request failed');
      ctx.status = status;
      if (ge?.retryable && status === 503) ctx.set('retry-after', '5');
      if (status === 401 && !ctx.path.startsWith('/oauth/')) ctx.set('www-authenticate', 'Bearer realm="partner-gateway"');
      if (ctx.path === '/oauth/token') {
        ctx.set('cache-control', 'no-store');
        ctx.body = oauthError(ge, status);
        if (status === 401 && /^Basic/i.test(ctx.get('authorization'))) ctx.set('www-authenticate', 'Basic realm="partner-gateway"');
        return;
      }
      ctx.body = { error: gatewayError(ge, status) };
    }
  };
}

/** The last middleware: a path and method no router answers. */
export function noRoute(ctx: Context): never {
  throw new GatewayError('GW_NOT_FOUND', `No route ${ctx.method} ${ctx.path}.`);
}

function gatewayError(ge: GatewayError | undefined, status: number) {
  if (!ge) return { code: 'GW_INTERNAL', message: 'An unexpected error occurred.' };
  if (status >= 500) return { code: ge.code, message: ge.message };
  return { code: ge.code, message: ge.message, ...(ge.location ? { location: ge.location } : {}) };
}

/** @see RFC 6749 §5.2 (error, error_description) */
function oauthError(ge: GatewayError | undefined, status: number) {
  return {
    error: ge ? (OAUTH_ERROR[ge.code] ?? (status >= 500 ? 'server_error' : 'invalid_request')) : 'server_error',
    error_description: ge && status < 500 ? ge.message : 'An unexpected error occurred.',
    code: ge?.code ?? 'GW_INTERNAL',
  };
}
