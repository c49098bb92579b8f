/**
 * LineCleaner's counters, which checkpoints record and reports show: rejects counted by rule, a
 * rule named by its path with array indices as "*", once per line however often the line breaks it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineCleaner } from '../../src/stages/clean-lines.js';
import type { Sink } from '../../src/sinks/appender.js';
import { compileRules } from '../../src/validate/schema.js';
import { rejectionOf } from '../../src/validate/classify.js';
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

test('lines behind one explained on another thread wait for it: output, records, counts and line numbers are as if explained in place', () => {
  const schema = JSON.stringify({ type: 'object', required: ['id'], properties: { id: { type: 'string' }, n: { type: 'integer' } } });
  const plain = compileRules('t', schema, { maxErrorsPerLine: 10 });
  const elsewhere = compileRules('t', schema, { maxErrorsPerLine: 10 });
  // Stands in for the other thread (explain-desk.ts has its own test with real threads): some answers
  // come back after a few polls, some never until collected, some are given back or say "nothing
  // found" (both classified here then), some lines find no slot.
  let asked = 0;
  let out = 0;
  let most = 0;
  elsewhere.explainLater = (line) => {
    const n = asked++;
    if (n % 9 === 8) return undefined;
    const text = line.toString();
    out++;
    most = Math.max(most, out);
    let polls = 0;
    return {
      ready: () => n % 3 !== 0 && ++polls > n % 4,
      collect: () => {
        out--;
        return n % 5 === 4 ? undefined : n % 7 === 3 ? null : rejectionOf(Buffer.from(text), plain);
      },
    };
  };
  const random = mulberry(11);
  const kinds = ['{"id":"a","n":1}', '{"n":2}', '{"id":3}', '{"id":"b","n":"x"}', 'not json', '   ', '{"id":"c"}', '[1]'];
  const lines = Array.from({ length: 400 }, (_, i) => (i % 37 === 36 ? null : kinds[Math.floor(random() * kinds.length)]));
  for (const keptRuns of [false, true]) {
    const feed = (rules: typeof plain) => {
      const counts: LineCounts = { offset: 0, outLen: 0, errLen: 0, lines: 0, valid: 0, rejected: 0, blank: 0, byReason: {}, byRule: {} };
      const sinks = { out: memorySink(), errs: memorySink(), runs: [] as number[] };
      const cleaner = new LineCleaner(counts, keptRuns ? null : sinks.out, sinks.errs, { rules, redact: undefined, source: 's', etag: 'e', maxLineBytes: 100, keptRuns: keptRuns ? sinks.runs : undefined });
      // One buffer, reused for every chunk of 13 lines as the reader does: what is held must be a copy.
      const chunk = Buffer.alloc(4096);
      let offset = 0;
      for (let from = 0; from < lines.length; from += 13) {
        let at = 0;
        for (const l of lines.slice(from, from + 13)) {
          if (l === null) {
            cleaner.overlong(Buffer.from('{"long":'), 500, 501, offset);
            offset += 501;
            continue;
          }
          const end = at + chunk.write(l, at);
          chunk[end] = 0x0a;
          cleaner.line(chunk, at, end, end + 1, offset, true);
          offset += end + 1 - at;
          at = end + 1;
        }
        cleaner.flush();
        chunk.fill(0x78);
      }
      cleaner.drain();
      return { counts, out: sinks.out.text(), errs: sinks.errs.text(), runs: sinks.runs };
    };
    const inPlace = feed(plain);
    const deferred = feed(elsewhere);
    assert.equal(deferred.out, inPlace.out);
    assert.equal(deferred.errs, inPlace.errs);
    assert.deepEqual(deferred.counts, inPlace.counts);
    // The same bytes kept (a held line may extend a range the chunk's end would have closed).
    assert.deepEqual(merged(deferred.runs), merged(inPlace.runs));
    assert.ok(inPlace.counts.rejected > 100 && inPlace.counts.valid > 50, JSON.stringify(inPlace.counts));
  }
  assert.ok(asked > 200, `${asked} lines were handed over`);
  assert.equal(out, 0, 'every line handed over was collected');
  assert.ok(most <= 8, `at most 8 lines out at once, saw ${most}`);
});

/** [start, end) pairs with adjacent ones joined. */
function merged(runs: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs.length; i += 2) {
    if (out.length > 0 && out[out.length - 1] === runs[i]) out[out.length - 1] = runs[i + 1];
    else out.push(runs[i], runs[i + 1]);
  }
  return out;
}

/** A small seeded PRNG: the same lines every run. */
function mulberry(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('a clean that ends early takes back every line it had out with another thread, and writes nothing more', () => {
  const schema = JSON.stringify({ type: 'object', required: ['id'] });
  const rules = compileRules('t', schema, { maxErrorsPerLine: 10 });
  let out = 0;
  // Answers that never come back on their own: only collecting takes them back.
  rules.explainLater = () => {
    out++;
    return { ready: () => false, collect: () => (out--, null) };
  };
  const counts: LineCounts = { offset: 0, outLen: 0, errLen: 0, lines: 0, valid: 0, rejected: 0, blank: 0, byReason: {}, byRule: {} };
  const sinks = { out: memorySink(), errs: memorySink() };
  const cleaner = new LineCleaner(counts, sinks.out, sinks.errs, { rules, redact: undefined, source: 's', etag: 'e', maxLineBytes: 100 });
  const data = Buffer.from('{"id":1}\n{"n":1}\n{"id":2}\n{"n":2}\n{"id":3}\n');
  let at = 0;
  for (;;) {
    const nl = data.indexOf(0x0a, at);
    if (nl < 0) break;
    cleaner.line(data, at, nl, nl + 1, at, true);
    at = nl + 1;
  }
  cleaner.flush();
  assert.equal(out, 2, 'two rejects are out');
  assert.equal(sinks.out.text(), '{"id":1}\n', 'what follows the first reject is held');
  cleaner.release();
  assert.equal(out, 0, 'both taken back');
  cleaner.drain();
  assert.equal(sinks.out.text(), '{"id":1}\n');
  assert.equal(sinks.errs.text(), '');
});
