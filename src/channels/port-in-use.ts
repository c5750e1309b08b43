import { createServer } from 'node:net';
import { GatewayError } from '../errors.js';

/** A listener the gateway opens, and the environment variable that moves it. */
export interface Listener {
  name: string;
  port: number;
  variable: string;
}

/**
 * What a failed `listen` means to a person: a port taken (or not ours to take) becomes one line
 * naming the variable to change; anything else stays as it was.
 */
export function listenError(err: unknown, listener: Listener): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new GatewayError(
      'GW_PORT_IN_USE',
      `Port ${listener.port} (${listener.name}) is in use (another gateway?). Set ${listener.variable} to another port.`,
    );
  if (code === 'EACCES')
    return new GatewayError(
      'GW_PORT_IN_USE',
      `Port ${listener.port} (${listener.name}) needs privileges this process lacks. Set ${listener.variable} to a port above 1023.`,
    );
  return err;
}

/**
 * Throws GW_PORT_IN_USE for the first listener whose port is taken on `host`, before anything is
 * started: a second gateway says so at once instead of after opening its database. Port 0 (any
 * free port) is never taken. A port taken between this check and the real listen is still reported
 * by `listenError`.
 */
export async function checkPortsFree(host: string, listeners: readonly Listener[]): Promise<void> {
  for (const l of listeners) {
    if (l.port === 0) continue;
    await new Promise<void>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', (err) => reject(listenError(err, l)));
      probe.listen({ port: l.port, host, exclusive: true }, () => probe.close(() => resolve()));
    });
  }
}
