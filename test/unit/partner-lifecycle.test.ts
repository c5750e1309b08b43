import assert from 'node:assert/strict';
import { lifecycleOf, routesFor } from '../../src/pipeline/partner-lifecycle.js';
import type { PartnerProfile, PartnerState, Route } from '../../src/types.js';

const profile = (state: PartnerState) => ({ id: 'p1', state }) as PartnerProfile;
const row = (state: PartnerState, liveSince: Date | null = null) => ({
  partner_id: 'p1',
  state,
  testing_since: null,
  live_since: liveSince,
  approved_by: null,
  approved_at: null,
});
const route = (id: string, test?: boolean): Route => ({ types: ['asn'], target: { id, kind: 'file', dir: '/tmp' }, ...(test ? { test } : {}) });
const ROUTES = [route('erp-test', true), route('erp')];
const side = (l: ReturnType<typeof lifecycleOf>) => routesFor(ROUTES, l).map((r) => r.target.id);

describe('partner lifecycle: which of profile and database applies, and which routes it takes', () => {
  it('takes the profile state for a partner the database has never seen', () => {
    for (const s of ['onboarding', 'testing', 'live', 'suspended'] as const) {
      const l = lifecycleOf(profile(s), undefined);
      assert.deepEqual([l.state, l.applies, l.database], [s, 'yaml', null]);
    }
  });

  it('takes the database state once there is a row, except under a profile suspension', () => {
    assert.deepEqual([lifecycleOf(profile('onboarding'), row('live')).state, lifecycleOf(profile('onboarding'), row('live')).applies], ['live', 'database']);
    assert.deepEqual([lifecycleOf(profile('live'), row('suspended')).state, lifecycleOf(profile('live'), row('suspended')).applies], ['suspended', 'database']);
    const brake = lifecycleOf(profile('suspended'), row('live'));
    assert.deepEqual([brake.state, brake.applies, brake.database], ['suspended', 'yaml', 'live']);
  });

  it('routes to test routes before go-live and production routes once live', () => {
    assert.deepEqual(side(lifecycleOf(profile('onboarding'), undefined)), ['erp-test']);
    assert.deepEqual(side(lifecycleOf(profile('live'), row('testing'))), ['erp-test']);
    assert.deepEqual(side(lifecycleOf(profile('onboarding'), row('live', new Date()))), ['erp']);
    assert.deepEqual(side(lifecycleOf(profile('live'), undefined)), ['erp']);
  });

  it('keeps a suspended partner on the side it was: production if it went live or was never moved, else test', () => {
    assert.deepEqual(side(lifecycleOf(profile('suspended'), undefined)), ['erp']);
    assert.deepEqual(side(lifecycleOf(profile('live'), row('suspended', new Date()))), ['erp']);
    assert.deepEqual(side(lifecycleOf(profile('onboarding'), row('suspended'))), ['erp-test']);
  });
});
