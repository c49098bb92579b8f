/**
 * A reject record is exactly the JSON.stringify of its fields, in the documented order, whatever
 * bytes the rejected line holds: rejectRecord writes `raw` straight from the line's bytes, so this
 * pins it to what JSON.stringify of the decoded text would give.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { appendRejectRecord, rejectRecord, type Redactor } from '../../src/validate/reject.js';
import { MemorySink } from '../../src/sinks/memory-sink.js';
import type { Rejection } from '../../src/validate/classify.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/** The record as the README describes it, made the obvious way. */
function expected(origin: { source: string; etag: string; line: number; offset: number }, why: Rejection, bytes: Buffer, length?: number, redact?: Redactor): Buffer {
  const text = bytes.toString('utf8');
  const clip = (s: string, max: number) => (s.length <= max ? s : s.slice(0, max - 1) + '…');
  const record: Record<string, unknown> = { ...origin, reason: why.reason, message: clip(why.message, 300) };
  if (why.errors) {
    const errors = why.errors.map((e) => ({ path: clip(e.path, 300), keyword: clip(e.keyword, 60), message: clip(e.message, 300) }));
    Object.assign(record, { errors, errors_total: why.errorsTotal ?? why.errors.length });
    // Without raw, under 4 KiB: the last errors go first.
    while (errors.length > 0 && Buffer.byteLength(JSON.stringify(record)) >= 4096) errors.pop();
  }
  record.raw = redact ? redact(text) : text;
  if (!isValidUtf8(bytes)) record.raw_base64 = bytes.toString('base64');
  if (length !== undefined) Object.assign(record, { length, truncated: true });
  return Buffer.from(JSON.stringify(record) + '\n');
}

function isValidUtf8(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8')).equals(bytes);
}

const SCHEMA: Rejection = { reason: 'schema', message: '/a must be integer', errors: [{ path: '/a', keyword: 'type', message: 'must be integer' }], errorsTotal: 2 };
const NOT_JSON: Rejection = { reason: 'invalid_json', message: 'Unexpected token' };

test('a reject record holds every byte of the line as JSON.stringify writes it: quotes, backslashes, every control character, non-ASCII text', () => {
  const all = Buffer.from([...Array.from({ length: 0x80 }, (_, i) => i), ...Buffer.from('é€😀\u2028\u2029"\\')]);
  for (const why of [SCHEMA, NOT_JSON]) {
    const origin = { source: 'events/ünï "q".jsonl', etag: '"abc"', line: 7, offset: 1234 };
    assert.deepEqual(rejectRecord(origin, why, all).toString(), expected(origin, why, all).toString());
    assert.deepEqual(rejectRecord(origin, why, all, { length: 99 }).toString(), expected(origin, why, all, 99).toString());
  }
});

test('a reject record equals JSON.stringify of its fields for any line, valid UTF-8 or not, redacted or not', () => {
  const redact: Redactor = (raw) => raw.replace(/a/g, '*');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.string(), fc.boolean(), fc.boolean(), (bytes, source, useRedact, overlong) => {
      const buf = Buffer.from(bytes);
      const origin = { source, etag: 'e', line: 1, offset: 0 };
      const r = useRedact ? redact : undefined;
      const length = overlong ? 5000 : undefined;
      assert.equal(rejectRecord(origin, SCHEMA, buf, { length }, r).toString('latin1'), expected(origin, SCHEMA, buf, length, r).toString('latin1'));
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (text) => {
      const buf = Buffer.from(text);
      const origin = { source: 's', etag: 'e', line: 1, offset: 0 };
      assert.equal(rejectRecord(origin, NOT_JSON, buf).toString(), expected(origin, NOT_JSON, buf).toString());
    }),
    { numRuns: RUNS },
  );
});

