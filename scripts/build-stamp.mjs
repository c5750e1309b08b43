/**
 * Keeps `npm start` quick (decision 0045): the build (tsc, then the portal's bundle) takes half a
 * minute, so it runs only when its inputs changed since the last one.
 *
 *   node scripts/build-stamp.mjs write    after a build: record a hash of the inputs in dist/.build-stamp
 *   node scripts/build-stamp.mjs ensure   before a start, and as `prepare`: build when the inputs differ
 *                                         from the stamp. `prepare` also runs when `npx gateway` first
 *                                         installs the checkout into npx's cache: a current build
 *                                         answers at once instead of building again (a minute).
 *
 * The hash is over file contents, not times: a checkout that touches files without changing them does
 * not rebuild, and one that changes them does, whatever their times say.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STAMP = path.join(ROOT, 'dist', '.build-stamp');
/** What the build reads: the TypeScript it compiles, the bundle's entry and the settings of both. */
const INPUTS = ['src', 'migrations', 'scripts/build-assets.mjs', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];

/** The files an input names: itself, or every file below it; none when it does not exist. */
function filesOf(input) {
  const full = path.join(ROOT, input);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [input];
  return readdirSync(full, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(ROOT, path.join(e.parentPath ?? e.path, e.name)));
}

/** A hash of every input file's path and contents. */
export function inputsHash() {
  const hash = createHash('sha256');
  for (const input of INPUTS)
    for (const file of filesOf(input).sort()) hash.update(`${file}\0`).update(readFileSync(path.join(ROOT, file))).update('\0');
  return hash.digest('hex');
}

function build() {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  return spawnSync(npm, ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' }).status ?? 1;
}

function typescriptInstalled() {
  return existsSync(path.join(ROOT, 'node_modules', 'typescript', 'package.json'));
}

/** Builds when dist/ is missing or older than its inputs. Returns the exit code. */
function ensure() {
  const hash = inputsHash();
  const built = existsSync(STAMP) ? readFileSync(STAMP, 'utf8').trim() : undefined;
  const entry = path.join(ROOT, 'dist', 'src', 'cli.js');
  if (built === hash && existsSync(entry)) return 0;
  if (!typescriptInstalled()) {
    // `npm install --omit=dev` leaves no compiler: start what was built, or say what to do.
    if (existsSync(entry)) {
      console.error('The sources changed since dist/ was built, but TypeScript is not installed (npm install --omit=dev): starting the existing build.');
      return 0;
    }
    console.error('dist/ is not built and TypeScript is not installed: run `npm install` (with the dev dependencies), then `npm start`.');
    return 1;
  }
  console.error(`Building dist/ (${built ? 'the sources changed since the last build' : 'no build yet'}); this takes up to a minute…`);
  const status = build();
  if (status === 0) writeFileSync(STAMP, `${hash}\n`);
  return status;
}

/**
 * After a build: tsc writes dist/src/cli.js without the executable bit that the package's bin
 * (`npx gateway`) needs; npm sets it only when it first links the bin.
 */
function written() {
  chmodSync(path.join(ROOT, 'dist', 'src', 'cli.js'), 0o755);
  writeFileSync(STAMP, `${inputsHash()}\n`);
}

/** Is dist/ built from the sources as they are now? (Tests run the built CLI then: it starts quicker.) */
export function buildIsCurrent() {
  return existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === inputsHash() && existsSync(path.join(ROOT, 'dist', 'src', 'cli.js'));
}

// Run as a script (not imported by the tests): write or ensure.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const mode = process.argv[2];
  if (mode === 'write') written();
  else if (mode === 'ensure') process.exitCode = ensure();
  else {
    console.error('usage: node scripts/build-stamp.mjs write|ensure');
    process.exitCode = 2;
  }
}
