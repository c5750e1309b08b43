import { type DestinationStream, pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; secrets and payloads never reach them. Written to stdout unless `destination` is given. */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'partner-gateway' },
    redact: {
      paths: ['req.headers.authorization', 'authorization', 'apiKey', 'password', '*.password', 'raw', 'body', 'canonical'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
