/**
 * LineCleaner's counters, which checkpoints record and reports show: rejects counted by rule, a
 * rule named by its path with array indices as "*", once per line however often the line breaks it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineCleaner } from '../../src/stages/clean-lines.js';
import type { Sink } from '../../src/sinks/appender.js';
import { compileRules } from '../../src/validate/schema.js';
import type { LineCounts } from '../../src/state/queries.js';

/** A sink that keeps what it is given, in memory. */
function memorySink(): Sink & { text: () => string } {
  const parts: Buffer[] = [];
  return { append: (buf, start = 0, end = buf.length) => void parts.push(Buffer.from(buf.subarray(start, end))), text: () => Buffer.concat(parts).toString() };
}

test('rejects are counted by rule (array indices as *), once per line, with the first lines as examples', () => {
  const rules = compileRules('t', JSON.stringify({ type: 'object', properties: { items: { type: 'array', items: { type: 'object', properties: { x: { type: 'integer' } } } }, n: { type: 'integer' } } }), { maxErrorsPerLine: 10 });
  const counts: LineCounts = { offset: 0, outLen: 0, errLen: 0, lines: 0, valid: 0, rejected: 0, blank: 0, byReason: {}, byRule: {} };
  const out = memorySink();
  const errs = memorySink();
  const cleaner = new LineCleaner(counts, out, errs, { rules, redact: undefined, source: 's', etag: 'e', maxLineBytes: 1 << 20 });
  const lines = [
    '{"items":[{"x":"a"},{"x":"b"}]}', // /items/*/x twice: one count
    '{"items":[{"x":1}],"n":"z"}', // /n
    '{"items":[{"x":1},{"x":2},{"x":"c"}],"n":"y"}', // both rules
    '{"n":1}',
    '{"items":[{"x":"d"}]}',
    'not json',
  ];
  const data = Buffer.from(lines.join('\n') + '\n');
  let offset = 0;
  for (const l of lines) {
    const end = offset + Buffer.byteLength(l);
    cleaner.line(data, offset, end, end + 1, offset, true);
    offset = end + 1;
  }
  cleaner.flush();
  assert.equal(out.text(), '{"n":1}\n');
  assert.deepEqual([counts.lines, counts.valid, counts.rejected], [6, 1, 5]);
  assert.deepEqual(counts.byReason, { schema: 4, invalid_json: 1 });
  const byRule = Object.fromEntries(Object.entries(counts.byRule).map(([rule, f]) => [rule, [f.count, f.examples.map((e) => e.line)]]));
  assert.deepEqual(byRule, { '/items/*/x type': [3, [1, 3, 5]], '/n type': [2, [2, 3]], invalid_json: [1, [6]] });
  assert.equal(errs.text().trimEnd().split('\n').length, 5);
});
