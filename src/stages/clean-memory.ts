/**
 * Cleans an object held in memory (a small GET): the same line rules as a clean from a file
 * (clean-file.ts), its kept lines and reject records gathered in memory, for the caller to write.
 */
import { LineSplitter } from '../lines/splitter.js';
import { MemorySink } from '../sinks/memory-sink.js';
import type { LineCounts, ObjectRow } from '../state/queries.js';
import { rulesFor, redactorFor, type CleanTask } from './clean-file.js';
import { LineCleaner } from './clean-lines.js';

/** What an object's bytes came to: its counters, its output and its reject records, and the rules' hash. */
export interface CleanedBytes {
  counts: LineCounts;
  out: Uint8Array;
  errs: Uint8Array;
  rulesHash: string;
}

/** Cleans `body`, the whole of `row`'s listed version (not gzip). */
export function cleanBytes(task: CleanTask, row: ObjectRow, body: Buffer): CleanedBytes {
  const rules = rulesFor(task);
  const counts: LineCounts = { lines: 0, valid: 0, rejected: 0, blank: 0, byReason: {}, byRule: {} };
  const out = new MemorySink(body.length);
  const errs = new MemorySink(256);
  const cleaner = new LineCleaner(counts, out, errs, { rules, redact: redactorFor(task), source: task.sourceName, etag: row.etag, maxLineBytes: task.maxLineBytes });
  const splitter = new LineSplitter(cleaner, { maxLineBytes: task.maxLineBytes });
  splitter.push(body);
  cleaner.flush();
  splitter.end();
  cleaner.drain();
  return { counts, out: out.bytes(), errs: errs.bytes(), rulesHash: rules.hash };
}