test('a reject record escapes a quote, a backslash or a control byte at any position of a line, wherever the line starts in its chunk', () => {
  const origin = { source: 's', etag: 'e', line: 1, offset: 0 };
  for (const special of [0x22, 0x5c, 0x0a, 0x01, 0x1f]) {
    for (let at = 0; at < 13; at++) {
      for (let start = 0; start < 4; start++) {
        const chunk = Buffer.alloc(start + 13, 'é-abcdefgh'.repeat(4));
        const line = chunk.subarray(start, start + 13);
        if (!isValidUtf8(line)) continue;
        line[at] = special;
        if (!isValidUtf8(line)) continue;
        assert.equal(rejectRecord(origin, SCHEMA, line).toString(), expected(origin, SCHEMA, line).toString(), `byte ${special} at ${at}, line at ${start}`);
      }
    }
  }
});

test('a reject record keeps its violations\' texts clipped and itself under 4 KiB without raw, as JSON.stringify of the clipped fields gives it, whatever the texts hold', () => {
  const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 400 }), fc.constantFrom('/a/0/b', 'must match format "date"', 'x'.repeat(299), 'é'.repeat(301), '"\\\n'));
  const violation = fc.record({ path: text, keyword: text, message: text });
  const why = fc.record({ message: text, errors: fc.array(violation, { maxLength: 14 }), total: fc.option(fc.nat(50), { nil: undefined }) });
  fc.assert(
    fc.property(why, text, text, fc.nat(), (w, source, etag, line) => {
      const r: Rejection = { reason: 'schema', message: w.message, errors: w.errors, errorsTotal: w.total };
      const origin = { source, etag, line, offset: line * 7 };
      const bytes = Buffer.from('{"a":1}');
      const got = rejectRecord(origin, r, bytes);
      assert.equal(got.toString(), expected(origin, r, bytes).toString());
      const { raw: _raw, ...rest } = JSON.parse(got.toString()) as Record<string, unknown>;
      assert.ok(Buffer.byteLength(JSON.stringify(rest)) < 4096 || (rest.errors as unknown[]).length === 0);
    }),
    { numRuns: RUNS },
  );
});

test('a reject record drops a violation exactly when keeping it would make the record without raw 4 KiB or more', () => {
  const bytes = Buffer.from('{"a":1}');
  let dropped = 0;
  for (let n = 3850; n < 4100; n++) {
    const origin = { source: 's'.repeat(n), etag: 'e', line: 1, offset: 0 };
    const got = rejectRecord(origin, SCHEMA, bytes);
    assert.equal(got.toString(), expected(origin, SCHEMA, bytes).toString(), `source of ${n} bytes`);
    if ((JSON.parse(got.toString()) as { errors: unknown[] }).errors.length === 0) dropped++;
  }
  // Both sides of the boundary were reached.
  assert.ok(dropped > 0 && dropped < 250, `${dropped}`);
});

test('records appended to a sink are the bytes rejectRecord gives, one after the other, across sources, a record longer than a megabyte and a line with a control byte', () => {
  const sink = new MemorySink(16);
  const want: Buffer[] = [];
  const lines = [
    Buffer.from('{"a":"x"}'),
    Buffer.from('{"a":"\u00e9"}'),
    Buffer.from('{"a":"' + 'q"'.repeat(700_000) + '"}'),
    Buffer.from([0x7b, 0x01, 0x7d]),
    Buffer.from([0xff, 0x22]),
    Buffer.from('{"a":"y"}'),
  ];
  for (const [k, bytes] of lines.entries()) {
    const origin = { source: k % 2 === 0 ? 's3://b/a.jsonl' : 'dir/\u00e9 "b".jsonl', etag: String(k % 3), line: k + 1, offset: 10 * k };
    const why = k % 2 === 0 ? SCHEMA : NOT_JSON;
    appendRejectRecord(sink, origin, why, bytes);
    want.push(expected(origin, why, bytes));
  }
  assert.ok(Buffer.from(sink.bytes()).equals(Buffer.concat(want)));
});
