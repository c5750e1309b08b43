/**
 * README.md as a test script. A code block is taken by the test when the line before its fence is
 * an annotation:
 *
 *   <!-- readme-test: run -->            a shell block, run as written (one bash per block)
 *   <!-- readme-test: retry -->          a shell block that reads something that takes a moment
 *                                        (a status, a mailbox): run again until it passes
 *   <!-- readme-test: file <path> -->    the block's text is written to <path>
 *   <!-- readme-test: skip <reason> -->  a block the test does not run, and why
 *
 * In a shell block, `# → <text>` lines after a command are what it prints: the command's output
 * must contain them in order, `…` standing for any text. Every `sh` block must be annotated, so a
 * new walk-through cannot escape the test.
 */

export interface ReadmeCommand {
  /** The command as written (continuation lines and here-documents included). */
  text: string;
  /** `# →` lines following it. */
  expect: string[];
  /** 1-based line in README.md where it starts. */
  line: number;
}

export type ReadmeStep =
  | { kind: 'run' | 'retry'; line: number; section: string; commands: ReadmeCommand[] }
  | { kind: 'file'; line: number; section: string; path: string; text: string }
  | { kind: 'skip'; line: number; section: string; reason: string };

const ANNOTATION = /^\s*<!-- readme-test: (run|retry|file|skip)\s*(.*?)\s*-->\s*$/;
const FENCE = /^(\s*)```(\S*)\s*$/;

/** The annotated blocks of a README, in order; throws for a shell block without an annotation. */
export function readmeSteps(markdown: string): ReadmeStep[] {
  const lines = markdown.split('\n');
  const steps: ReadmeStep[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^#{1,4} /.test(line)) section = line.replace(/^#+ /, '');
    const fence = FENCE.exec(line);
    if (!fence) continue;
    const [, indent = '', lang = ''] = fence;
    const end = lines.findIndex((l, j) => j > i && l.trim() === '```');
    if (end < 0) throw new Error(`README.md:${i + 1}: a code block that never ends`);
    const body = lines.slice(i + 1, end).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l));
    const note = ANNOTATION.exec(lines[i - 1] ?? '');
    if (!note) {
      if (lang === 'sh' || lang === 'bash') throw new Error(`README.md:${i + 1}: a shell block without a readme-test annotation`);
      i = end;
      continue;
    }
    const [, kind, arg = ''] = note;
    const at = { line: i + 2, section };
    if (kind === 'file') steps.push({ kind, ...at, path: arg, text: `${body.join('\n')}\n` });
    else if (kind === 'skip') steps.push({ kind, ...at, reason: arg });
    else steps.push({ kind: kind as 'run' | 'retry', ...at, commands: shellCommands(body, i + 2) });
    i = end;
  }
  return steps;
}

/** Splits a shell block into commands: `\` continues a line, a here-document runs to its delimiter. */
export function shellCommands(lines: string[], firstLine: number): ReadmeCommand[] {
  const out: ReadmeCommand[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const expected = /^\s*# → ?(.*)$/.exec(line);
    if (expected) {
      const last = out.at(-1);
      if (!last) throw new Error(`README.md:${firstLine + i}: an expected output before any command`);
      last.expect.push(expected[1] ?? '');
      continue;
    }
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const start = i;
    const text = [line];
    while ((lines[i] ?? '').endsWith('\\') && i + 1 < lines.length) text.push(lines[++i] ?? '');
    const heredoc = /<<-?\s*'?([A-Za-z_]+)'?/.exec(text.join('\n'))?.[1];
    if (heredoc) while (i + 1 < lines.length && (lines[i] ?? '').trim() !== heredoc) text.push(lines[++i] ?? '');
    out.push({ text: text.join('\n'), expect: [], line: firstLine + start });
  }
  return out;
}

/** Does `output` contain each expected line, in order (`…` matching any text)? Answers the first that is missing. */
export function missingOutput(output: string, expect: string[]): string | undefined {
  let from = 0;
  for (const e of expect) {
    const pattern = new RegExp(
      e
        .split('…')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('[\\s\\S]*?'),
    );
    const hit = pattern.exec(output.slice(from));
    if (!hit) return e;
    from += hit.index + hit[0].length;
  }
  return undefined;
}

/** Names a command assigns (`NAME=…` at its start), to carry them to the next block. */
export function assignedNames(commands: ReadmeCommand[]): string[] {
  return [...new Set(commands.flatMap((c) => [...(/^([A-Za-z_][A-Za-z0-9_]*)=/.exec(c.text)?.slice(1, 2) ?? [])]))];
}

export const COMMAND_END = '@@readme-command-end@@';

/** One bash script for a block: state from earlier blocks in, a marker after each command, state out. */
export function blockScript(commands: ReadmeCommand[], stateFile: string): string {
  const names = assignedNames(commands);
  return [
    'exec 2>&1',
    'set -eo pipefail',
    `[ -f '${stateFile}' ] && . '${stateFile}'`,
    ...commands.flatMap((c) => [c.text, `echo; echo '${COMMAND_END}'`]),
    ...names.map((n) => `declare -p ${n} >> '${stateFile}'`),
    '',
  ].join('\n');
}
