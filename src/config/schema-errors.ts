import type { ErrorObject } from 'ajv';

/**
 * Turns ajv's errors for one profile into the complaints a person can act on, every one of them.
 * ajv (allErrors, verbose) reports each branch of a oneOf/anyOf that did not match; most of those
 * describe forms the author never meant. What stays:
 * - for a branch chosen by a constant (`kind: amqp`, `format: csv`), that branch's complaints only;
 *   when the constant matches no branch, one complaint naming every allowed value;
 * - for other alternatives, the complaints of the deepest branch the value went into, and when the
 *   value fits no form at all, one complaint naming the allowed values and types;
 * - enum and const complaints name the allowed values and the value found.
 */

/** One complaint: where (a path into the profile), what, and whether the line is the key's own. */
export interface SchemaComplaint {
  at: (string | number)[];
  reason: string;
  atKey: boolean;
}

export function explainSchemaErrors(errors: readonly ErrorObject[]): SchemaComplaint[] {
  const { kept, unknownConstants } = dropUnmeantBranches(errors);
  const leaves = kept.filter((e) => !isAlternatives(e));
  const deepest = leaves.filter((e) => !inBranch(e) || !leaves.some((o) => o.instancePath.startsWith(`${e.instancePath}/`)));
  const complaints = [...unknownConstants, ...byInstance(deepest).flatMap(explainAt)];
  // A oneOf that no branch explains (several forms matched, or none left a complaint) says so itself.
  for (const e of kept.filter(isAlternatives))
    if (!complaints.some((c) => pointer(c.at).startsWith(e.instancePath))) complaints.push({ at: pathOf(e), reason: alternativesReason(e), atKey: false });
  return dedupe(complaints);
}

const isAlternatives = (e: ErrorObject) => e.keyword === 'oneOf' || e.keyword === 'anyOf';
/** The oneOf/anyOf branch an error comes from (`…/oneOf/2`), or undefined for an unconditional rule. */
const branchOf = (e: ErrorObject) => /^(.*\/(?:oneOf|anyOf)\/\d+)\//.exec(e.schemaPath)?.[1];
const inBranch = (e: ErrorObject) => branchOf(e) !== undefined;
const isValueKind = (e: ErrorObject) => e.keyword === 'type' || e.keyword === 'enum' || e.keyword === 'const';

/**
 * Branches told apart by a constant property: the errors of a branch whose constant is another say
 * nothing. When every branch's constant failed at one place, a single complaint lists the values.
 */
