import assert from 'node:assert/strict';
import { isValidSscc } from '../../src/formats/gs1/sscc.js';
import { allocateSsccs } from '../../src/store/sscc-serials.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';

const ACME = { id: 'acme-supply', gs1: { companyPrefix: '0614141', extensionDigit: 0 } };
const NORTHWIND = { id: 'northwind', gs1: { companyPrefix: '1234567890', extensionDigit: 3 } };
const refusedWith = (code: string) => (err: unknown) => (err as { code?: string }).code === code;

describe('SSCC allocation (real PostgreSQL)', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  beforeEach(async () => {
    db = await freshDatabase();
  });
  afterEach(async () => db.drop());

  it('hands out valid SSCCs from serial 1, in order, under the partner prefix and extension digit', async () => {
    const first = await allocateSsccs(db.knex, ACME, 2);
    const next = await allocateSsccs(db.knex, ACME, 1);
    assert.deepEqual(
      [...first, ...next].map((s) => s.slice(0, 17)),
      ['00614141000000001', '00614141000000002', '00614141000000003'],
    );
    assert.ok([...first, ...next].every(isValidSscc));
    const [other] = await allocateSsccs(db.knex, NORTHWIND, 1);
    assert.equal(other?.slice(0, 17), '31234567890000001', 'each partner counts for itself');
  });

  it('never hands out one serial twice, however many allocations run at once on the pool', async () => {
    const sizes = Array.from({ length: 60 }, (_, i) => 1 + (i % 7));
    const partners = sizes.map((_, i) => (i % 3 === 0 ? NORTHWIND : ACME));
    const batches = await Promise.all(sizes.map((n, i) => allocateSsccs(db.knex, partners[i] as typeof ACME, n)));
    assert.deepEqual(
      batches.map((b) => b.length),
      sizes,
    );
    const all = batches.flat();
    assert.equal(new Set(all).size, all.length, 'no SSCC handed out twice');
    for (const p of [ACME, NORTHWIND]) {
      const mine = batches.filter((_, i) => partners[i] === p).flat();
      const serials = mine.map((s) => Number(s.slice(1 + p.gs1.companyPrefix.length, 17))).sort((a, b) => a - b);
      assert.deepEqual(
        serials,
        Array.from({ length: mine.length }, (_, i) => i + 1),
        `${p.id}: serials 1..n with no gap`,
      );
    }
  });

  it('refuses a partner without a company prefix, and a count out of range', async () => {
    await assert.rejects(allocateSsccs(db.knex, { id: 'globex-office' }, 1), refusedWith('GW_SSCC_PREFIX'));
    await assert.rejects(allocateSsccs(db.knex, ACME, 0), refusedWith('GW_REQUEST_INVALID'));
    await assert.rejects(allocateSsccs(db.knex, ACME, 1.5), refusedWith('GW_REQUEST_INVALID'));
  });

  it('refuses a range that runs past the prefix, whole, and leaves the counter where it was', async () => {
    // A 10-digit prefix leaves six digits: serials up to 999999.
    await db.knex('sscc_serials').insert({ partner_id: 'northwind', company_prefix: '1234567890', extension_digit: 3, last_serial: 999_998 });
    await assert.rejects(allocateSsccs(db.knex, NORTHWIND, 2), (e: { code: string; message: string }) => {
      assert.equal(e.code, 'GW_SSCC_INVALID');
      assert.match(e.message, /northwind has 1 SSCC serials left under prefix 1234567890 and extension digit 3, not 2/);
      return true;
    });
    const [last] = await allocateSsccs(db.knex, NORTHWIND, 1);
    assert.equal(last?.slice(0, 17), '31234567890999999');
    await assert.rejects(allocateSsccs(db.knex, NORTHWIND, 1), refusedWith('GW_SSCC_INVALID'));
  });
});
