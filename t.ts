import { openDatabase, migrate } from './src/store/db.ts';
import { createLogger } from './src/observability/logger.ts';
const t0 = Date.now();
const db = await openDatabase({ dataDir: '/tmp/gwdata1', log: createLogger('info') });
console.log('started', Date.now() - t0);
console.log(await migrate(db.knex));
console.log((await db.knex.raw('select version()')).rows[0]);
await db.close();
console.log('closed', Date.now() - t0);
