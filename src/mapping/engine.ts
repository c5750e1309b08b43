import type { Problem, SourceLocation } from '../errors.js';
import type { CompiledProfile, Rule, Units, When } from './profile.js';
import type { Scalar, SourceNode } from './source.js';
import { applyTransform, TransformError, type TransformSpec } from './transforms.js';

export interface MappingResult {
  document: Record<string, unknown>;
  problems: Problem[];
  /** Canonical JSON Pointer → where in the source its value came from. */
  provenance: Map<string, SourceLocation>;
}

interface Run<P> {
  profile: CompiledProfile<P>;
  problems: Problem[];
  provenance: Map<string, SourceLocation>;
}

/**
 * Evaluates a compiled profile against a source scope. Collects every problem instead of stopping
 * at the first, so a partner sees all that is wrong with a document at once. Pure.
 */
export function evaluateProfile<P>(profile: CompiledProfile<P>, root: SourceNode<P>): MappingResult {
  const run: Run<P> = { profile, problems: [], provenance: new Map() };
  const document = evalFields(run, profile.fields, root, '');
  return { document, problems: run.problems, provenance: run.provenance };
}

function holds<P>(when: When<P> | undefined, node: SourceNode<P>): boolean {
  if (!when) return true;
  const found = node.get(when.path);
  if (!found) return !when.exists;
  if (!when.exists) return false;
  return !when.equals || when.equals.some((e) => String(e) === String(found.value));
}

function evalFields<P>(run: Run<P>, rules: Rule<P>[], node: SourceNode<P>, pointer: string, units?: Units): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const rule of rules) {
    if (!holds(rule.when, node)) continue;
    const here = `${pointer}/${rule.name}`;
    switch (rule.kind) {
      case 'const':
        out[rule.name] = rule.value;
        break;
      case 'value':
      case 'concat': {
        const v = evalValue(run, rule, node);
        if (v !== undefined) {
          out[rule.name] = v.value;
          if (v.location) run.provenance.set(here, v.location);
        }
        break;
      }
      case 'object': {
        const scope = rule.at === undefined ? node : node.at(rule.at);
        if (!scope) break;
        const obj = evalFields(run, rule.fields, scope, here, rule.units);
        if (Object.keys(obj).length > 0) out[rule.name] = obj;
        break;
      }
      case 'list': {
        // A fixed list of objects read from one scope (a CSV row's on-hand and on-order columns); empty ones are left out.
        const list = rule.entries.flatMap((entry, i) => {
          if (!holds(entry.when, node)) return [];
          const obj = evalFields(run, entry.fields, node, `${here}/${i}`);
          return Object.keys(obj).length ? [obj] : [];
        });
        if (list.length === 0 && rule.required)
          run.problems.push({
            code: 'GW_MAP_REQUIRED',
            message: `Rule ${rule.rule} produced no entries; at least one is required.`,
            location: { ...node.location, rule: rule.rule, pointer: here },
          });
        if (list.length) out[rule.name] = list;
        break;
      }
      case 'array': {
        const items = node.each(rule.each);
        if (items.length === 0 && rule.required) {
          run.problems.push({
            code: 'GW_MAP_REQUIRED',
            message: `Rule ${rule.rule} found no repetitions in the source; at least one is required.`,
            location: { ...node.location, rule: rule.rule, pointer: here },
          });
        }
        out[rule.name] = items.map((item, i) => {
          run.provenance.set(`${here}/${i}`, item.location);
          return evalFields(run, rule.fields, item, `${here}/${i}`, rule.units);
        });
        break;
      }
    }
  }
  if (units) convertUnits(run, units, out, node, pointer);
  return out;
}

/**
 * Converts an item's quantity to the profile's target unit: by a fixed factor (a dozen is 12 each)
 * or by a per-item factor from a cross-reference table (this SKU's case holds 24). The supplier's
 * own quantity and unit are kept beside the converted ones; a unit price is divided accordingly.
 */
