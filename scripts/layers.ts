/**
 * Checks that imports in src/ run one way: a file imports from its own floor or the floors the table
 * below allows, never from a higher one (docs/architecture.md, "Floors"). Prints each import that
 * goes against the table as `file:line imports <path> (floor A → floor B)` and exits 1 if one does.
 * TypeScript's own scanner finds the imports (static, `export … from`, `import type` and dynamic
 * `import('…')`), so imports split over lines and commented-out imports are read as the compiler reads them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** Floors from low to high: what each holds (paths under src/, a folder ends in /) and what it may import besides itself. */
const FLOORS: Record<string, { holds: string[]; imports: string[] }> = {
  core: { holds: ['errors.ts', 'types.ts', 'canonical/'], imports: [] },
  formats: { holds: ['formats/'], imports: ['core'] },
  mapping: { holds: ['mapping/'], imports: ['core', 'formats'] },
  services: { holds: ['config/', 'security/', 'store/', 'observability/'], imports: ['core', 'formats', 'mapping'] },
  delivery: { holds: ['delivery/'], imports: ['core', 'formats', 'mapping', 'services'] },
  pipeline: { holds: ['pipeline/'], imports: ['core', 'formats', 'mapping', 'services', 'delivery'] },
  channels: { holds: ['channels/'], imports: ['core', 'formats', 'mapping', 'services', 'delivery', 'pipeline'] },
  entry: {
    holds: ['server.ts', 'start.ts', 'cli.ts', 'cli-errors.ts', 'cli-partners.ts', 'cli-usage.ts', 'cli-commands.ts'],
    imports: ['core', 'formats', 'mapping', 'services', 'delivery', 'pipeline', 'channels'],
  },
};

/**
 * Imports against the table that are tolerated for now, as `'<file> → <imported file>'` (paths under
 * src/), each with a comment saying why and until when. Empty: every import in src/ runs down.
 */
const TOLERATED = new Set<string>([]);

function floorOf(file: string): string | undefined {
  return Object.keys(FLOORS).find((floor) => FLOORS[floor]!.holds.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p)));
}

const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.split(path.sep).join('/'))
  .sort();
const problems: string[] = [];
for (const file of files) {
  const from = floorOf(file);
  if (!from) {
    problems.push(`src/${file} is on no floor: add it to FLOORS in scripts/layers.ts and to docs/architecture.md`);
    continue;
  }
  const text = readFileSync(path.join(SRC, file), 'utf8');
  for (const { fileName, pos } of ts.preProcessFile(text, true, true).importedFiles) {
    if (!fileName.startsWith('.')) continue; // a package
    const target = path.posix.join(path.posix.dirname(file), fileName).replace(/\.js$/, '.ts');
    const to = floorOf(target);
    if (to === from || (to && FLOORS[from]!.imports.includes(to)) || TOLERATED.has(`${file} → ${target}`)) continue;
    const line = text.slice(0, pos).split('\n').length;
    problems.push(`src/${file}:${line} imports ${fileName} (${from} → ${to ?? `outside the floors: src/${target}`})`);
  }
}
for (const p of problems) console.log(p);
console.log(problems.length ? `${problems.length} finding(s) against the floors` : `${files.length} files, every import runs down the floors`);
process.exitCode = problems.length ? 1 : 0;
