/**
 * Shapes the reject record written to errors/: one JSON object per rejected line, saying where the
 * line came from and why it was rejected. Field list documented in README.md.
 */
import { isUtf8 } from 'node:buffer';
import type { Rejection } from './classify.js';

/** The budget of a reject record without its `raw` (and `raw_base64`): 4 KiB. */
export const MAX_RECORD_WITHOUT_RAW = 4096;
/** Characters kept of one message or path: ten of them fit the budget with room for the rest. */
const MAX_TEXT = 300;

function clip(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

/** Where a line came from. */
export interface LineOrigin {
  source: string;
  etag: string;
  line: number;
  offset: number;
}

/** Masks the named top-level fields of a JSON line for `raw`, when the line parses as an object. */
export type Redactor = (raw: string) => string;

/** The reject record for a line, as one line of JSON with its "\n". */
export function rejectRecord(origin: LineOrigin, why: Rejection, bytes: Buffer, extra: { length?: number } = {}, redact?: Redactor): Buffer {
  const exact = isUtf8(bytes);
  const text = bytes.toString('utf8');
  const record: Record<string, unknown> = {
    source: origin.source,
    etag: origin.etag,
    line: origin.line,
    offset: origin.offset,
    reason: why.reason,
    message: clip(why.message, MAX_TEXT),
  };
  if (why.errors) {
    record.errors = why.errors.map((e) => ({ path: clip(e.path, MAX_TEXT), keyword: clip(e.keyword, 60), message: clip(e.message, MAX_TEXT) }));
    record.errors_total = why.errorsTotal ?? why.errors.length;
    // A record without `raw` stays under 4 KiB, however long the source name or the paths.
    const errors = record.errors as unknown[];
    while (errors.length > 0 && Buffer.byteLength(JSON.stringify(record)) >= MAX_RECORD_WITHOUT_RAW) errors.pop();
  }
  // raw is the line as text; when the bytes are not valid UTF-8, raw is lossy and raw_base64 exact.
  record.raw = redact ? redact(text) : text;
  if (!exact) record.raw_base64 = bytes.toString('base64');
  if (extra.length !== undefined) {
    record.length = extra.length;
    record.truncated = true;
  }
  return Buffer.from(JSON.stringify(record) + '\n');
}

/**
 * Where the line number starts in every reject record of `source` and `etag`: the byte length of
 * `{"source":…,"etag":…,"line":`. Records are made with their fields in that order (rejectRecord),
 * so a record written with a line number counted from a block's start can be renumbered in place.
 */
export function lineNumberAt(source: string, etag: string): number {
  return Buffer.byteLength(`{"source":${JSON.stringify(source)},"etag":${JSON.stringify(etag)},"line":`);
}
