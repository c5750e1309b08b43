import type { Problem } from '../../errors.js';
import type { Guide } from '../../types.js';
import type { X12TransactionSet } from './reader.js';

export function guideFor(guides: readonly Guide[] | undefined, set: X12TransactionSet): Guide | undefined {
  return guides?.find((g) => g.transaction === set.id && (!g.versions || g.versions.some((v) => set.version.startsWith(v))));
}

/**
 * Checks a transaction set against a guide, before mapping. Each problem carries the code its
 * 997/999 reports: AK3/IK3 3 (mandatory segment missing) or 8 (element errors) with AK4/IK4
 * 1 (missing), 4 (too short), 5 (too long) or 7 (invalid code value) and the bad value.
 */
export function checkGuide(set: X12TransactionSet, guide: Guide): Problem[] {
  const problems: Problem[] = [];
  const sePosition = set.segments.length + 2;
  for (const [tag, rule] of Object.entries(guide.segments)) {
    const found = set.segments.filter((s) => s.tag === tag);
    if (rule.required && found.length === 0) {
      problems.push({
        code: 'GW_X12_GUIDE',
        message: `Transaction set ${set.control} has no ${tag} segment, which the partner's implementation guide requires.`,
        location: { segment: tag, position: sePosition, transaction: set.control },
        x12: { ak5: '5', ak3: '3' },
      });
    }
    for (const seg of found) {
      for (const [ref, el] of Object.entries(rule.elements ?? {})) {
        const n = Number(ref);
        const value = seg.elements[n - 1] ?? '';
        const at = { segment: tag, position: seg.position, element: n, transaction: set.control, line: seg.line };
        const name = `${tag}${String(n).padStart(2, '0')}`;
        const fail = (ak4: string, why: string) =>
          problems.push({ code: 'GW_X12_GUIDE', message: `${name} ${why} (implementation guide).`, location: at, x12: { ak5: '5', ak3: '8', ak4, value } });
        if (value === '') {
          if (el.required) fail('1', 'is required but empty');
          continue;
        }
        if (el.min !== undefined && value.length < el.min) fail('4', `"${value}" is ${value.length} characters, at least ${el.min} expected`);
        if (el.max !== undefined && value.length > el.max) fail('5', `"${value}" is ${value.length} characters, at most ${el.max} allowed`);
        if (el.codes && !el.codes.includes(value)) fail('7', `"${value}" is not an allowed code (${el.codes.join(', ')})`);
      }
    }
  }
  return problems;
}
