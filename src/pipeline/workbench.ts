/**
 * The mapping workbench behind `gateway mapping test` and `gateway mapping diff` and the portal's
 * mapping pages (decision 0035): one profile run on one sample as the gateway would, and the
 * differences between two runs. It sits on the pipeline floor because it composes the interpret step
 * and the configuration, which mapping/ may not import, and both the CLI and the portal use it.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';
import { defaultEdifactSettings, defaultX12Settings, type GatewayConfig } from '../config/load.js';
import { describeLocation, type SourceLocation } from '../errors.js';
import { DEFAULT_SEPARATORS } from '../formats/edifact/reader.js';
import { writeEdifact } from '../formats/edifact/write.js';
import { renderOutbound, type RenderContext, type Rendered } from '../mapping/render.js';
import { interpret } from './interpret.js';
import type { PartnerProfile } from '../types.js';
import { readRawSlice } from './raw-store.js';

/** One problem a profile found in a sample; `source` names the document it belongs to, when it does. */
export interface FoundProblem {
  code: string;
  message: string;
  location?: SourceLocation | undefined;
  source?: string | undefined;
}

/** What one profile makes of one sample: documents (or the rendered text), and every problem, as a line and as found. */
export interface Tryout {
  output: unknown;
  problems: string[];
  found: FoundProblem[];
}

/** A fixed context for outbound samples, so that two runs (and expected outputs) can be compared. */
export const SAMPLE_CONTEXT: RenderContext = {
  message: { id: '00000000-0000-4000-8000-000000000001', createdAt: '2026-01-01T00:00:00Z' },
  partner: { id: 'sample' },
};

/** A rendered document as text: X12 segments one per line, XML and JSON as written. */
export function renderedText(r: Rendered): string {
  if (r.format === 'x12') return `${r.segments.map((s) => s.join('*')).join('~\n')}~\n`;
  if (r.format === 'edifact') return writeEdifact(r.segments, DEFAULT_SEPARATORS, { lineBreak: '\n' });
  return r.text;
}

/** A partner that exists only to read samples with the given profiles (no identifiers, no routes). */
export function samplePartner(id: string, inbound: PartnerProfile['inbound']): PartnerProfile {
  return {
    id,
    name: id,
    state: 'testing',
    channels: ['rest'],
    identifiers: {},
    credentials: { apiKeys: [], sshKeys: [] },
    inbound,
    routes: [],
    outbound: [],
    x12: defaultX12Settings(),
    edifact: defaultEdifactSettings(),
    limits: { maxBytes: Number.MAX_SAFE_INTEGER, requestsPerMinute: Number.MAX_SAFE_INTEGER },
    oauth: { clientId: id, certificateBound: false, externalSubjects: [] },
    file: '',
  };
}

/**
 * Runs one profile on one sample as the gateway would: an inbound profile through a throwaway
 * partner that holds only it, an outbound profile on a canonical document (JSON).
 */
export function tryProfile(config: GatewayConfig, profileId: string, sample: Uint8Array, fileName?: string): Tryout {
  const outbound = config.outbound.get(profileId);
  if (outbound) {
    let doc: unknown;
    try {
      doc = JSON.parse(Buffer.from(sample).toString('utf8'));
    } catch (err) {
      const found = { code: 'GW_JSON_SYNTAX', message: `an outbound sample is a canonical document in JSON: ${(err as Error).message}` };
      return { output: null, problems: [`${found.code}: ${found.message}`], found: [found] };
    }
    const r = renderOutbound(outbound, doc, SAMPLE_CONTEXT);
    return { output: renderedText(r), problems: r.problems.map((p) => `${p.code}: ${p.message}`), found: r.problems.map((p) => ({ ...p })) };
  }
  const profile = config.mappings.get(profileId);
  if (!profile) throw new Error(`no mapping profile "${profileId}"; known: ${[...config.mappings.keys(), ...config.outbound.keys()].sort().join(', ')}`);
  const result = interpret(
    sample,
    profile.source.format,
    samplePartner('mapping-test', [{ type: profile.target.type, mapping: profile.id }]),
    config,
    fileName,
  );
  const found: FoundProblem[] = [
    ...result.problems.map((p) => ({ ...p })),
    ...result.documents.flatMap((d) => d.problems.map((p) => ({ ...p, source: d.sourceRef }))),
  ];
  const line = (p: FoundProblem) => `${p.source ? `${p.source}: ` : ''}${p.code}: ${p.message}${p.location ? ` [${describeLocation(p.location)}]` : ''}`;
  return {
    output: result.documents.map((d) =>
      d.canonical ? { source: d.sourceRef, document: d.canonical } : { source: d.sourceRef, rejected: d.problems.map((p) => p.code) },
    ),
    problems: found.map(line),
    found,
  };
}

const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));

/** The differences between two outputs, one line each: `~ /path: old → new`, `+ /path: new`, `- /path: old`. */
export function diffOutputs(a: unknown, b: unknown, at = ''): string[] {
  if (typeof a === 'string' && typeof b === 'string' && (a.includes('\n') || b.includes('\n'))) {
    const [la, lb] = [a.split('\n'), b.split('\n')];
    const out: string[] = [];
    for (let i = 0; i < Math.max(la.length, lb.length); i++) {
      if (la[i] === lb[i]) continue;
      if (la[i] !== undefined) out.push(`- line ${i + 1}: ${la[i]}`);
      if (lb[i] !== undefined) out.push(`+ line ${i + 1}: ${lb[i]}`);
    }
    return out;
  }
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => {
      const here = `${at}/${k}`;
      if (!(k in b)) return [`- ${here}: ${show(a[k])}`];
      if (!(k in a)) return [`+ ${here}: ${show(b[k])}`];
      return diffOutputs(a[k], b[k], here);
    });
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`~ ${at || '/'}: ${show(a)} → ${show(b)}`];
}

