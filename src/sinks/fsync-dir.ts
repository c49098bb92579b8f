import { closeSync, fsyncSync, openSync } from 'node:fs';

/** Makes a rename in `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
