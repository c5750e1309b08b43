import path from 'node:path';
import { loadConfig, type GatewayConfig } from '../../src/config/load.js';
import type { PartnerProfile } from '../../src/types.js';
import { REPO } from './corpus.js';

/** The repository's own partners/ and mappings/, as `npm start` loads them. */
export function repoConfig(dataDir = '/tmp/gateway-test-data'): Promise<GatewayConfig> {
  return loadConfig({ partnersDir: path.join(REPO, 'partners'), mappingsDir: path.join(REPO, 'mappings'), env: { GATEWAY_DATA_DIR: dataDir } });
}

/**
 * The demo X12 partner as the corpus tests read it: sender check off (the samples come from many
 * senders) and the standard 856/810 maps instead of ACME's, whose SKU cross-reference knows only
 * ACME's items.
 */
export function corpusPartner(config: GatewayConfig): PartnerProfile {
  const acme = config.partners.get('acme-supply') as PartnerProfile;
  const standard: Record<string, string> = { asn: 'x12-standard/856-004010', invoice: 'x12-standard/810-004010' };
  return { ...acme, identifiers: {}, inbound: acme.inbound.map((d) => (standard[d.type] ? { ...d, mapping: standard[d.type] as string } : d)) };
}
