import { type DestinationStream, pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * Structured logs; secrets and payloads never reach them. Written to `destination` when given;
 * otherwise to stdout (or stderr: a CLI command's stdout carries only its answer): one JSON object a
 * line, or lines for a person (pino-pretty) when that stream is a terminal. Messages, deliveries and
 * their outcomes each get one info line (docs/metrics.md, "Logs").
 */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info', destination: DestinationStream | 'stdout' | 'stderr' = 'stdout'): Logger {
  const options = {
    level,
    base: { service: 'partner-gateway' },
    redact: {
      paths: ['req.headers.authorization', 'authorization', 'apiKey', 'password', '*.password', 'raw', 'body', 'canonical'],
      censor: '[redacted]',
    },
  };
  if (typeof destination !== 'string') return pino(options, destination);
  const fd = destination === 'stderr' ? 2 : 1;
  // In the process's own thread, synchronously: a person at a terminal reads lines as they happen.
  if ((fd === 2 ? process.stderr : process.stdout).isTTY)
    return pino(
      options,
      pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true, sync: true, destination: fd }),
    );
  return fd === 1 ? pino(options) : pino(options, pino.destination({ fd, sync: true }));
}
