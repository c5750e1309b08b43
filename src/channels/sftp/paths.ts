/** The folders of a partner's virtual tree. Nothing else exists; nothing maps to the host's disk. */
export const FOLDERS = ['inbound', 'outbound', 'archive'] as const;
export type Folder = (typeof FOLDERS)[number];

export type Place = { kind: 'root'; path: '/' } | { kind: 'folder'; folder: Folder; path: string } | { kind: 'file'; folder: Folder; name: string; path: string };

/** Why a path was refused, in the words the client sees. */
export class PathRefused extends Error {}

/**
 * Resolves a client path (absolute, or relative to the home folder `/`) inside the partner's tree.
 * `.` and `..` are resolved by name; a `..` above `/` refuses the path rather than clamping it, and
 * so do NUL and control characters, backslashes, and anything deeper than one folder level.
 * Returns undefined for a well-formed path that names no folder of the tree (no such file).
 */
export function resolvePath(raw: string): Place | undefined {
  if (/[\u0000-\u001f\\]/.test(raw)) throw new PathRefused(`the path ${JSON.stringify(raw)} holds a control character or a backslash`);
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (!parts.length) throw new PathRefused(`the path ${raw} leads outside your folders`);
      parts.pop();
    } else parts.push(part);
  }
  if (parts.length === 0) return { kind: 'root', path: '/' };
  const [folder, name, ...deeper] = parts as [string, string | undefined, ...string[]];
  if (!(FOLDERS as readonly string[]).includes(folder) || deeper.length) return undefined;
  if (name === undefined) return { kind: 'folder', folder: folder as Folder, path: `/${folder}` };
  if (name.length > 255) throw new PathRefused('file names are at most 255 characters');
  return { kind: 'file', folder: folder as Folder, name, path: `/${folder}/${name}` };
}