function convertUnits<P>(run: Run<P>, units: Units, obj: Record<string, unknown>, node: SourceNode<P>, pointer: string): void {
  const q = obj[units.quantity];
  const u = obj[units.unit];
  if (typeof q !== 'number' || typeof u !== 'string' || u === units.to) return;
  let factor = units.factors[u];
  const per = units.perItem[u];
  const where = { ...(run.provenance.get(`${pointer}/${units.unit}`) ?? node.location), rule: units.rule, pointer: `${pointer}/${units.unit}` };
  if (factor === undefined && per) {
    const key = obj[per.by];
    const table = run.profile.context.xref[per.xref];
    const row = key === undefined ? undefined : table?.rows.get(String(key));
    const raw = row?.[per.column];
    if (!row || !raw) {
      run.problems.push({
        code: 'GW_MAP_UNIT',
        message: `Cannot convert ${q} ${u} to ${units.to}: ${
          key === undefined ? `the item has no ${per.by}` : `cross-reference table ${per.xref} (${table?.file}) has no ${per.column} for ${per.by} "${key}"`
        }.`,
        location: where,
      });
      return;
    }
    factor = Number(raw);
    if (!Number.isFinite(factor) || factor <= 0) {
      run.problems.push({
        code: 'GW_MAP_UNIT',
        message: `Cross-reference table ${per.xref} (${table?.file}) gives "${raw}" as ${per.column} for "${key}", which is not a positive number.`,
        location: where,
      });
      return;
    }
  }
  if (factor === undefined) {
    run.problems.push({
      code: 'GW_MAP_UNIT',
      message: `Cannot convert ${q} ${u} to ${units.to}: the profile's units block has no factor for ${u}.`,
      location: where,
    });
    return;
  }
  obj.supplierQuantity = q;
  obj.supplierUnit = u;
  obj[units.quantity] = Math.round(q * factor * 1e6) / 1e6;
  obj[units.unit] = units.to;
  const price = units.price ? obj[units.price] : undefined;
  if (units.price && typeof price === 'number') {
    obj[`supplier${units.price[0]?.toUpperCase()}${units.price.slice(1)}`] = price;
    obj[units.price] = Math.round((price / factor) * 1e6) / 1e6;
  }
}

function evalValue<P>(
  run: Run<P>,
  rule: Extract<Rule<P>, { kind: 'value' | 'concat' }>,
  node: SourceNode<P>,
): { value: Scalar; location?: SourceLocation } | undefined {
  let found: ReturnType<typeof node.get>;
  if (rule.kind === 'concat') {
    const parts = rule.paths.map((p) => node.get(p)).filter((v): v is NonNullable<typeof v> => v !== undefined);
    if (parts.length) found = { value: parts.map((p) => String(p.value)).join(rule.separator), location: (parts[0] as NonNullable<typeof found>).location };
  } else for (const path of rule.paths) if ((found = node.get(path))) break;
  if (!found) {
    if (rule.kind === 'value' && rule.default !== undefined) return { value: rule.default };
    if (rule.required) {
      run.problems.push({
        code: 'GW_MAP_REQUIRED',
        message: `Rule ${rule.rule} requires a value and the source has none.`,
        location: { ...node.location, rule: rule.rule },
      });
    }
    return undefined;
  }
  let value = found.value;
  for (const t of rule.transforms) {
    try {
      value = applyTransform(t, value, run.profile.context);
    } catch (err) {
      if (!(err instanceof TransformError)) throw err;
      run.problems.push({
        code: err.code,
        message: `Rule ${rule.rule} (${transformName(t)}): ${err.message}.`,
        location: { ...found.location, rule: rule.rule },
        ...(err.expected ? { expected: err.expected } : {}),
      });
      return undefined;
    }
  }
  return { value, location: found.location };
}

const transformName = (t: TransformSpec): string => (typeof t === 'string' ? t : (Object.keys(t)[0] as string));
