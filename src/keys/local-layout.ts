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
