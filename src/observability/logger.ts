import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; secrets and payloads never reach them. */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service: 'partner-gateway' },
    redact: {
      paths: ['req.headers.authorization', 'authorization', 'apiKey', 'password', '*.password', 'raw', 'body', 'canonical'],
      censor: '[redacted]',
    },
  });
}
