import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { queueMailboxPushes } from '../../src/delivery/outbox.js';
import { migrate } from '../../src/store/db.js';
import type { PartnerProfile } from '../../src/types.js';
import { emptyDatabase, type TestDatabase } from '../helpers/db.js';

/** The last migration before the one outbox: its schema still had three queues. */
const BEFORE = '20261130000006_as2_content_repeats';

/**
 * The move to one outbox, on a database with transfers in every state the old queues knew: AS2
 * sends (messages.transfer_* and as2_messages), pushes to partners' SFTP servers, asynchronous MDNs
 * we owe, and ERP deliveries that were already in the outbox.
 */
describe('migration to one outbox: every transfer in flight or finished becomes a deliveries row', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  const ids: Record<string, string> = {};
  const later = new Date(Date.now() + 3_600_000);

  before(async () => {
    db = await emptyDatabase();
    await migrate(db.knex, BEFORE);
    await seedOldQueues(db, ids, later);
    await migrate(db.knex);
  });
  after(() => db?.drop());

  const deliveryOf = (key: string) => db.knex('deliveries').first().where('idempotency_key', key);

  const as2Cases = [
    ['as2-sending', 'pending', 3, 'GW_AS2_SEND', 'HTTP 503 from the partner'],
    ['as2-awaiting', 'waiting', 1, null, null],
    ['as2-processed', 'delivered', 1, null, null],
    ['as2-sent', 'delivered', 1, null, null],
    ['as2-gave-up', 'dead', 10, 'GW_AS2_SEND', 'HTTP 500; gave up after 10 attempts'],
    ['as2-mdn-failed', 'dead', 1, 'GW_AS2_MDN', 'the partner answered "processed/error: decryption-failed"'],
    ['as2-mic-invalid', 'dead', 1, 'GW_AS2_MDN', 'the MDN MIC differs'],
  ] as const;
  for (const [name, state, attempts, code, error] of as2Cases)
    it(`AS2 send ${name.replace('as2-', '')} → ${state}, attempts and last error kept, Message-ID unchanged`, async () => {
      const d = await deliveryOf(`as2:${ids[name]}`);
      assert.ok(d, `a delivery for ${name}`);
      assert.deepEqual(d.target, { kind: 'as2', id: 'as2:acme' });
      assert.equal(d.document_id, null);
      assert.equal(d.state, state);
      assert.equal(d.attempts, attempts);
      assert.equal(d.last_error_code, code);
      assert.equal(d.last_error, error);
      const record = await db.knex('as2_messages').first('as2_message_id').where({ message_id: ids[name], direction: 'outbound' });
      assert.equal(record.as2_message_id, `<${name}@gateway>`);
    });

  it('keeps the next try of a send in backoff, and waits an hour for an awaited MDN before sending again', async () => {
    assert.equal((await deliveryOf(`as2:${ids['as2-sending']}`)).next_attempt_at.getTime(), later.getTime());
    const awaited = (await deliveryOf(`as2:${ids['as2-awaiting']}`)).next_attempt_at.getTime();
    assert.ok(awaited > Date.now() + 3_000_000, 'about an hour from the migration');
  });

  it('moves an attempted SFTP push to pending with its attempts and error, a completed one to delivered', async () => {
    const pending = await deliveryOf(`sftp:${ids['sftp-retrying']}`);
    assert.deepEqual(pending.target, { kind: 'sftp', id: 'sftp:acme' });
    assert.equal(pending.state, 'pending');
    assert.equal(pending.attempts, 4);
    assert.equal(pending.last_error_code, 'GW_SFTP_REMOTE');
    assert.equal(pending.last_error, 'connect ECONNREFUSED 127.0.0.1:2222');
    assert.equal(pending.next_attempt_at.getTime(), later.getTime());
    const done = await deliveryOf(`sftp:${ids['sftp-pushed']}`);
    assert.equal(done.state, 'delivered');
    assert.ok(done.delivered_at);
  });

  it('moves asynchronous MDNs we owe: pending stays due with its URL, sent is delivered, failed is dead', async () => {
    const owed = await db.knex('as2_messages').select('id', 'as2_message_id').where({ direction: 'inbound', mdn_mode: 'async' });
    const byName = new Map(owed.map((r) => [r.as2_message_id as string, r.id as string]));
    const pending = await deliveryOf(`as2-mdn:${byName.get('<mdn-pending@acme>')}`);
    assert.deepEqual(pending.target, { kind: 'as2-mdn', id: 'as2-mdn:acme', url: 'https://acme.example/as2/mdn', record: byName.get('<mdn-pending@acme>') });
    assert.equal(pending.state, 'pending');
    assert.equal(pending.attempts, 2);
    assert.equal(pending.last_error, 'HTTP 502');
    assert.equal((await deliveryOf(`as2-mdn:${byName.get('<mdn-sent@acme>')}`)).state, 'delivered');
    assert.equal((await deliveryOf(`as2-mdn:${byName.get('<mdn-failed@acme>')}`)).state, 'dead');
    const sync = await db.knex('as2_messages').first('id').where({ as2_message_id: '<mdn-sync@acme>' });
    assert.equal(await deliveryOf(`as2-mdn:${sync.id}`), undefined, 'a synchronous MDN was answered on the spot: nothing to move');
  });

  it('leaves the ERP deliveries as they were', async () => {
    const erp = await db.knex('deliveries').select('state', 'attempts').whereNotNull('document_id').orderBy('attempts');
    assert.deepEqual(
      erp.map((d) => [d.state, d.attempts]),
      [
        ['pending', 0],
        ['delivering', 1],
        ['delivered', 2],
        ['dead', 5],
      ],
    );
  });

  it('drops the old queue columns', async () => {
    const columns = async (table: string) => Object.keys(await db.knex(table).columnInfo());
    for (const c of ['transfer_attempts', 'transfer_next_at', 'transfer_error']) assert.ok(!(await columns('messages')).includes(c), c);
    for (const c of ['attempts', 'next_at', 'last_error']) assert.ok(!(await columns('as2_messages')).includes(c), c);
  });

  it('queues a push, at start, for a mailbox document never attempted; once', async () => {
    const partner = { id: 'acme', sftp: { remote: { delivery: { dir: '/in', tempSuffix: '.part' } } } } as unknown as PartnerProfile;
    assert.equal(await deliveryOf(`sftp:${ids['sftp-untouched']}`), undefined, 'the migration cannot know the partner pushes');
    assert.equal(await queueMailboxPushes(db.knex, [partner]), 1);
    assert.equal((await deliveryOf(`sftp:${ids['sftp-untouched']}`)).state, 'pending');
    assert.equal(await queueMailboxPushes(db.knex, [partner]), 0, 'a second start queues nothing again');
  });
});

