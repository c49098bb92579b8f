/**
 * Shapes the reject record written to errors/: one JSON object per rejected line, saying where the
 * line came from and why it was rejected. Field list documented in README.md.
 */
import { isUtf8 } from 'node:buffer';
import { hasStringSpecial } from './json-scan.js';
import type { Sink } from '../sinks/appender.js';
import type { Rejection } from './classify.js';
import type { Violation } from './schema.js';

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

/** The reject record for a line, as one line of JSON with its "\n" (a Buffer of its own). */
export function rejectRecord(origin: LineOrigin, why: Rejection, bytes: Buffer, extra: { length?: number } = {}, redact?: Redactor): Buffer {
  // Written first: writing may replace `scratch` with a larger buffer.
  const n = writeRecord(origin, why, bytes, extra, redact);
  const record = Buffer.from(scratch.subarray(0, n));
  keepScratchSmall();
  return record;
}

/** Appends the reject record for a line (rejectRecord's bytes) to `sink`, without a Buffer of its own. */
export function appendRejectRecord(sink: Sink, origin: LineOrigin, why: Rejection, bytes: Buffer, extra: { length?: number } = {}, redact?: Redactor): void {
  const n = writeRecord(origin, why, bytes, extra, redact);
  sink.append(scratch, 0, n);
  keepScratchSmall();
}

/**
 * Where a record is written before it is copied out: one per thread. A Buffer and a JSON.stringify
 * of an object for each record made writing them half of what a rejected web event cost (13.4
 * against 8.2 us a record, Xeon VM, 5,900 records of the bench's events).
 */
const SCRATCH_BYTES = 1 << 16;
let scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
let scratchView = new DataView(scratch.buffer, scratch.byteOffset, scratch.length);

/** `scratch`, grown to hold at least `n` bytes. */
function scratchFor(n: number): Buffer {
  if (n > scratch.length) {
    scratch = Buffer.allocUnsafeSlow(Math.max(n, scratch.length * 2));
    scratchView = new DataView(scratch.buffer, scratch.byteOffset, scratch.length);
  }
  return scratch;
}

/** A record of a long line grows `scratch` once: it is not kept at that size. */
function keepScratchSmall(): void {
  if (scratch.length > 16 * SCRATCH_BYTES) {
    scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
    scratchView = new DataView(scratch.buffer, scratch.byteOffset, scratch.length);
  }
}

/** `{"source":…,"etag":…,"line":` for the source and ETag last written: the same for every record of an object. */
let prefix = { source: '', etag: '', text: '{"source":"","etag":"","line":' };

/**
 * Writes the record into `scratch` and returns its length. Its fields are those JSON.stringify of
 * { source, etag, line, offset, reason, message, errors, errors_total, raw, raw_base64, length,
 * truncated } writes, in that order, leaving out the undefined ones; every string goes through
 * JSON.stringify and `raw` is escaped as it escapes: the same bytes.
 */
function writeRecord(origin: LineOrigin, why: Rejection, bytes: Buffer, extra: { length?: number }, redact: Redactor | undefined): number {
  const exact = isUtf8(bytes);
  if (prefix.source !== origin.source || prefix.etag !== origin.etag) {
    prefix = { source: origin.source, etag: origin.etag, text: `{"source":${JSON.stringify(origin.source)},"etag":${JSON.stringify(origin.etag)},"line":` };
  }
  const start = `${prefix.text}${origin.line},"offset":${origin.offset},"reason":${JSON.stringify(why.reason)},"message":${JSON.stringify(clip(why.message, MAX_TEXT))}`;
  let head = start;
  const errors = why.errors;
  if (errors !== undefined) {
    const total = why.errorsTotal ?? errors.length;
    let kept = errors.length;
    head = withErrors(start, errors, kept, total);
    // A record without `raw` stays under 4 KiB, however long the source name or the paths. (A UTF-16
    // unit is at most three bytes: most records need no count of their bytes.)
    while (kept > 0 && head.length * 3 + 1 >= MAX_RECORD_WITHOUT_RAW && Buffer.byteLength(head) + 1 >= MAX_RECORD_WITHOUT_RAW) {
      kept--;
      head = withErrors(start, errors, kept, total);
    }
  }
  head += ',"raw":';
  let tail = '';
  // When the bytes are not valid UTF-8, raw is lossy and raw_base64 exact.
  if (!exact) tail += `,"raw_base64":"${bytes.toString('base64')}"`;
  if (extra.length !== undefined) tail += `,"length":${extra.length},"truncated":true`;
  tail += '}\n';
  if (!exact || redact) {
    const text = bytes.toString('utf8');
    const whole = head + JSON.stringify(redact ? redact(text) : text) + tail;
    return scratchFor(Buffer.byteLength(whole)).write(whole, 0, 'utf8');
  }
  // Room for every byte escaped in two: enough unless a control byte needs six (\u00XX), which a
  // line of JSON cannot hold (a JSON string has none raw); such a line is measured first. Measuring
  // every line first was a second pass over it.
  const n = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, n);
  let out = scratchFor(head.length * 3 + 2 * n + 2 + tail.length);
  let q = copyEscaped(bytes, view, out, scratchView, out.write(head, 0, 'utf8'), false);
  if (q < 0) {
    let room = n;
    for (let i = 0; i < n; i++) {
      const c = bytes[i];
      if (c < 0x20) room += SHORT_ESCAPE[c] === 0 ? 5 : 1;
      else if (c === 0x22 || c === 0x5c) room++;
    }
    out = scratchFor(head.length * 3 + room + 2 + tail.length);
    q = copyEscaped(bytes, view, out, scratchView, out.write(head, 0, 'utf8'), true);
  }
  out[q++] = 0x22;
  return q + out.write(tail, q, 'latin1');
}

