import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { certificateExpiries } from './channels/as2/expiry.js';
import { activateAs2Key, addAs2Key, As2KeyRing, ensureAs2Keys, listAs2Keys, retireAs2Key } from './channels/as2/keys.js';
import { addHostKey, activateHostKey, listHostKeys, retireHostKey } from './channels/sftp/host-keys.js';
import { configEnv, type Settings } from './config/env.js';
import { parse as parseYaml } from 'yaml';
import { canonicalMarkdown } from './canonical/docs.js';
import { loadConfig } from './config/load.js';
import { UUID } from './cli-errors.js';
import { GatewayError } from './errors.js';
import { diffTryouts, tryProfile } from './pipeline/workbench.js';
import type { Logger } from 'pino';
import { listTargets } from './delivery/breaker.js';
import { replayMessage } from './pipeline/replay.js';
import { generateApiKey } from './security/api-keys.js';
import { audit } from './security/audit.js';
import { rewrapSubscriptionSecrets } from './delivery/subscriptions.js';
import { auditCommand, cliActor, credsCommand, rotateMasterKeyCommand } from './security/creds-cli.js';
import { MasterKeys } from './security/secrets.js';
import { usersCommand } from './security/users-cli.js';
import { hashPassword } from './security/ssh-keys.js';
import { partnersCommand, validateCommand } from './cli-partners.js';
import { usageError } from './cli-usage.js';
import { CredentialStore } from './security/credentials.js';
import { migrate, openDatabase } from './store/db.js';

/** Option values the commands read (`gateway <command> … --within 30`), by option name. */
export type CommandValues = Record<string, string | undefined>;

