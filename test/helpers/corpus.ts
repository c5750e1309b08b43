import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = path.join(REPO, 'test', 'fixtures');
/** Partner mapping folders; each holds samples/ with inputs and expected canonical outputs. */
export const MAPPINGS = path.join(REPO, 'mappings');

/** Why a sample's test fails when its expected output (golden file) is not there yet, and how to make it. */
export function missingGolden(expectedFile: string): string {
  const how = 'run `UPDATE_GOLDEN=1 npm test` once to write what the sample gives now, read it, and keep it when it is right';
  return `${path.relative(REPO, expectedFile)} is missing: ${how}`;
}

/** The shared sample corpus beside the checkout; absent on a fresh clone. */
export const CORPUS = path.resolve(REPO, '..', 'shared', 'corpus');
export const HAS_CORPUS = existsSync(path.join(CORPUS, 'SOURCES.md'));

/** Skips the suite, visibly, when ../shared/corpus is absent. */
export function requireCorpus(ctx: Mocha.Context): void {
  if (!HAS_CORPUS) {
    console.log(`    (skipped: ${CORPUS} is absent; these tests read copyleft samples that are not copied into the repository)`);
    ctx.skip();
  }
}
