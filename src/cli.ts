#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readSettings } from './config/env.js';
import { defaultX12Settings, loadConfig } from './config/load.js';
import { describeLocation, isGatewayError } from './errors.js';
import { createLogger } from './observability/logger.js';
import { interpret } from './pipeline/interpret.js';
import { replayMessage } from './pipeline/replay.js';
import { generateApiKey } from './security/api-keys.js';
import { configEnv, startGateway } from './server.js';
import { migrate, openDatabase } from './store/db.js';
import type { PartnerProfile, SourceFormat } from './types.js';

const USAGE = `gateway <command>

  start                              run the gateway (HTTP door, interpretation and delivery workers)
  migrate                            apply pending database migrations
  partners validate                  check every file in partners/ and mappings/
  mapping test <profile> <file>      translate a sample with one mapping profile; print the canonical JSON or the errors
  replay <message-id>                interpret a rejected/failed message again, or re-queue a dead one's deliveries
  keys generate <key-id>             make a new partner API key and print the hash for the partner profile

Environment: PORT, HOST, DATABASE_URL (else an embedded PostgreSQL in GATEWAY_DATA_DIR), PARTNERS_DIR,
MAPPINGS_DIR, LOG_LEVEL … (see README.md).`;

async function main(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} });
  const [command, ...rest] = positionals;
  const settings = readSettings(process.env);
  const log = createLogger(settings.logLevel);
  const env = configEnv(settings, process.env);

  switch (command) {
    case 'start': {
      const db = await openDatabase({ ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}), dataDir: settings.dataDir, log });
      log.info({ database: db.describe }, 'database opened');
      const applied = await migrate(db.knex);
      if (applied.length) log.info({ applied }, 'migrations applied');
      const gw = await startGateway({ settings, knex: db.knex, log });
      process.on('SIGHUP', () => void gw.reload().catch(() => undefined));
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      log.info('stopping');
      await gw.stop();
      await db.close();
      return 0;
    }
    case 'migrate': {
      const db = await openDatabase({ ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}), dataDir: settings.dataDir, log });
      try {
        const applied = await migrate(db.knex);
        console.log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'partners': {
      if (rest[0] !== 'validate') break;
      const config = await loadConfig({ partnersDir: settings.partnersDir, mappingsDir: settings.mappingsDir, env });
      console.log(`ok: ${config.partners.size} partner profile(s), ${config.mappings.size} mapping profile(s)`);
      return 0;
    }
    case 'mapping': {
      const [sub, profileId, file] = rest;
      if (sub !== 'test' || !profileId || !file) break;
      const config = await loadConfig({ partnersDir: settings.partnersDir, mappingsDir: settings.mappingsDir, env });
      const profile = config.mappings.get(profileId);
      if (!profile) {
        console.error(`no mapping profile "${profileId}"; known: ${[...config.mappings.keys()].join(', ')}`);
        return 2;
      }
      // A throwaway partner that holds only this profile, so the sample is read exactly as the profile says.
      const partner: PartnerProfile = {
        id: 'mapping-test', name: 'mapping test', state: 'testing', channels: ['rest'], identifiers: {}, credentials: { apiKeys: [] },
        inbound: [{ type: profile.target.type, mapping: profile.id }], routes: [], outbound: [], x12: defaultX12Settings(), limits: { maxBytes: Number.MAX_SAFE_INTEGER }, file: '',
      };
      const format: SourceFormat = profile.source.format;
      const result = interpret(await readFile(path.resolve(file)), format, partner, config);
      let failed = result.problems.length > 0;
      for (const p of result.problems) console.error(`${p.code}: ${p.message}${p.location ? ` [${describeLocation(p.location)}]` : ''}`);
      for (const d of result.documents) {
        if (d.canonical) console.log(JSON.stringify(d.canonical, null, 2));
        for (const p of d.problems) {
          failed = true;
          console.error(`${d.sourceRef}: ${p.code}: ${p.message}${p.location ? ` [${describeLocation(p.location)}]` : ''}`);
        }
      }
      return failed ? 1 : 0;
    }
    case 'replay': {
      const [id] = rest;
      if (!id) break;
      const db = await openDatabase({ ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}), dataDir: settings.dataDir, log });
      try {
        const r = await replayMessage(db.knex, id);
        console.log(r.action === 'reinterpret' ? `message ${id}: queued for interpretation again` : `message ${id}: ${r.deliveries} delivery(ies) queued again`);
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'keys': {
      const [sub, id] = rest;
      if (sub !== 'generate' || !id) break;
      const { key, sha256 } = generateApiKey(id);
      console.log(`API key (shown once; give it to the partner): ${key}`);
      console.log(`Add to the partner profile under credentials.apiKeys:\n  - id: ${id}\n    sha256: ${sha256}`);
      return 0;
    }
  }
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (isGatewayError(err)) console.error(`${err.code}: ${err.message}`);
    else console.error(err);
    process.exit(1);
  },
);
