/**
 * The path-clash rule: errors that mean an object's local path cannot exist on this file system.
 * S3 allows keys "a" and "a/b" side by side, a file system does not, and a path can exceed
 * PATH_MAX. Only that object fails; the run goes on.
 */
const PATH_CLASH = new Set(['ENOTDIR', 'EISDIR', 'EEXIST', 'ENAMETOOLONG']);

/** Why the object fails when `err` is a path clash; undefined for any other error. */
export function pathClash(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException;
  if (!e?.code || !PATH_CLASH.has(e.code)) return undefined;
  if (e.code === 'ENAMETOOLONG') return `its local path is too long for this file system (${e.path ?? ''})`;
  return `its local path clashes with another key's file or folder (${e.code} on ${e.path ?? 'a path'}): the key and a "folder" of another key share a name`;
}