/** Every command but `start` (src/cli.ts loads this module only for them): returns the exit code. */
export async function runCommand(command: string, rest: string[], values: CommandValues, settings: Settings, log: Logger): Promise<number> {
  const env = configEnv(settings, process.env);

  switch (command) {
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
      if (rest[0] === 'state' || rest[0] === 'approve') {
        const code = await partnersCli(rest, values.name, settings, env, log);
        if (code !== 2) return code;
        break;
      }
      if (rest[0] !== 'validate') break;
      const load = () => loadConfig({ partnersDir: settings.partnersDir, mappingsDir: settings.mappingsDir, env });
      return validateCommand(load, console.log, console.error);
    }
    case 'mapping': {
      const [sub, ...args] = rest;
      const load = (replace: string[] = []) => loadConfig({ partnersDir: settings.partnersDir, mappingsDir: settings.mappingsDir, env, replace });
      if (sub === 'test' && args.length === 2) {
        const [profileId, file] = args as [string, string];
        const config = await load();
        if (!config.mappings.has(profileId) && !config.outbound.has(profileId))
          throw new GatewayError(
            'GW_CLI_ARGUMENT',
            `mapping test: no mapping profile "${profileId}" in ${settings.mappingsDir}; ` +
              `give its id (the \`id:\` line of the profile file), e.g. northwind/asn-json.`,
          );
        const result = tryProfile(config, profileId, await readFile(path.resolve(file)), path.basename(file));
        if (typeof result.output === 'string') process.stdout.write(result.output);
        else for (const d of result.output as { document?: unknown }[]) if (d.document) console.log(JSON.stringify(d.document, null, 2));
        for (const p of result.problems) console.error(p);
        return result.problems.length ? 1 : 0;
      }
      if (sub === 'diff' && args.length >= 3) {
        // <old> and <new> are profile files (e.g. from `git show HEAD~1:mappings/…`), or a file and the id it replaces.
        const [oldFile, newFile, ...samples] = args as [string, string, ...string[]];
        const idOf = async (file: string) => String((parseYaml(await readFile(file, 'utf8')) as { id?: unknown }).id);
        const id = await idOf(newFile);
        if ((await idOf(oldFile)) !== id) {
          console.error(`${oldFile} and ${newFile} are different profiles; compare two versions of one profile`);
          return 2;
        }
        const [before, after] = [await load([oldFile]), await load([newFile])];
        let changed = 0;
        for (const sample of samples) {
          const bytes = await readFile(path.resolve(sample));
          const a = tryProfile(before, id, bytes, path.basename(sample));
          const b = tryProfile(after, id, bytes, path.basename(sample));
          const lines = diffTryouts(a, b);
          if (lines.length) changed++;
          console.log(`${sample}: ${lines.length ? `${lines.length} change(s)` : 'unchanged'}`);
          for (const l of lines) console.log(`  ${l}`);
        }
        console.log(
          `${changed} of ${samples.length} sample(s) change (${id}: ${before.mappings.get(id)?.version ?? before.outbound.get(id)?.version} ` +
            `→ ${after.mappings.get(id)?.version ?? after.outbound.get(id)?.version})`,
        );
        return 0;
      }
      break;
    }
    case 'docs': {
      if (rest[0] !== 'canonical') break;
      process.stdout.write(canonicalMarkdown());
      return 0;
    }
    case 'replay': {
      const [id] = rest;
      if (!id) break;
      if (!UUID.test(id))
        throw new GatewayError(
          'GW_CLI_ARGUMENT',
          `replay: "${id}" is not a message id; give the UUID from the message's status (e.g. 0b9c6f1e-8d3a-4c55-9a57-2f6f0b1d2c3e).`,
        );
      const db = await openDatabase({ ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}), dataDir: settings.dataDir, log });
      try {
        const r = await replayMessage(db.knex, id).catch(async (err: Error) => {
          await audit(db.knex, { ...cliActor(), action: 'message.replay', target: `message:${id}`, outcome: 'denied', details: { error: err.message } }).catch(
            () => undefined,
          );
          throw err;
        });
        await audit(db.knex, { ...cliActor(), action: 'message.replay', target: `message:${id}`, outcome: 'ok', details: { ...r } });
        console.log(
          r.action === 'reinterpret' ? `message ${id}: queued for interpretation again` : `message ${id}: ${r.deliveries} delivery(ies) queued again`,
        );
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'targets': {
      const db = await openDatabase({ ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}), dataDir: settings.dataDir, log });
      try {
        const targets = await listTargets(db.knex);
        if (!targets.length) console.log('no target has deliveries outstanding or failures recorded');
        for (const t of targets) {
          const until = t.state === 'open' && t.openUntil ? ` until ${t.openUntil.toISOString()}` : '';
          const last = t.lastError.code ? `  last ${t.lastError.code}: ${t.lastError.message}` : '';
          console.log(`${t.targetId}  ${t.state}${until}  failures in a row ${t.failures}  pending ${t.pending}  delivering ${t.delivering}${last}`);
        }
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'creds':
    case 'secrets':
    case 'audit':
    case 'users': {
      if (command === 'secrets' && (rest[0] !== 'rotate-master-key' || !rest[1])) break;
      const db = await openDatabase({ ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}), dataDir: settings.dataDir, log });
      try {
        await migrate(db.knex);
        const ctx = {
          knex: db.knex,
          config: await loadConfig({ partnersDir: settings.partnersDir, mappingsDir: settings.mappingsDir, env }),
          keys: MasterKeys.fromEnv(process.env, settings.dataDir),
          out: (s: string) => console.log(s),
        };
        if (command === 'secrets')
          return await rotateMasterKeyCommand(rest[1] as string, ctx, [settings.as2.keysDir, settings.sftp.hostKeysDir], [rewrapSubscriptionSecrets]);
        if (command === 'audit') return await auditCommand(values, ctx);
        if (command === 'users') {
          const code = await usersCommand(rest, values, { ...ctx, readStdin });
          if (code !== 2) return code;
          break;
        }
        const code = await credsCommand(rest, values, ctx);
        if (code !== 2) return code;
      } finally {
        await db.close();
      }
      break;
    }
    case 'keys': {
      const [sub, id] = rest;
      if (sub !== 'generate' || !id || rest.length > 2) break;
      for (const line of newKeyLines(id, values.kind ?? 'partner')) console.log(line);
      return 0;
    }
    case 'sftp':
      return sftpCommand(rest, settings);
    case 'as2':
      return as2Command(rest, settings, env, values.within);
  }
  throw usageError(command, rest);
}

