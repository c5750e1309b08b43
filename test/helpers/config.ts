import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, type GatewayConfig } from '../../src/config/load.js';
import type { PartnerProfile } from '../../src/types.js';
import { REPO } from './corpus.js';

/**
 * The demo partners the repository ships. Tests that read the repository's configuration rely on
 * these being there; a user's own partners may sit beside them and are loaded too.
 */
export const DEMO_PARTNERS = ['acme-supply', 'globex-office', 'hansen-textil', 'nordlicht', 'northwind'] as const;

/**
 * The environment `npm start` reads the repository's profiles with: the user's variables, and
 * GATEWAY_DATA_DIR resolved from the checkout, so what a user's profile names there (an SFTP login
 * key under data/, a `${NAME}` of their own) is found as the gateway would find it.
 */
export function repoEnv(): Record<string, string | undefined> {
  return { ...process.env, GATEWAY_DATA_DIR: path.resolve(REPO, process.env.GATEWAY_DATA_DIR ?? 'data') };
}

/** The repository's own partners/, mappings/ and certs/, as `npm start` loads them (read, never written). */
export function repoConfig(): Promise<GatewayConfig> {
  return loadConfig({ partnersDir: path.join(REPO, 'partners'), mappingsDir: path.join(REPO, 'mappings'), env: repoEnv() });
}

/** A test's private copy of the configuration folders; see `copyConfig`. */
export interface ConfigCopy {
  /** The folder holding partners/, mappings/ and certs/. */
  dir: string;
  partnersDir: string;
  mappingsDir: string;
  certsDir: string;
  /** Loads the copy as the gateway would, with `env` for `${NAME}` (only GATEWAY_DATA_DIR unless told). */
  load(env?: Record<string, string | undefined>): Promise<GatewayConfig>;
  remove(): void;
}

/**
 * A private copy of the configuration in `from` (the repository unless told): partners/, mappings/
 * and certs/ always together, as `npm start` reads them, so a profile's certificate paths
 * (relative to the folder above partners/) resolve in the copy as in the original, whatever the
 * user has added there. `partners` narrows partners/ to those profiles (ids), or replaces it with
 * test-owned profiles (file name → YAML) for a test that must not depend on a demo partner's settings.
 */
export function copyConfig(partners?: readonly string[] | Record<string, string>, from = REPO): ConfigCopy {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-config-'));
  const partnersDir = path.join(dir, 'partners');
  const mappingsDir = path.join(dir, 'mappings');
  const certsDir = path.join(dir, 'certs');
  cpSync(path.join(from, 'mappings'), mappingsDir, { recursive: true });
  cpSync(path.join(from, 'certs'), certsDir, { recursive: true });
  if (partners === undefined) cpSync(path.join(from, 'partners'), partnersDir, { recursive: true });
  else if (Array.isArray(partners)) {
    mkdirSync(partnersDir);
    for (const id of partners) cpSync(path.join(from, 'partners', `${id}.yaml`), path.join(partnersDir, `${id}.yaml`));
  } else {
    mkdirSync(partnersDir);
    for (const [name, text] of Object.entries(partners)) writeFileSync(path.join(partnersDir, name), text);
  }
  return {
    dir,
    partnersDir,
    mappingsDir,
    certsDir,
    load: (env = { GATEWAY_DATA_DIR: '/tmp/gateway-test-data' }) => loadConfig({ partnersDir, mappingsDir, env }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
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
