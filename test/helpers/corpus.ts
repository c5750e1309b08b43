import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = path.join(REPO, 'test', 'fixtures');
/** Partner mapping folders; each holds samples/ with inputs and expected canonical outputs. */
export const MAPPINGS = path.join(REPO, 'mappings');
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