/** `keys generate`: the key, shown once, worded for whoever holds it, and where its hash goes. */
function newKeyLines(id: string, kind: string): string[] {
  const { key, sha256 } = generateApiKey(id);
  switch (kind) {
    case 'partner':
      return [
        `Partner API key (shown once; give it to the partner): ${key}`,
        `Add to the partner profile under credentials.apiKeys:\n  - id: ${id}\n    sha256: ${sha256}`,
      ];
    case 'erp':
      return [
        `ERP API key (shown once; configure it in the ERP, which sends it as its bearer key): ${key}`,
        `Add to the gateway's environment (comma between keys): ERP_API_KEYS=${id}:${sha256}`,
      ];
    case 'admin':
      return [
        `Admin API key (shown once; keep it for the security administrators, e.g. in their password vault): ${key}`,
        `Add to the gateway's environment (comma between keys): ADMIN_API_KEYS=${id}:${sha256}`,
      ];
  }
  throw new GatewayError('GW_CLI_ARGUMENT', `keys generate: --kind is partner, erp or admin (found "${kind}").`);
}

async function sftpCommand([sub, action, arg]: string[], settings: Settings): Promise<number> {
  const dir = settings.sftp.hostKeysDir;
  if (sub === 'password-hash') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const password = Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    if (!password) {
      console.error('Give the password on stdin, e.g. `read -rs P && printf %s "$P" | gateway sftp password-hash`.');
      return 2;
    }
    console.log(await hashPassword(password));
    return 0;
  }
  if (sub !== 'host-keys') throw usageError('sftp', given(sub, action, arg));
  const master = MasterKeys.fromEnv(process.env, settings.dataDir);
  switch (action) {
    case 'list':
    case undefined: {
      const keys = listHostKeys(dir, master);
      if (!keys.length) console.log(`No host keys in ${dir} yet; the gateway makes them on its first start.`);
      for (const k of keys) console.log(`${k.state.padEnd(6)} ${k.type.padEnd(7)} ${k.fingerprint}  ${k.name}`);
      if (keys.length) {
        console.log(`\nknown_hosts lines for partners (active and next keys):`);
        for (const k of keys) console.log(`[${arg ?? 'gateway.example.com'}]:${settings.sftp.port} ${k.publicKey}`);
      }
      return 0;
    }
    case 'add': {
      if (arg !== 'ed25519' && arg !== 'rsa')
        throw new GatewayError('GW_CLI_ARGUMENT', `sftp host-keys add: the key type is ed25519 or rsa (found "${arg ?? ''}").`);
      const k = addHostKey(dir, arg, master);
      console.log(
        `Added ${k.name} (${k.fingerprint}), not yet presented. Give partners its known_hosts ` +
          `line:\n${k.publicKey}\nthen, once they trust it: gateway sftp host-keys activate ${k.fingerprint}`,
      );
      return 0;
    }
    case 'activate':
    case 'retire': {
      if (!arg) throw usageError('sftp', given(sub, action, arg));
      const k = action === 'activate' ? activateHostKey(dir, arg, master) : retireHostKey(dir, arg, master);
      console.log(
        `${action === 'activate' ? 'Presenting' : 'Retired'} ${k.name} ` +
          `(${k.fingerprint}).${action === 'activate' ? ' Restart the gateway (or its SFTP door) to present it.' : ''}`,
      );
      return 0;
    }
  }
  throw usageError('sftp', given(sub, action, arg));
}

