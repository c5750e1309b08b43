import { startTestDatabase, stopTestDatabase } from './helpers/db.js';

// Root hooks: one PostgreSQL for the whole run (see test/helpers/db.ts).
before(async function () {
  this.timeout(120_000);
  await startTestDatabase();
});

after(async function () {
  this.timeout(60_000);
  await stopTestDatabase();
});