/** `start`, then the first `kept` of `errors` and their total: `,"errors":[…],"errors_total":N`. */
function withErrors(start: string, errors: Violation[], kept: number, total: number): string {
  let s = `${start},"errors":[`;
  for (let k = 0; k < kept; k++) {
    const e = errors[k];
    s += `${k === 0 ? '' : ','}{"path":${JSON.stringify(clip(e.path, MAX_TEXT))},"keyword":${JSON.stringify(clip(e.keyword, 60))},"message":${JSON.stringify(clip(e.message, MAX_TEXT))}}`;
  }
  return `${s}],"errors_total":${total}`;
}

/**
 * `"`, then `bytes` escaped as JSON.stringify escapes a string's characters, written into `out`
 * (seen through `outView`) from `p`: the index after them (the closing quote is the caller's).
 * `measured`: `out` was sized for exactly these escapes; else it has two bytes for each, and a
 * control byte that needs six makes it return -1 (with `out` half written).
 */
function copyEscaped(bytes: Buffer, view: DataView, out: Buffer, outView: DataView, p: number, measured: boolean): number {
  const n = bytes.length;
  out[p++] = 0x22;
  for (let i = 0; i < n; ) {
    // Four bytes a step while none needs escaping; else those four one by one.
    if (i + 4 <= n) {
      const x = view.getInt32(i, true);
      if (!hasStringSpecial(x)) {
        outView.setInt32(p, x, true);
        p += 4;
        i += 4;
        continue;
      }
    }
    for (const stop = Math.min(i + 4, n); i < stop; i++) {
      const c = bytes[i];
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
        out[p++] = c;
        continue;
      }
      out[p++] = 0x5c;
      if (c >= 0x20) out[p++] = c;
      else if (SHORT_ESCAPE[c] !== 0) out[p++] = SHORT_ESCAPE[c];
      else {
        // Six bytes for one: the room reserved may not hold them and what follows.
        if (!measured) return -1;
        // \u00XX with lower-case hex digits, as JSON.stringify writes it.
        out[p++] = 0x75;
        out[p++] = 0x30;
        out[p++] = 0x30;
        out[p++] = HEX[c >> 4];
        out[p++] = HEX[c & 15];
      }
    }
  }
  return p;
}

/** For each control character, the letter of its two-character JSON escape (\b \t \n \f \r), or 0. */
const SHORT_ESCAPE = new Uint8Array(0x20);
SHORT_ESCAPE[0x08] = 0x62;
SHORT_ESCAPE[0x09] = 0x74;
SHORT_ESCAPE[0x0a] = 0x6e;
SHORT_ESCAPE[0x0c] = 0x66;
SHORT_ESCAPE[0x0d] = 0x72;
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/**
 * Where the line number starts in every reject record of `source` and `etag`: the byte length of
 * `{"source":…,"etag":…,"line":`. Records are made with their fields in that order (rejectRecord),
 * so a record written with a line number counted from a block's start can be renumbered in place.
 */
export function lineNumberAt(source: string, etag: string): number {
  return Buffer.byteLength(`{"source":${JSON.stringify(source)},"etag":${JSON.stringify(etag)},"line":`);
}
