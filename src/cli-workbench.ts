/**
 * The mapping workbench behind `gateway mapping test` and `gateway mapping diff`: one profile run on
 * one sample as the gateway would, and the differences between two runs. It sits with the CLI because
 * it composes the pipeline and the configuration, which mapping/ may not import.
 */
import { defaultX12Settings, type GatewayConfig } from './config/load.js';
import { describeLocation } from './errors.js';
import { renderOutbound, type RenderContext, type Rendered } from './mapping/render.js';
import { interpret } from './pipeline/interpret.js';
import type { PartnerProfile } from './types.js';

/** What one profile makes of one sample: documents (or the rendered text), and every problem as a line. */
export interface Tryout {
  output: unknown;
  problems: string[];
}

/** A fixed context for outbound samples, so that two runs (and expected outputs) can be compared. */
export const SAMPLE_CONTEXT: RenderContext = {
  message: { id: '00000000-0000-4000-8000-000000000001', createdAt: '2026-01-01T00:00:00Z' },
  partner: { id: 'sample' },
};

/** A rendered document as text: X12 segments one per line, XML and JSON as written. */
export function renderedText(r: Rendered): string {
  return r.format === 'x12' ? `${r.segments.map((s) => s.join('*')).join('~\n')}~\n` : r.text;
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
      return { output: null, problems: [`GW_JSON_SYNTAX: an outbound sample is a canonical document in JSON: ${(err as Error).message}`] };
    }
    const r = renderOutbound(outbound, doc, SAMPLE_CONTEXT);
    return { output: renderedText(r), problems: r.problems.map((p) => `${p.code}: ${p.message}`) };
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
  const line = (p: { code: string; message: string; location?: object }, ref?: string) =>
    `${ref ? `${ref}: ` : ''}${p.code}: ${p.message}${p.location ? ` [${describeLocation(p.location)}]` : ''}`;
  return {
    output: result.documents.map((d) =>
      d.canonical ? { source: d.sourceRef, document: d.canonical } : { source: d.sourceRef, rejected: d.problems.map((p) => p.code) },
    ),
    problems: [...result.problems.map((p) => line(p)), ...result.documents.flatMap((d) => d.problems.map((p) => line(p, d.sourceRef)))],
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