async function as2Command([sub, action, ...args]: string[], settings: Settings, env: Record<string, string | undefined>, withinDays?: string): Promise<number> {
  const dir = settings.as2.keysDir;
  const master = MasterKeys.fromEnv(process.env, settings.dataDir);
  if (sub === 'certs') {
    const within = withinDays === undefined ? undefined : Number(withinDays);
    const config = await loadConfig({ partnersDir: settings.partnersDir, mappingsDir: settings.mappingsDir, env });
    const ring = new As2KeyRing(dir, settings.as2.id, master);
    if (listAs2Keys(dir, master).length) await ring.ready();
    const rows = certificateExpiries(config, ring).filter((c) => within === undefined || c.daysLeft <= within);
    for (const c of rows)
      console.log(
        `${String(c.daysLeft).padStart(5)} days  ${c.notAfter.slice(0, 10)}  ${c.owner.padEnd(16)} ` +
          `${c.what.padEnd(28)} ${c.fingerprint}  ${c.subject.replace(/\n/g, ', ')}`,
      );
    if (!rows.length) console.log(within === undefined ? 'No AS2 certificates.' : `No AS2 certificate expires within ${within} days.`);
    // Exit 1 when something expires within the window, for cron and monitoring checks.
    return within !== undefined && rows.length ? 1 : 0;
  }
  if (sub !== 'keys') throw usageError('as2', given(sub, action, ...args));
  const [arg] = args;
  switch (action) {
    case 'list':
    case undefined: {
      const keys = listAs2Keys(dir, master);
      if (!keys.length) console.log(`No AS2 key pairs in ${dir} yet; the gateway makes one when the first AS2 partner is configured.`);
      for (const k of keys) console.log(`${k.state.padEnd(8)} ${k.cert.fingerprint}  until ${k.notAfter.toISOString().slice(0, 10)}  ${k.name}`);
      return 0;
    }
    case 'certificate': {
      const keys = await ensureAs2Keys(dir, settings.as2.id, 730, master);
      const k = arg ? keys.find((x) => x.name === arg || x.cert.fingerprint === arg.toUpperCase()) : keys.find((x) => x.state === 'active');
      if (!k)
        throw new GatewayError('GW_CLI_ARGUMENT', `as2 keys certificate: no AS2 key "${arg ?? 'active'}" in ${dir}; \`gateway as2 keys list\` shows them.`);
      process.stdout.write(k.certPem);
      return 0;
    }
    case 'add': {
      const k = await addAs2Key(dir, settings.as2.id, 730, master);
      console.log(`Added ${k.name} (${k.cert.fingerprint}); it decrypts already. Send partners its certificate:
${k.certPem}then, once they have it: gateway as2 keys activate ${k.cert.fingerprint}`);
      return 0;
    }
    case 'activate':
    case 'retire': {
      if (!arg) throw usageError('as2', given(sub, action, ...args));
      const k = action === 'activate' ? activateAs2Key(dir, arg, master) : retireAs2Key(dir, arg, master);
      console.log(
        action === 'activate'
          ? `Signing with ${k.cert.fingerprint}; the pair it replaces keeps decrypting until retired.`
          : `Retired ${k.name} (${k.cert.fingerprint}); it no longer decrypts.`,
      );
      return 0;
    }
  }
  throw usageError('as2', given(sub, action, ...args));
}

/** Everything piped on stdin; '' from a terminal (the CLI prompts for nothing). */
/** `gateway partners state|approve …` against the database, audited as the CLI's user. */
async function partnersCli(
  args: string[],
  name: string | undefined,
  settings: Settings,
  env: Record<string, string | undefined>,
  log: Logger,
): Promise<number> {
  const db = await openDatabase({ ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : {}), dataDir: settings.dataDir, log });
  try {
    await migrate(db.knex);
    const config = await loadConfig({ partnersDir: settings.partnersDir, mappingsDir: settings.mappingsDir, env });
    const store = new CredentialStore(db.knex, MasterKeys.fromEnv(process.env, settings.dataDir), () => config);
    const ctx = { knex: db.knex, config, credentials: (partnerId: string) => store.list({ partnerId }), actor: cliActor(), out: (s: string) => console.log(s) };
    return await partnersCommand(args, name, ctx);
  } finally {
    await db.close();
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The arguments a person gave, for a usage error's line. */
function given(...args: (string | undefined)[]): string[] {
  return args.filter((a): a is string => a !== undefined);
}
