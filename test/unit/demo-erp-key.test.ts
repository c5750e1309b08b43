import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pino from 'pino';
import { readSettings } from '../../src/config/env.js';
import { DEMO_ERP_KEY, withDemoErpKey } from '../../src/security/demo-erp-key.js';

describe('gateway start --demo: the README demo ERP key', () => {
  const log = pino({ level: 'silent' });

  it('is accepted while ERP_API_KEYS is unset, under its own SHA-256', () => {
    const settings = withDemoErpKey(readSettings({}), log);
    assert.deepEqual(settings.erpApiKeys, [{ id: 'erpdemo', sha256: createHash('sha256').update(DEMO_ERP_KEY).digest('hex') }]);
  });

  it('gives way to a configured ERP', () => {
    const configured = `erp1:${'a'.repeat(64)}`;
    assert.deepEqual(withDemoErpKey(readSettings({ ERP_API_KEYS: configured }), log).erpApiKeys, [{ id: 'erp1', sha256: 'a'.repeat(64) }]);
  });
});
