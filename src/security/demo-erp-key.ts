import type { Logger } from 'pino';
import type { Settings } from '../config/env.js';

/**
 * The README's demo ERP key (`gateway start --demo`, which `npm start` runs), so the walk-through
 * can send purchase orders without a restart. For a local demo only: anyone who reads the README
 * knows it. It is accepted only while ERP_API_KEYS is unset; a configured ERP replaces it.
 */
export const DEMO_ERP_KEY = 'gw_erpdemo_Dm0ErpOnlyForTheLocalDemo00000000000000000';
const DEMO_ERP_KEY_SHA256 = 'c4659d67e005fd160944b1a039d2663f977e1e32d79d47b9ef941aec74d15aa9';

export function withDemoErpKey(settings: Settings, log: Logger): Settings {
  if (settings.erpApiKeys.length > 0) return settings;
  log.warn({ keyId: 'erpdemo' }, 'the demo ERP key printed in README.md is accepted (ERP_API_KEYS is unset): for a local demo only');
  return { ...settings, erpApiKeys: [{ id: 'erpdemo', sha256: DEMO_ERP_KEY_SHA256 }] };
}