/** Rows as the gateway before the one outbox left them. */
async function seedOldQueues(db: TestDatabase, ids: Record<string, string>, later: Date): Promise<void> {
  const k = db.knex;
  const message = async (name: string, row: Record<string, unknown> = {}) => {
    const id = randomUUID();
    ids[name] = id;
    await k('messages').insert({
      id,
      partner_id: 'acme',
      channel: 'mailbox',
      direction: 'outbound',
      content_type: 'application/edi-x12',
      format: 'x12',
      raw: Buffer.from('ISA*...'),
      size_bytes: 7,
      sha256: 'x',
      correlation_id: id,
      state: 'ready',
      file_name: `${name}.edi`,
      ...row,
    });
    return id;
  };
  const as2Out = async (name: string, status: string, attempts: number, msg: Record<string, unknown>, lastError: string | null = null) => {
    const id = await message(name, msg);
    await k('as2_messages').insert({
      id: randomUUID(),
      partner_id: 'acme',
      direction: 'outbound',
      as2_message_id: `<${name}@gateway>`,
      message_id: id,
      body_sha256: '',
      original: Buffer.alloc(0),
      mdn_mode: status === 'pending' ? 'async' : 'sync',
      status,
      attempts,
      last_error: lastError,
    });
  };
  await as2Out('as2-sending', 'sending', 3, { transfer_attempts: 3, transfer_next_at: later, transfer_error: 'GW_AS2_SEND: HTTP 503 from the partner' });
  await as2Out('as2-awaiting', 'pending', 1, { transfer_attempts: 1 });
  await as2Out('as2-processed', 'processed', 1, { transfer_attempts: 1, state: 'collected', collected_at: new Date() });
  await as2Out('as2-sent', 'sent', 1, { transfer_attempts: 1, state: 'collected', collected_at: new Date() });
  await as2Out('as2-gave-up', 'failed', 10, { transfer_attempts: 10, transfer_error: 'GW_AS2_SEND: HTTP 500; gave up after 10 attempts' });
  await as2Out('as2-mdn-failed', 'failed', 1, { transfer_attempts: 1 }, 'the partner answered "processed/error: decryption-failed"');
  await as2Out('as2-mic-invalid', 'mic-invalid', 1, { transfer_attempts: 1 }, 'the MDN MIC differs');
  await message('sftp-retrying', { transfer_attempts: 4, transfer_next_at: later, transfer_error: 'GW_SFTP_REMOTE: connect ECONNREFUSED 127.0.0.1:2222' });
  await message('sftp-pushed', { transfer_attempts: 1, state: 'collected', collected_at: new Date() });
  await message('sftp-untouched');
  await seedOwedMdns(db);
  await seedErpDeliveries(db);
}

