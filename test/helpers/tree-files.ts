/**
 * Comparing result folders that may not fit in memory: the same verdicts as tree.ts `diffTrees`
 * (gzip files compared decompressed), taken one file pair at a time, so memory is bounded by the
 * largest file rather than the whole tree. A difference says where the contents first part.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { diffTrees, listFiles, plain } from './tree.js';

export { listFiles };

/** The outcome of comparing two folders. */
export interface TreeComparison {
  /** One readable line per difference; empty when the folders hold the same files with the same content. */
  diffs: string[];
  /** Relative paths of the files that differ or exist on one side only. */
  differing: string[];
  /** Files present on both sides. */
  files: number;
  /** Content bytes compared (decompressed for gzip), counted on the first side. */
  bytes: number;
}

/**
 * Compares folder `a` with folder `b` file by file, as `diffTrees(readTree(a), readTree(b))` would,
 * but holding one pair of files at a time. `only` limits the comparison to these relative paths.
 */
export function diffTreesOnDisk(a: string, b: string, only?: readonly string[]): TreeComparison {
  const inA = new Set(only ? only.filter((p) => existsSync(join(a, p))) : listFiles(a));
  const inB = new Set(only ? only.filter((p) => existsSync(join(b, p))) : listFiles(b));
  const result: TreeComparison = { diffs: [], differing: [], files: 0, bytes: 0 };
  for (const rel of [...new Set([...inA, ...inB])].sort()) {
    if (!inB.has(rel)) {
      result.diffs.push(`only in first: ${rel}`);
      result.differing.push(rel);
      continue;
    }
    if (!inA.has(rel)) {
      result.diffs.push(`only in second: ${rel}`);
      result.differing.push(rel);
      continue;
    }
    result.files++;
    const x = readFileSync(join(a, rel));
    const y = readFileSync(join(b, rel));
    let px: Buffer;
    let py: Buffer;
    try {
      px = plain(rel, x);
      py = plain(rel, y);
    } catch (err) {
      result.diffs.push(`differs: ${rel} (cannot be decompressed: ${(err as Error).message})`);
      result.differing.push(rel);
      continue;
    }
    result.bytes += px.length;
    const d = diffTrees(new Map([[rel, x]]), new Map([[rel, y]]));
    if (d.length) {
      result.diffs.push(...d.map((line) => `${line}; ${describeFirstDifference(px, py)}`));
      result.differing.push(rel);
    }
  }
  return result;
}

/** Where two contents first differ: byte offset, 1-based line number, and that line on each side (cut to 200 bytes). */
export function describeFirstDifference(a: Buffer, b: Buffer): string {
  const n = Math.min(a.length, b.length);
  let i = 0;
  // Compare in blocks first: a byte loop over 100 MB takes seconds.
  const BLOCK = 1 << 16;
  while (i + BLOCK <= n && a.subarray(i, i + BLOCK).equals(b.subarray(i, i + BLOCK))) i += BLOCK;
  while (i < n && a[i] === b[i]) i++;
  if (i === n && a.length === b.length) return 'same content';
  const lineStart = a.lastIndexOf(0x0a, i - 1) + 1;
  let line = 1;
  for (let p = a.indexOf(0x0a); p !== -1 && p < lineStart; p = a.indexOf(0x0a, p + 1)) line++;
  const lineOf = (buf: Buffer) => {
    if (lineStart >= buf.length) return '(end of file)';
    const end = buf.indexOf(0x0a, lineStart);
    const text = buf.subarray(lineStart, end === -1 ? buf.length : end).toString('utf8');
    return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
  };
  return `first difference at byte ${i}, line ${line}: first has ${lineOf(a)}, second has ${lineOf(b)}`;
}

/** Bytes in regular files under `dir` (recursively), 0 when absent. */
export function bytesUnder(dir: string): number {
  return listFiles(dir).reduce((n, rel) => n + (statSync(join(dir, rel), { throwIfNoEntry: false })?.size ?? 0), 0);
}
