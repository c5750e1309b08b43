import path from 'node:path';
import { loadConfig, type GatewayConfig } from '../../src/config/load.js';
import { REPO } from './corpus.js';

/** The repository's own partners/ and mappings/, as `npm start` loads them. */
export function repoConfig(dataDir = '/tmp/gateway-test-data'): Promise<GatewayConfig> {
  return loadConfig({ partnersDir: path.join(REPO, 'partners'), mappingsDir: path.join(REPO, 'mappings'), env: { GATEWAY_DATA_DIR: dataDir } });
}
