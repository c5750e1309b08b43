import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { connect } from '../../src/store/db.js';
import { chaosSuite } from '../helpers/chaos.js';
import { sleep, until, type GatewayProcess } from '../helpers/chaos-gateway.js';
import { assertNothingLostOrDoubled, itemNames, restLoad, settle, sftpLoad, sftpPut, Tally } from '../helpers/chaos-load.js';
import { PrivatePostgres } from '../helpers/chaos-postgres.js';

/**
 * Restarts the gateway whenever it exits, as systemd or Kubernetes would: a gateway may exit on
 * losing its database as long as it says so and a restart carries on. Returns a stop function.
 */
function supervise(gw: GatewayProcess, restarts: { n: number }): () => Promise<void> {
  let on = true;
  const loop = (async () => {
    while (on) {
      if (!gw.running) {
        restarts.n++;
        await gw.start().catch(() => undefined);
      }
      await sleep(250);
    }
  })();
  return async () => {
    on = false;
    await loop;
  };
}

describe('chaos: PostgreSQL stopped and started during the load', () => {
  const pg = new PrivatePostgres();
  before(async () => pg.create());
  after(async () => pg.remove());
  const s = chaosSuite({ databaseUrl: () => pg.url });

  it('no door answers success without a commit (503 meanwhile), and everything accepted is delivered', async () => {
    const gw = s.gateway('pg-restart');
    await gw.start();
    const restarts = { n: 0 };
    const unsupervise = supervise(gw, restarts);
    const tally = new Tally();
    const target = () => gw;
    const load = Promise.all([
      restLoad({ tally, items: itemNames('P4R', 300), target, concurrency: 8 }),
      sftpLoad({ tally, items: itemNames('P4S', 30), target, concurrency: 2, site: s.site, firstControl: 740_000_000 }),
    ]);
    await until('a third of the load accepted', () => tally.accepted.size >= 100, 120_000, 20);
    await pg.stop();
    // Answers in flight when the server went away may still arrive; count those of the time it was down.
    const acceptedBefore = tally.accepted.size;
    await sleep(5000);
    const acceptedWhileDown = tally.accepted.size - acceptedBefore;
    await pg.start();
    await load;
    const c = await settle('postgres-stop-start', tally, s.erp, { extra: `accepted while down ${acceptedWhileDown}, gateway restarts ${restarts.n}` });
    await unsupervise();
    assertNothingLostOrDoubled(c, tally);
    // Every 202 names a message that is in the store: none was a success without a commit.
    const db = connect(pg.url, 2);
    try {
      const ids = [...tally.accepted.values()].filter((id): id is string => Boolean(id));
      const found = await db('messages').whereIn('id', ids).count<{ count: string }[]>('* as count');
      assert.equal(Number(found[0]?.count), ids.length);
    } finally {
      await db.destroy();
    }
  });
});

describe('chaos: a slow database while REST and SFTP receive', () => {
  const s = chaosSuite();

  /** Every INSERT statement into `table` now takes `seconds` longer, inside its transaction. */
  async function slowInserts(knex: Knex, table: string, seconds: number): Promise<void> {
    await knex.raw(
      `CREATE OR REPLACE FUNCTION chaos_slow_${table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(${seconds}); RETURN NULL; END $$`,
    );
    await knex.raw(`CREATE TRIGGER chaos_slow_${table} BEFORE INSERT ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION chaos_slow_${table}()`);
  }
  async function fastInserts(knex: Knex, table: string): Promise<void> {
    await knex.raw(`DROP TRIGGER IF EXISTS chaos_slow_${table} ON ${table}`);
  }

  it('no success is answered before the commit, and everything accepted is delivered', async () => {
    const gw = s.gateway('slow-db');
    await gw.start();
    await slowInserts(s.db.knex, 'messages', 0.3);
    const tally = new Tally();
    const early: string[] = [];
    const target = () => gw;
    const load = Promise.all([
      // At the moment the partner hears 202, the message must be visible to another connection.
      restLoad({
        tally,
        items: itemNames('D5R', 200),
        target,
        concurrency: 8,
        onAccepted: async (item, id) => {
          if (
            !(await s.db
              .knex('messages')
              .first('id')
              .where('id', id ?? ''))
          )
            early.push(`${item} (REST ${id})`);
        },
      }),
      // At the moment sftp's close succeeds, the whole file must be committed.
      sftpLoad({
        tally,
        items: itemNames('D5S', 20),
        target,
        concurrency: 2,
        site: s.site,
        firstControl: 750_000_000,
        onAccepted: async (item) => {
          const size = statSync(path.join(s.site.dir, `${item}.edi`)).size;
          const row = await s.db
            .knex('messages')
            .first('size_bytes')
            .where({ partner_id: 'acme-supply', file_name: `${item}.edi` });
          if (Number(row?.size_bytes) !== size) early.push(`${item} (SFTP, stored ${row?.size_bytes ?? 'nothing'} of ${size} bytes)`);
        },
      }),
    ]);
    await load;
    await fastInserts(s.db.knex, 'messages');
    const c = await settle('slow-database', tally, s.erp, { extra: `successes before commit ${early.length}` });
    assert.deepEqual(early, [], 'answered success before the commit');
    assertNothingLostOrDoubled(c, tally);
  });

  it('a large SFTP file with slow staging is stored whole before its close succeeds', async () => {
    const gw = s.gateway('slow-staging');
    await gw.start();
    await slowInserts(s.db.knex, 'sftp_uploads', 1.5);
    await slowInserts(s.db.knex, 'message_chunks', 1.5);
    try {
      const file = 'large-D5L.edi';
      writeFileSync(path.join(s.site.dir, file), randomBytes(5_243_100));
      const put = await sftpPut(s.site, gw.sftpPort, file);
      assert.equal(put.status, 0, put.stderr);
      const row = await s.db.knex('messages').first('size_bytes').where({ partner_id: 'acme-supply', file_name: file });
      assert.equal(Number(row?.size_bytes), 5_243_100, 'the stored message has every byte the client wrote');
    } finally {
      await fastInserts(s.db.knex, 'sftp_uploads');
      await fastInserts(s.db.knex, 'message_chunks');
    }
  });
});
