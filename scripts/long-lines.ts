/**
 * Checks that no source line is longer than the limit Biome formats to (biome.json, lineWidth). Biome cannot
 * break a long string or template literal, so it leaves such a line as it is; this check reports it. Prints
 * each line over the limit as `file:line: N characters (limit 160)` and exits 1 if there is one.
 * Characters are Unicode code points, not bytes or UTF-16 units.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const LIMIT = 160;
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const FOLDERS = ['src', 'test', 'bench', 'migrations', 'scripts'];

let over = 0;
for (const folder of FOLDERS) {
  const files = readdirSync(path.join(ROOT, folder), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  for (const file of files.sort()) {
    const lines = readFileSync(path.join(ROOT, folder, file), 'utf8').split(/\r?\n/);
    lines.forEach((line, index) => {
      const characters = [...line].length;
      if (characters <= LIMIT) return;
      console.log(`${path.join(folder, file)}:${index + 1}: ${characters} characters (limit ${LIMIT})`);
      over += 1;
    });
  }
}
process.exit(over > 0 ? 1 : 0);
