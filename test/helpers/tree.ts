/** Reading result folders in tests: every file under a folder, with gzip outputs decompressed. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** Relative path → bytes of every regular file under `dir` (empty when `dir` does not exist). */
export function readTree(dir: string): Map<string, Buffer> {
  return new Map(listFiles(dir).map((rel) => [rel, readFileSync(join(dir, ...rel.split('/')))]));
}

/** Relative `/`-separated paths of every regular file under `dir`, sorted (empty when `dir` is absent). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(p, `${rel}${n}/`);
      else out.push(`${rel}${n}`);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** The content a reader sees: gzip files decompressed. */
export function plain(name: string, bytes: Buffer): Buffer {
  return /\.gz$/i.test(name) && bytes.length > 0 ? gunzipSync(bytes) : bytes;
}

/** Differences between two trees, as readable lines (empty when identical byte for byte). */
export function diffTrees(a: Map<string, Buffer>, b: Map<string, Buffer>): string[] {
  const diffs: string[] = [];
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w) diffs.push(`only in first: ${k}`);
    else if (!plain(k, v).equals(plain(k, w))) diffs.push(`differs: ${k} (${plain(k, v).length} vs ${plain(k, w).length} bytes)`);
  }
  for (const k of b.keys()) if (!a.has(k)) diffs.push(`only in second: ${k}`);
  return diffs;
}
