/** Writes the metrics file for node_exporter's textfile collector, atomically. */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { fsyncDir } from '../sinks/fsync-dir.js';

/**
 * Replaces `path` with `text` through a temp file and a rename, so the collector (which reads every
 * `*.prom` file on each scrape) never sees a half-written file; the temp name does not end in .prom.
 */
export function writeMetricsFile(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}