function dropUnmeantBranches(errors: readonly ErrorObject[]): { kept: ErrorObject[]; unknownConstants: SchemaComplaint[] } {
  const discriminators = errors.filter((e) => e.keyword === 'const' && /\/properties\/[^/]+\/const$/.test(e.schemaPath) && inBranch(e));
  const otherBranches = discriminators.map((e) => e.schemaPath.replace(/\/properties\/[^/]+\/const$/, ''));
  const unknownConstants: SchemaComplaint[] = [];
  const drop = new Set<string>(otherBranches);
  for (const [instancePath, group] of groupBy(discriminators, (e) => e.instancePath)) {
    const alternatives = errors.find((e) => isAlternatives(e) && `${e.instancePath}/${lastSegment(instancePath)}` === instancePath);
    const branchCount = (alternatives?.schema as unknown[] | undefined)?.length ?? group.length;
    // Every branch refused the value: nothing was meant but that value, so name the allowed ones.
    if (group.length < branchCount) continue;
    const at = pathOf(group[0] as ErrorObject);
    const allowed = group.map((e) => String((e.params as { allowedValue: unknown }).allowedValue));
    unknownConstants.push({ at, reason: `${label(at)} must be one of ${allowed.join(', ')} (found ${shown(group[0]?.data)})`, atKey: false });
    if (alternatives) drop.add(`${alternatives.schemaPath}`);
  }
  const kept = errors.filter((e) => ![...drop].some((branch) => e.schemaPath === branch || e.schemaPath.startsWith(`${branch}/`)));
  // A value whose constant was refused by every branch has no other complaint worth reading.
  const silenced = new Set(unknownConstants.map((c) => pointer(c.at.slice(0, -1))));
  return { kept: kept.filter((e) => !(inBranch(e) && silenced.has(e.instancePath))), unknownConstants };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

function byInstance(errors: ErrorObject[]): ErrorObject[][] {
  return [...groupBy(errors, (e) => e.instancePath).values()];
}

/** The complaints about one value. */
function explainAt(group: ErrorObject[]): SchemaComplaint[] {
  const fixed = group.filter((e) => !inBranch(e));
  const branches = group.filter(inBranch);
  const structural = branches.filter((e) => !isValueKind(e));
  if (!structural.length && branches.length) return [...complaints(fixed), valueKindComplaint(branches)];
  // The value went into some form (it is an object that has properties): the best-fitting branch speaks.
  const groups = [...groupBy(structural, (e) => branchOf(e) as string).values()];
  const fewest = Math.min(...groups.map((g) => g.length));
  const best = groups.filter((g) => g.length === fewest);
  if (best.length < 2) return complaints([...fixed, ...best.flat()]);
  // Forms that fit equally badly: one complaint that offers each.
  const at = pathOf(group[0] as ErrorObject);
  const offers = best.map((g) =>
    complaints(g)
      .map((c) => c.reason.replace(`${label(at)} `, ''))
      .join(' and '),
  );
  return [...complaints(fixed), { at, reason: `${label(at)} fits none of its forms: it ${offers.join('; or it ')}`, atKey: false }];
}

/** One complaint per error, the properties missing from one object named together. */
function complaints(errors: ErrorObject[]): SchemaComplaint[] {
  const missing = errors.filter((e) => e.keyword === 'required').map((e) => (e.params as { missingProperty: string }).missingProperty);
  const out = errors.filter((e) => e.keyword !== 'required').map(complaint);
  if (!missing.length) return out;
  const at = pathOf(errors[0] as ErrorObject);
  const names = [...new Set(missing)];
  return [
    { at, reason: `${label(at)} is missing ${names.length > 1 ? 'the required properties' : 'the required property'} ${names.join(', ')}`, atKey: false },
    ...out,
  ];
}

/** Every value and type the alternatives at one place accept, in one sentence. */
function valueKindComplaint(errors: ErrorObject[]): SchemaComplaint {
  const at = pathOf(errors[0] as ErrorObject);
  const values = errors.flatMap((e) =>
    e.keyword === 'enum'
      ? (e.params as { allowedValues: unknown[] }).allowedValues
      : e.keyword === 'const'
        ? [(e.params as { allowedValue: unknown }).allowedValue]
        : [],
  );
  const types = [...new Set(errors.filter((e) => e.keyword === 'type').map((e) => article(String((e.params as { type: string }).type))))];
  const allowed = [values.length ? `one of ${values.map(String).join(', ')}` : '', ...types].filter(Boolean).join(' or ');
  return { at, reason: `${label(at)} must be ${allowed} (found ${shown(errors[0]?.data)})`, atKey: false };
}

function complaint(e: ErrorObject): SchemaComplaint {
  const at = pathOf(e);
  if (e.keyword === 'additionalProperties') {
    const prop = (e.params as { additionalProperty: string }).additionalProperty;
    const known = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
    return { at: [...at, prop], reason: `unknown property "${prop}"${known.length ? ` (allowed: ${known.join(', ')})` : ''}`, atKey: true };
  }
  if (e.keyword === 'enum' || e.keyword === 'const' || e.keyword === 'type') return valueKindComplaint([e]);
  return { at, reason: e.message ?? 'is invalid', atKey: false };
}

function alternativesReason(e: ErrorObject): string {
  const passing = (e.params as { passingSchemas?: number[] | null }).passingSchemas;
  return passing ? `matches more than one allowed form (${passing.length})` : 'matches none of the allowed forms';
}

function pathOf(e: ErrorObject): (string | number)[] {
  return e.instancePath
    .split('/')
    .slice(1)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replaceAll('~1', '/').replaceAll('~0', '~')));
}

const pointer = (at: (string | number)[]) => at.map((s) => `/${String(s).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
const lastSegment = (instancePath: string) => instancePath.slice(instancePath.lastIndexOf('/') + 1);

/** How a complaint names its value: `kind`, `channels[0]`, or `the profile` at the top. */
function label(at: (string | number)[]): string {
  const last = at.at(-1);
  if (last === undefined) return 'the profile';
  if (typeof last === 'string') return last;
  const parent = at.at(-2);
  return parent === undefined ? `[${last}]` : `${String(parent)}[${last}]`;
}

const article = (type: string) => (type === 'object' || type === 'array' || type === 'integer' ? `an ${type}` : `a ${type}`);

function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'nothing');
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function dedupe(complaints: SchemaComplaint[]): SchemaComplaint[] {
  const seen = new Set<string>();
  return complaints.filter((c) => {
    const key = `${pointer(c.at)} ${c.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
