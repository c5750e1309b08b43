/** The folders of a partner's virtual tree. Nothing else exists; nothing maps to the host's disk. */
export const FOLDERS = ['inbound', 'outbound', 'archive'] as const;
export type Folder = (typeof FOLDERS)[number];

export type Place =
  | { kind: 'root'; path: '/' }
  | { kind: 'folder'; folder: Folder; path: string }
  | { kind: 'file'; folder: Folder; name: string; path: string };

/** Why a path was refused, in the words the client sees. */
export class PathRefused extends Error {}

/** Longer paths are refused before they are read (Linux's PATH_MAX): replies and logs stay small. */
export const MAX_PATH_LENGTH = 4096;
/** The longest file name (Linux's NAME_MAX). */
export const MAX_NAME_LENGTH = 255;

/**
 * The names a client path (absolute, or relative to the home folder `/`) walks to, `.` and `..`
 * resolved by name. A `..` above `/` refuses the path rather than clamping it, and so do NUL and
 * control characters, backslashes, and overlong paths.
 */
export function pathSegments(raw: string): string[] {
  if (raw.length > MAX_PATH_LENGTH) throw new PathRefused(`paths are at most ${MAX_PATH_LENGTH} characters (this one has ${raw.length})`);
  if (/[\u0000-\u001f\\]/.test(raw)) throw new PathRefused(`the path ${JSON.stringify(raw)} holds a control character or a backslash`);
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (!parts.length) throw new PathRefused(`the path ${raw} leads outside your folders`);
      parts.pop();
    } else parts.push(part);
  }
  return parts;
}

/**
 * Resolves a client path inside the partner's tree (see `pathSegments`); names longer than
 * MAX_NAME_LENGTH are refused. Returns undefined for a well-formed path that names no folder of
 * the tree, or lies deeper than one folder level (no such file).
 */
export function resolvePath(raw: string): Place | undefined {
  const parts = pathSegments(raw);
  if (parts.length === 0) return { kind: 'root', path: '/' };
  const [folder, name, ...deeper] = parts as [string, string | undefined, ...string[]];
  if (!(FOLDERS as readonly string[]).includes(folder) || deeper.length) return undefined;
  if (name === undefined) return { kind: 'folder', folder: folder as Folder, path: `/${folder}` };
  if (name.length > MAX_NAME_LENGTH) throw new PathRefused(`file names are at most ${MAX_NAME_LENGTH} characters`);
  return { kind: 'file', folder: folder as Folder, name, path: `/${folder}/${name}` };
}
