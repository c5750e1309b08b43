import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { isTemporaryName } from '../../src/channels/sftp/files.js';
import { FOLDERS, MAX_NAME_LENGTH, MAX_PATH_LENGTH, PathRefused, pathSegments, resolvePath } from '../../src/channels/sftp/paths.js';

/**
 * Property-based: whatever path a client sends (`..`, `/`, NUL and control characters, unicode,
 * very long names), resolution stays inside the partner's tree, refuses with PathRefused and
 * nothing else, and takes little time whatever the input.
 */
const PER_INPUT_MS = 250;

const segment = fc.oneof(
  fc.constantFrom(
    '..',
    '.',
    '',
    '...',
    'inbound',
    'outbound',
    'archive',
    'asn.edi',
    'asn.edi.part',
    '.part',
    '..\\..',
    '%2e%2e',
    ' ',
    '\u0000',
    '\n',
    '\u007f',
    'é',
    '📦',
    '\u202e',
    '\ufeff',
    '\ud800',
  ),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 24 }),
);
const hostilePath = fc
  .tuple(fc.boolean(), fc.array(segment, { maxLength: 14 }), fc.boolean())
  .map(([absolute, parts, slash]) => `${absolute ? '/' : ''}${parts.join('/')}${slash ? '/' : ''}`);
const longPath = fc
  .tuple(
    fc.constantFrom('', '/', '/inbound/', '/archive/', '../', 'inbound/../'),
    fc.constantFrom('a', 'é', '📦', '../', './', '/', '\u0000', 'inbound/'),
    fc.integer({ min: 200, max: 300_000 }),
  )
  .map(([prefix, unit, n]) => `${prefix}${unit.repeat(n)}`);

/** The tree as a reference model: the folders a path walks through, or 'outside' once it climbs above `/`. */
function walk(raw: string): string[] | 'outside' {
  const stack: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') stack.push(part);
    else if (!stack.pop()) return 'outside';
  }
  return stack;
}

function check(raw: string): void {
  const started = performance.now();
  let place: ReturnType<typeof resolvePath>;
  try {
    place = resolvePath(raw);
  } catch (err) {
    assert.ok(err instanceof PathRefused, `not a refusal: ${String(err)}`);
    assert.ok(err.message.length > 10);
    return;
  } finally {
    assert.ok(performance.now() - started < PER_INPUT_MS, `resolving ${raw.length} characters took ${performance.now() - started} ms`);
  }
  const model = walk(raw);
  assert.notEqual(model, 'outside', `${JSON.stringify(raw.slice(0, 200))} climbs above / yet resolved`);
  // What REALPATH answers for any path that resolves: canonical, inside the tree.
  assert.deepEqual(pathSegments(raw), model);
  assert.ok(raw.length <= MAX_PATH_LENGTH);
  assert.doesNotMatch(raw, /[\u0000-\u001f\\]/);
  if (!place) return; // a well-formed path that names nothing: "no such file"
  assert.equal(place.path, `/${(model as string[]).join('/')}`, 'the place is where the path leads');
  if (place.kind === 'root') return;
  assert.ok((FOLDERS as readonly string[]).includes(place.folder));
  if (place.kind === 'folder') {
    assert.equal(place.path, `/${place.folder}`);
    return;
  }
  assert.equal(place.path, `/${place.folder}/${place.name}`);
  assert.ok(place.name.length > 0 && place.name.length <= MAX_NAME_LENGTH);
  assert.ok(!place.name.includes('/') && place.name !== '.' && place.name !== '..');
  assert.equal(typeof isTemporaryName(place.name), 'boolean');
}

describe('SFTP path resolution under hostile paths (fast-check)', function () {
  this.timeout(120_000);
  const runs = Number(process.env.PROPERTY_RUNS ?? 2000);

  it('keeps any path built from .., /, NUL, control characters and unicode inside the tree, or refuses it', () => {
    fc.assert(fc.property(hostilePath, check), { numRuns: runs });
  });

  it('refuses or resolves very long paths and names quickly', () => {
    fc.assert(fc.property(longPath, check), { numRuns: Math.ceil(runs / 10) });
  });

  it('takes any string at all without throwing anything but a refusal', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 600 }), check), { numRuns: runs });
  });

  it('refuses every way of climbing above / and every name past the limits', () => {
    for (const raw of [
      '..',
      '/..',
      '/../etc/passwd',
      'inbound/../../x',
      '/inbound/./../..',
      '../inbound/x',
      `/inbound/${'a'.repeat(MAX_NAME_LENGTH + 1)}`,
      `/${'a/'.repeat(MAX_PATH_LENGTH)}`,
      '/inbound/a\u0000b',
      '/inbound/a\\..\\..\\b',
    ]) {
      assert.throws(() => resolvePath(raw), PathRefused, raw.slice(0, 40));
    }
    assert.deepEqual(resolvePath('/inbound/x/../../archive/./y'), { kind: 'file', folder: 'archive', name: 'y', path: '/archive/y' });
  });
});
