import { PARTNERS_USAGE } from './cli-partners.js';
import { GatewayError } from './errors.js';
import { CREDS_USAGE } from './security/creds-cli.js';
import { USERS_USAGE } from './security/users-cli.js';

export const USAGE = `gateway <command> [--help]

  start [--demo | --demo-users]      run the gateway (HTTP door, interpretation and delivery workers);
                                     --demo-users adds the README's demo portal users; --demo (npm start) also
                                     accepts the README's demo ERP key while ERP_API_KEYS is unset
  migrate                            apply pending database migrations
  partners validate                  check every file in partners/ and mappings/; lists every problem as file:line:column
${PARTNERS_USAGE}
  mapping test <profile> <file>      translate a sample with one mapping profile (or render a canonical JSON with an
                                     outbound one); print the result or the errors
  mapping diff <old> <new> <sample…> how each sample's output changes between two versions of a profile file
  replay <message-id>                interpret a rejected/failed message again, or re-queue a dead one's deliveries
  targets                            delivery targets: breaker state (closed, open, probing), failures in a row, queue
  docs canonical                     print docs/canonical.md, written from the canonical schemas
  keys generate <key-id> [--kind partner|erp|admin]
                                     a new API key, shown once, and the hash to configure (default: a partner's)
  sftp host-keys list [host]         the SFTP host keys (active and next) with fingerprints and known_hosts lines
  sftp host-keys add <ed25519|rsa>   rotation step 1: a next key, published but not yet presented
  sftp host-keys activate <key>      rotation step 2: present the next key (file name or fingerprint); the old one retires
  sftp host-keys retire <key>        withdraw a next key that will not be rolled out
  sftp password-hash                 read a password on stdin, print the scrypt hash for credentials.sftpPassword
  as2 keys list                      our AS2 key pairs (next, active, previous) with fingerprints and expiry
  as2 keys certificate [key]         print a certificate (default: the active one) in PEM, to hand to partners
  as2 keys add                       rotation step 1: a next pair; partners may encrypt to it at once
  as2 keys activate <key>            rotation step 2: sign with it; the old pair keeps decrypting (previous)
  as2 keys retire <key>              rotation step 3: stop decrypting with a previous (or withdrawn next) pair
  as2 certs [--within <days>]        every AS2 certificate, ours and the partners', soonest expiry first
${CREDS_USAGE}
${USERS_USAGE}

\`gateway <command> --help\` shows one command's forms. Logs go to stderr; stdout carries only the output.
Environment: PORT, HOST, DATABASE_URL (else an embedded PostgreSQL in GATEWAY_DATA_DIR), PARTNERS_DIR,
MAPPINGS_DIR, LOG_LEVEL … (see README.md).`;

/** The lines of USAGE that describe `command`: its forms, their continuation lines, and notes such as `kinds:`. */
function commandLines(command: string): string[] {
  const out: string[] = [];
  let mine = false;
  for (const line of USAGE.split('\n')) {
    const first = /^ {2}(\S+)/.exec(line)?.[1];
    // A form starts with its command; a note (`kinds: …`) belongs to the command whose forms precede it.
    if (first && !first.endsWith(':')) mine = first === command;
    else if (!line.trim() || !line.startsWith('  ')) mine = false;
    if (mine) out.push(line);
  }
  return out;
}

/** What one command's help says besides its forms. */
const NOTES: Record<string, string[]> = {
  start: [
    '',
    'Listeners: PORT (8080) and HOST (127.0.0.1); SFTP_PORT (2222; SFTP=off for none); HTTPS_PORT (8443; HTTPS=off);',
    'METRICS_PORT (with METRICS_TOKEN). Database: DATABASE_URL, else an embedded PostgreSQL in GATEWAY_DATA_DIR (./data).',
    'Logs go to stdout (JSON, or readable lines at a terminal); the line saying where it listens goes to stderr.',
  ],
};

/** Every command USAGE names, in its order. */
export const COMMANDS: readonly string[] = [...new Set([...USAGE.matchAll(/^ {2}([a-z][\w-]*)(?=\s)/gm)].map((m) => m[1] as string))];

/**
 * `gateway --help`, `gateway <command> --help` (or -h, or `gateway help [command]`): the usage to
 * print, or undefined when no help is asked for. An unknown command is a usage error.
 */
export function helpFor(argv: string[]): string | undefined {
  const ends = argv.indexOf('--');
  const args = ends < 0 ? argv : argv.slice(0, ends);
  const asked = args.includes('--help') || args.includes('-h') || args[0] === 'help';
  if (!asked) return undefined;
  const command = args.filter((a) => !a.startsWith('-') && a !== 'help')[0];
  if (!command) return USAGE;
  if (!COMMANDS.includes(command)) throw unknownCommand(command);
  return `usage:\n${[...commandLines(command), ...(NOTES[command] ?? [])].join('\n')}\n\n\`gateway --help\` lists every command.`;
}

export function unknownCommand(command: string): GatewayError {
  return new GatewayError('GW_CLI_ARGUMENT', `"${command}" is not a gateway command; \`gateway --help\` lists them.`);
}

/** The one line for arguments that fit none of a command's forms. */
export function usageError(command: string, args: string[]): GatewayError {
  if (!COMMANDS.includes(command)) return unknownCommand(command);
  const given = [command, ...args].join(' ');
  return new GatewayError('GW_CLI_ARGUMENT', `\`gateway ${given}\` fits none of the forms of ${command}; \`gateway ${command} --help\` shows them.`);
}
