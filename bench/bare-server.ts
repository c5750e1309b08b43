/**
 * The baseline of bench/e2e.ts: a bare Koa endpoint that stores each POSTed body in PostgreSQL with
 * grouped commits (up to 100 rows or 2 ms per transaction) and answers 202 once its row is
 * committed — what any HTTP intake that keeps its promise must at least do. Run as its own process:
 * `node --import tsx bench/bare-server.ts <database url>`; prints `listening <port>`.
 */
import { randomUUID } from 'node:crypto';
import Koa from 'koa';
import { connect } from '../src/store/db.js';

const knex = connect(process.argv[2] ?? '', 10);
await knex.raw('CREATE TABLE IF NOT EXISTS bench_bare (id uuid PRIMARY KEY, body bytea NOT NULL, at timestamptz NOT NULL DEFAULT now())');

type Waiting = { row: { id: string; body: Buffer }; done: (err?: unknown) => void };
let queue: Waiting[] = [];
let timer: NodeJS.Timeout | undefined;

function flush(): void {
  clearTimeout(timer);
  timer = undefined;
  const batch = queue.splice(0, 100);
  if (!batch.length) return;
  knex('bench_bare')
    .insert(batch.map((w) => w.row))
    .then(
      () => {
        for (const w of batch) w.done();
      },
      (err) => {
        for (const w of batch) w.done(err);
      },
    )
    .finally(() => queue.length && flush());
}

function store(body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    queue.push({ row: { id: randomUUID(), body }, done: (err) => (err ? reject(err) : resolve()) });
    if (queue.length >= 100) flush();
    else timer ??= setTimeout(flush, 2);
  });
}

const app = new Koa();
app.use(async (ctx) => {
  const chunks: Buffer[] = [];
  for await (const c of ctx.req) chunks.push(c as Buffer);
  await store(Buffer.concat(chunks));
  ctx.status = 202;
  ctx.body = { ok: true };
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
});
process.on('SIGTERM', () => {
  queue = [];
  server.close(() => void knex.destroy().then(() => process.exit(0)));
});
