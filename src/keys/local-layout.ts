/**
 * Where an object's files live under the local dir: its downloaded input, its published output
 * (or quarantine) and errors, and the partial files they are written to before a rename publishes
 * them. `relPath` is the object's safe relative path (local-path.ts).
 */
import { join } from 'node:path';

/** The paths of one object's files. */
export interface ObjectPaths {
  input: string;
  partialInput: string;
  output: string;
  quarantine: string;
  errors: string;
  partialOutput: string;
  partialErrors: string;
}

/** Paths of an object's files under the local dir. */
export function objectPaths(localDir: string, relPath: string): ObjectPaths {
  return {
    input: join(localDir, 'input', relPath),
    partialInput: join(localDir, '.cleaner', 'partial', 'input', relPath),
    output: join(localDir, 'output', relPath),
    quarantine: join(localDir, 'quarantine', relPath),
    errors: join(localDir, 'errors', relPath),
    partialOutput: join(localDir, '.cleaner', 'partial', 'output', relPath),
    partialErrors: join(localDir, '.cleaner', 'partial', 'errors', relPath),
  };
}

/**
 * The file an object is cleaned from, and how reject records and loaded rows name it: for an S3
 * source its download under the local dir and its s3:// URL; for a local source the file itself.
 */
export function objectSource(
  run: { kind: 's3' | 'local'; bucket: string | null; source: string; local_dir: string },
  row: { key: string; rel_path: string },
  sourceIsFile: boolean,
): { inputPath: string; sourceName: string } {
  if (run.kind === 's3') return { inputPath: objectPaths(run.local_dir, row.rel_path).input, sourceName: `s3://${run.bucket}/${row.key}` };
  const file = sourceIsFile ? run.source : join(run.source, row.key);
  return { inputPath: file, sourceName: file };
}