async function seedOwedMdns(db: TestDatabase): Promise<void> {
  const inbound = randomUUID();
  await db.knex('messages').insert({
    id: inbound,
    partner_id: 'acme',
    channel: 'as2',
    content_type: 'application/edi-x12',
    format: 'x12',
    raw: Buffer.from('ISA*...'),
    size_bytes: 7,
    sha256: 'y',
    correlation_id: inbound,
    state: 'delivered',
  });
  const owed = (name: string, mode: string, status: string, attempts: number, lastError: string | null) => ({
    id: randomUUID(),
    partner_id: 'acme',
    direction: 'inbound',
    as2_message_id: `<${name}@acme>`,
    message_id: inbound,
    body_sha256: name,
    original: Buffer.from('...'),
    mdn: Buffer.from('Content-Type: multipart/report\r\n\r\n...'),
    mdn_mode: mode,
    mdn_url: mode === 'async' ? 'https://acme.example/as2/mdn' : null,
    status,
    attempts,
    next_at: status === 'pending' ? new Date() : null,
    last_error: lastError,
  });
  await db
    .knex('as2_messages')
    .insert([
      owed('mdn-pending', 'async', 'pending', 2, 'HTTP 502'),
      owed('mdn-sent', 'async', 'sent', 1, null),
      owed('mdn-failed', 'async', 'failed', 10, 'HTTP 404'),
      owed('mdn-sync', 'sync', 'sent', 0, null),
    ]);
}

async function seedErpDeliveries(db: TestDatabase): Promise<void> {
  const [{ id: messageId }] = await db.knex('messages').select('id').where('channel', 'as2');
  const documentId = randomUUID();
  await db.knex('documents').insert({ id: documentId, message_id: messageId, seq: 1, partner_id: 'acme', state: 'accepted', source_ref: 'ST 0001' });
  const states = [
    ['pending', 0],
    ['delivering', 1],
    ['delivered', 2],
    ['dead', 5],
  ] as const;
  await db.knex('deliveries').insert(
    states.map(([state, attempts]) => ({
      id: randomUUID(),
      document_id: documentId,
      message_id: messageId,
      partner_id: 'acme',
      target_id: 'erp-http',
      target: JSON.stringify({ kind: 'http', id: 'erp-http', url: 'http://erp.example/in', timeoutMs: 1000 }),
      idempotency_key: `${messageId}.${state}`,
      state,
      attempts,
      max_attempts: null,
    })),
  );
}
