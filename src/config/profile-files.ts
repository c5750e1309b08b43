import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isScalar, parseDocument } from 'yaml';
import { GatewayError, isGatewayError } from '../errors.js';
import type { GatewayConfig } from './load.js';

/**
 * Mapping profile files as the portal's workbench edits them (decision 0035): the files under
 * mappings/ are the source of truth; the workbench reads one, checks an edited text by loading the
 * whole configuration with it in place, and writes it back with its version bumped.
 */

/** One profile as the workbench lists it. */
export interface ProfileEntry {
  id: string;
  /** The folder under mappings/ (a partner's, or a shared map such as x12-standard). */
  folder: string;
  direction: 'inbound' | 'outbound';
  /** The canonical type it makes (inbound) or renders (outbound). */
  type: string;
  version: number;
  file: string;
}

export function listProfiles(config: GatewayConfig): ProfileEntry[] {
  const inbound = [...config.mappings.values()].map((m) => ({ m, direction: 'inbound' as const, type: m.target.type }));
  const outbound = [...config.outbound.values()].map((m) => ({ m, direction: 'outbound' as const, type: m.source.type }));
  return [...inbound, ...outbound]
    .map(({ m, direction, type }) => ({ id: m.id, folder: m.id.split('/')[0] as string, direction, type, version: m.version, file: m.file }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** A fingerprint of a file's text: a save is refused when the file on disk no longer has the one the page was opened with. */
export function textHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export async function readProfileText(file: string): Promise<{ text: string; hash: string }> {
  const text = await readFile(file, 'utf8');
  return { text, hash: textHash(text) };
}

/** Why an edited profile cannot be used, with the line it points at in the edited text. */
export interface ProfileTextError {
  code: string;
  message: string;
  line?: number | undefined;
  column?: number | undefined;
}

/**
 * Loads the whole configuration with `text` standing in for its profile (the way `gateway mapping
 * diff` tries a version), so every check the gateway makes at a reload runs: YAML, schema, rules,
 * cross-references, the partners that name it. Returns the configuration, or the first error with
 * its line in the edited text. Nothing under mappings/ is written.
 */
export async function tryProfileText(
  text: string,
  profileId: string,
  shownAs: string,
  load: (replace: string[]) => Promise<GatewayConfig>,
): Promise<{ config: GatewayConfig } | { error: ProfileTextError }> {
  const doc = parseDocument(text);
  // A text that is not YAML goes to the loader, which says where.
  const id = doc.errors.length ? profileId : (doc.toJS() as { id?: unknown } | null)?.id;
  if (id !== profileId) return { error: { code: 'GW_CONFIG_INVALID', message: `${shownAs}: the profile id must stay "${profileId}" (found "${String(id)}")` } };
  const file = path.join(tmpdir(), `gw-profile-${randomBytes(8).toString('hex')}.yaml`);
  await writeFile(file, text, 'utf8');
  try {
    return { config: await load([file]) };
  } catch (err) {
    if (!isGatewayError(err)) throw err;
    const location = err.location as { file?: string; line?: number; column?: number } | undefined;
    const here = location?.file === file;
    return {
      error: {
        code: err.code,
        message: err.message.replaceAll(file, shownAs),
        ...(here ? { line: location?.line, column: location?.column } : {}),
      },
    };
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * The text with `version:` set to `version`. The yaml Document API finds the value's place; only
 * those characters are replaced, so comments and every other line stay byte for byte (re-printing
 * the whole document would restyle flow collections). A text without a version gets one through
 * the Document API.
 */
export function withVersion(text: string, version: number): string {
  const doc = parseDocument(text);
  const node = doc.get('version', true);
  if (isScalar(node) && node.range) return `${text.slice(0, node.range[0])}${version}${text.slice(node.range[1])}`;
  doc.set('version', version);
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** The version a profile's text declares (0 when it declares none that is a number). */
export function versionOf(text: string): number {
  const v = (parseDocument(text).toJS() as { version?: unknown } | null)?.version;
  return typeof v === 'number' ? v : 0;
}

/**
 * Writes a profile file whole: a temporary file beside it (not named *.yaml, so no loader reads it
 * half-written), then a rename over the old one.
 */
export async function writeProfileText(file: string, text: string): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.saving`);
  await writeFile(temporary, text, 'utf8');
  try {
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw new GatewayError('GW_CONFIG_INVALID', `cannot write ${file}: ${(err as Error).message}`, { location: { file } });
  }
}