/** The changes one sample's output and problems go through between two runs (`gateway mapping diff`, the portal's diff). */
export function diffTryouts(before: Tryout, after: Tryout): string[] {
  return [...diffOutputs(before.output, after.output), ...diffOutputs(before.problems, after.problems, 'problems')];
}

/** A sample a profile can be tried on: a file of its folder's samples/, or a recent message. */
export interface Sample {
  /** `file:<name>` or `message:<id>`: what a form sends back to pick it again. */
  key: string;
  label: string;
}

const EXTENSIONS: Record<string, string[]> = { x12: ['.edi', '.x12', '.txt'], json: ['.json'], xml: ['.xml'], csv: ['.csv'] };

/** The folder of samples beside a profile: `mappings/<folder>/samples/` (outbound profiles: its `outbound/`). */
function samplesDir(mappingsDir: string, profileId: string, outbound: boolean): string {
  const folder = profileId.split('/')[0] as string;
  return path.join(mappingsDir, folder, 'samples', ...(outbound ? ['outbound'] : []));
}

/**
 * A profile's samples: the files of its folder's samples/ written in its source format (canonical
 * JSON for an outbound profile), without the expected outputs beside them.
 */
export async function profileSamples(mappingsDir: string, config: GatewayConfig, profileId: string): Promise<Sample[]> {
  const outbound = config.outbound.has(profileId);
  const format = outbound ? 'json' : (config.mappings.get(profileId)?.source.format ?? 'json');
  const names = await readdir(samplesDir(mappingsDir, profileId, outbound), { withFileTypes: true }).catch(() => []);
  return names
    .filter((e) => e.isFile() && !e.name.includes('.expected') && (EXTENSIONS[format] ?? []).includes(path.extname(e.name).toLowerCase()))
    .map((e) => ({ key: `file:${e.name}`, label: e.name }))
    .sort((a, b) => a.label.localeCompare(b.label));
}

/** The partners whose messages a profile reads: those that name it inbound, and the one its folder is named after. */
export function profilePartners(config: GatewayConfig, profileId: string): string[] {
  const folder = profileId.split('/')[0] as string;
  const naming = [...config.partners.values()].filter((p) => p.inbound.some((i) => i.mapping === profileId)).map((p) => p.id);
  return [...new Set([...naming, ...(config.partners.has(folder) ? [folder] : [])])].sort();
}

const utcText = (d: Date) => new Date(d).toISOString().slice(0, 19).replace('T', ' ');

/** The newest inbound messages of a profile's partners (none for an outbound profile). */
export async function recentMessages(knex: Knex, config: GatewayConfig, profileId: string, limit: number): Promise<Sample[]> {
  const partners = profilePartners(config, profileId);
  if (!partners.length || config.outbound.has(profileId)) return [];
  const rows: { id: string; partner_id: string; received_at: Date; file_name: string | null }[] = await knex('messages')
    .select('id', 'partner_id', 'received_at', 'file_name')
    .whereIn('partner_id', partners)
    .andWhere('direction', 'inbound')
    .orderBy('received_at', 'desc')
    .limit(limit);
  return rows.map((r) => ({
    key: `message:${r.id}`,
    label: `${r.partner_id} message ${r.id.slice(0, 8)} of ${utcText(r.received_at)}${r.file_name ? ` (${r.file_name})` : ''}`,
  }));
}

/** Bytes read from a sample or a message, at most this many: a workbench sample, not an interchange to stream. */
export const SAMPLE_MAX_BYTES = 4 * 1024 * 1024;

/** The bytes of a sample picked by its key, or undefined when it is not one of the profile's. */
export async function sampleBytes(
  knex: Knex,
  mappingsDir: string,
  config: GatewayConfig,
  profileId: string,
  key: string,
): Promise<{ bytes: Buffer; name: string } | undefined> {
  if (key.startsWith('file:')) {
    const name = key.slice(5);
    if (!(await profileSamples(mappingsDir, config, profileId)).some((s) => s.key === key)) return undefined;
    return { bytes: await readFile(path.join(samplesDir(mappingsDir, profileId, config.outbound.has(profileId)), name)), name };
  }
  if (key.startsWith('message:')) {
    const id = key.slice(8);
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
    const partners = profilePartners(config, profileId);
    const row = await knex('messages').first('id', 'file_name').where({ id, direction: 'inbound' }).whereIn('partner_id', partners);
    if (!row) return undefined;
    return { bytes: await readRawSlice(knex, id, 0, SAMPLE_MAX_BYTES), name: row.file_name ?? `message-${id}` };
  }
  return undefined;
}

/**
 * A sample's source as numbered lines: X12 one segment a line (whatever the segment terminator),
 * XML, CSV and JSON as their own lines, decoded as the profile reads them (a CSV's encoding).
 */
export function sourceLines(bytes: Uint8Array, source: { format: string; encoding?: string }): string[] {
  const { format } = source;
  const text = new TextDecoder(source.encoding ?? 'utf-8').decode(bytes);
  if (format === 'x12' && text.trimStart().startsWith('ISA') && text.trimStart().length > 105) {
    const terminator = text.trimStart()[105] as string;
    return text
      .split(terminator)
      .map((s) => s.replace(/^[\r\n]+/, ''))
      .filter((s) => s.trim() !== '')
      .map((s) => `${s}${terminator}`);
  }
  return text.replace(/\r?\n$/, '').split(/\r?\n/);
}
