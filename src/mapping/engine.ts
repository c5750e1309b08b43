import type { Problem, SourceLocation } from '../errors.js';
import type { CompiledProfile, Rule } from './profile.js';
import type { Scalar, SourceNode } from './source.js';
import { applyTransform, TransformError } from './transforms.js';

export interface MappingResult {
  document: Record<string, unknown>;
  problems: Problem[];
  /** Canonical JSON Pointer → where in the source its value came from. */
  provenance: Map<string, SourceLocation>;
}

/**
 * Evaluates a compiled profile against a source scope. Collects every problem instead of stopping
 * at the first, so a partner sees all that is wrong with a document at once. Pure.
 */
export function evaluateProfile<P>(profile: CompiledProfile<P>, root: SourceNode<P>): MappingResult {
  const problems: Problem[] = [];
  const provenance = new Map<string, SourceLocation>();
  const document = evalFields(profile, profile.fields, root, '', problems, provenance);
  return { document, problems, provenance };
}

function evalFields<P>(profile: CompiledProfile<P>, rules: Rule<P>[], node: SourceNode<P>, pointer: string, problems: Problem[], provenance: Map<string, SourceLocation>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const rule of rules) {
    const here = `${pointer}/${rule.name}`;
    switch (rule.kind) {
      case 'const':
        out[rule.name] = rule.value;
        break;
      case 'value': {
        const v = evalValue(profile, rule, node, problems);
        if (v !== undefined) {
          out[rule.name] = v.value;
          if (v.location) provenance.set(here, v.location);
        }
        break;
      }
      case 'object': {
        const scope = rule.at === undefined ? node : node.at(rule.at);
        if (!scope) break;
        const obj = evalFields(profile, rule.fields, scope, here, problems, provenance);
        if (Object.keys(obj).length > 0) out[rule.name] = obj;
        break;
      }
      case 'array': {
        const items = node.each(rule.each);
        if (items.length === 0 && rule.required) {
          problems.push({ code: 'GW_MAP_REQUIRED', message: `Rule ${rule.rule} found no repetitions in the source; at least one is required.`, location: { ...node.location, rule: rule.rule, pointer: here } });
        }
        out[rule.name] = items.map((item, i) => {
          provenance.set(`${here}/${i}`, item.location);
          return evalFields(profile, rule.fields, item, `${here}/${i}`, problems, provenance);
        });
        break;
      }
    }
  }
  return out;
}

function evalValue<P>(profile: CompiledProfile<P>, rule: Extract<Rule<P>, { kind: 'value' }>, node: SourceNode<P>, problems: Problem[]): { value: Scalar; location?: SourceLocation } | undefined {
  let found: ReturnType<typeof node.get>;
  for (const path of rule.paths) if ((found = node.get(path))) break;
  if (!found) {
    if (rule.default !== undefined) return { value: rule.default };
    if (rule.required) {
      problems.push({ code: 'GW_MAP_REQUIRED', message: `Rule ${rule.rule} requires a value and the source has none.`, location: { ...node.location, rule: rule.rule } });
    }
    return undefined;
  }
  let value = found.value;
  for (const t of rule.transforms) {
    try {
      value = applyTransform(t, value, profile.codeLists);
    } catch (err) {
      if (!(err instanceof TransformError)) throw err;
      const name = typeof t === 'string' ? t : Object.keys(t)[0];
      problems.push({ code: 'GW_MAP_TRANSFORM', message: `Rule ${rule.rule} (${name}): ${err.message}.`, location: { ...found.location, rule: rule.rule } });
      return undefined;
    }
  }
  return { value, location: found.location };
}
