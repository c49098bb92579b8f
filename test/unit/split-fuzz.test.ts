/**
 * Property tests for splitting + classifying, against a reference written independently of the
 * streaming code: the whole input in memory, split on "\n", UTF-8 checked with a fatal
 * TextDecoder, parsed with JSON.parse. Runs FUZZ_RUNS cases per property (default 300; `npm run
 * fuzz` runs 20,000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineSplitter } from '../../src/lines/splitter.js';
import { classify } from '../../src/validate/classify.js';
import { compileRules } from '../../src/validate/schema.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const PERMISSIVE = compileRules('t', '{}');
const BOM = [0xef, 0xbb, 0xbf];

// ---------------------------------------------------------------- generators

const ascii = (s: string) => [...Buffer.from(s)];
/** Pieces that make line structure, JSON-ish text, BOM bytes and broken UTF-8 likely. */
const token = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...['\n', '\r\n', '\r', ' ', '\t', '\v', '\f', '{', '}', '"', ':', ',', '[', ']', '1', 'a', '\\'].map(ascii)) },
  { weight: 5, arbitrary: fc.constantFrom(...['{}', '{"a":1}', '{"k":"v","n":[1,2]}', ' { "x" : null } ', '[]', '"s"', '42', 'null', 'true', '{"a":"\\u0000"}', '{"é":"€"}'].map(ascii)) },
  { weight: 2, arbitrary: fc.constantFrom(BOM, [0xef], [0xbb], [0xbf], [0xef, 0xbb]) },
  // Overlong encodings, encoded surrogates, lone continuations, truncated sequences, bytes never in UTF-8.
  { weight: 2, arbitrary: fc.constantFrom([0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0x80], [0xc3], [0xe2, 0x82], [0xff], [0xf5, 0x80, 0x80, 0x80], [0xf0, 0x9f, 0x98, 0x80]) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).map((b) => [b]) },
);

/** One line's worth: a whole JSON text (mostly objects), or a run of tokens. */
const lineBody = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...['{}', '{"a":1}', '{"s":"x\ty","n":-1.5e3,"b":[true,null]}', '[{"a":1}]', '{"a":"\ud83d\ude00"}'].map(ascii)) },
  { weight: 3, arbitrary: fc.array(token, { maxLength: 10 }).map((t) => t.flat()) },
);
const terminator = fc.constantFrom(ascii('\n'), ascii('\r\n'), ascii('\n'), ascii('\r'), []);

/** An input: optionally a BOM, then lines (whose terminators and tokens may merge or split them). */
const input = fc
  .tuple(fc.boolean(), fc.array(fc.tuple(lineBody, terminator), { maxLength: 30 }))
  .map(([bom, lines]) => Buffer.from([...(bom ? BOM : []), ...lines.flatMap(([b, t]) => [...b, ...t])]));

/** Cut points (any, including repeated ones: empty chunks) to turn an input into chunks. */
const cuts = fc.array(fc.nat(), { maxLength: 12 });

function chunked(data: Buffer, cutPoints: number[]): Buffer[] {
  const points = cutPoints.map((c) => (data.length ? c % (data.length + 1) : 0)).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(data.subarray(prev, p));
    prev = p;
  }
  out.push(data.subarray(prev));
  return out;
}

// ---------------------------------------------------------------- the product

interface Line {
  /** Content bytes for a whole line; the head for an overlong one. */
  content: Buffer;
  /** Content plus terminator; null for an overlong line (not held). */
  full: Buffer | null;
  contentLength: number;
  totalLength: number;
  offset: number;
  /** What the product decides: null valid, 'blank', or a reject reason. */
  verdict: string | null;
}

function product(chunks: Buffer[], maxLineBytes: number, headBytes?: number): { lines: Line[]; bomStripped: number } {
  const lines: Line[] = [];
  const s = new LineSplitter(
    {
      line(buf, start, contentEnd, end, offset) {
        const v = classify(buf, start, contentEnd, PERMISSIVE); // an exception here fails the property
        lines.push({
          content: Buffer.from(buf.subarray(start, contentEnd)),
          full: Buffer.from(buf.subarray(start, end)),
          contentLength: contentEnd - start,
          totalLength: end - start,
          offset,
          verdict: v === null ? null : v === 'blank' ? 'blank' : v.reason,
        });
      },
      overlong(head, contentLength, totalLength, offset) {
        lines.push({ content: Buffer.from(head), full: null, contentLength, totalLength, offset, verdict: 'line_too_long' });
      },
    },
    { maxLineBytes, headBytes },
  );
  for (const c of chunks) s.push(c);
  s.end();
  const first = lines.length ? lines[0].offset : s.offset;
  return { lines, bomStripped: first };
}

// ---------------------------------------------------------------- the reference

interface RefLine {
  content: Buffer;
  full: Buffer;
  offset: number;
  verdict: 'valid' | 'blank' | 'rejected';
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Splits and classifies the whole input at once, the obvious way. */
function reference(data: Buffer): { lines: RefLine[]; bom: boolean } {
  const bom = data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf;
  const lines: RefLine[] = [];
  let pos = bom ? 3 : 0;
  while (pos < data.length) {
    const nl = data.indexOf(0x0a, pos);
    const end = nl === -1 ? data.length : nl + 1;
    let contentEnd = nl === -1 ? data.length : nl;
    if (contentEnd > pos && data[contentEnd - 1] === 0x0d) contentEnd--;
    const content = data.subarray(pos, contentEnd);
    let verdict: RefLine['verdict'];
    if (/^[ \t\r\v\f]*$/.test(content.toString('latin1'))) verdict = 'blank';
    else {
      try {
        const v = JSON.parse(strictUtf8.decode(content));
        verdict = v !== null && typeof v === 'object' && !Array.isArray(v) ? 'valid' : 'rejected';
      } catch {
        verdict = 'rejected';
      }
    }
    lines.push({ content, full: data.subarray(pos, end), offset: pos, verdict });
    pos = end;
  }
  return { lines, bom };
}

const params = { numRuns: RUNS };

test(`fuzz: ${RUNS} runs per property (FUZZ_RUNS)`, (t) => {
  t.diagnostic(`fast-check numRuns = ${RUNS} per property`);
  assert.ok(Number.isInteger(RUNS) && RUNS > 0, `FUZZ_RUNS must be a positive integer, got ${process.env.FUZZ_RUNS}`);
});

test('(a) lines plus the stripped BOM reproduce the input byte for byte, at the offsets reported', () => {
  fc.assert(
    fc.property(input, cuts, (data, cp) => {
      const { lines, bomStripped } = product(chunked(data, cp), 1 << 20);
      const hasBom = data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf;
      assert.equal(bomStripped, hasBom ? 3 : 0, 'the BOM is stripped exactly when the input starts with one');
      const rebuilt = Buffer.concat([data.subarray(0, bomStripped), ...lines.map((l) => l.full!)]);
      assert.deepEqual(rebuilt, data);
      let at = bomStripped;
      for (const l of lines) {
        assert.equal(l.offset, at);
        at += l.totalLength;
      }
    }),
    params,
  );
});

test('(a) with overlong lines: lengths still add up, and every line matches the reference', () => {
  fc.assert(
    fc.property(input, cuts, fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 30 }), (data, cp, max, head) => {
      const { lines, bomStripped } = product(chunked(data, cp), max, head);
      const ref = reference(data);
      assert.equal(bomStripped, ref.bom ? 3 : 0);
      assert.equal(bomStripped + lines.reduce((n, l) => n + l.totalLength, 0), data.length);
      assert.equal(lines.length, ref.lines.length);
      lines.forEach((l, i) => {
        const r = ref.lines[i];
        assert.equal(l.offset, r.offset);
        assert.equal(l.totalLength, r.full.length);
        assert.equal(l.contentLength, r.content.length);
        if (r.content.length > max) {
          assert.equal(l.verdict, 'line_too_long');
          assert.deepEqual(l.content, r.content.subarray(0, Math.min(head, max)), 'the head is the first headBytes bytes');
        } else {
          assert.notEqual(l.verdict, 'line_too_long');
          assert.deepEqual(l.full, r.full);
        }
      });
    }),
    params,
  );
});

test('(b) every line is counted once: lines = valid + rejected + blank, and classify never throws', () => {
  fc.assert(
    fc.property(input, cuts, fc.integer({ min: 1, max: 64 }), (data, cp, max) => {
      const { lines } = product(chunked(data, cp), max);
      const ref = reference(data);
      const valid = lines.filter((l) => l.verdict === null).length;
      const blank = lines.filter((l) => l.verdict === 'blank').length;
      const rejected = lines.filter((l) => l.verdict !== null && l.verdict !== 'blank').length;
      assert.equal(lines.length, ref.lines.length);
      assert.equal(valid + rejected + blank, ref.lines.length);
      for (const l of lines) {
        assert.ok(l.verdict === null || ['blank', 'invalid_utf8', 'invalid_json', 'not_object', 'line_too_long'].includes(l.verdict), `unexpected verdict ${l.verdict}`);
      }
    }),
    params,
  );
});

test('(c) the valid lines, concatenated, are exactly the lines the reference accepts', (t) => {
  const seen = { valid: 0, blank: 0, rejected: 0 };
  fc.assert(
    fc.property(input, cuts, (data, cp) => {
      const { lines } = product(chunked(data, cp), 1 << 20);
      const ref = reference(data);
      for (const l of ref.lines) seen[l.verdict]++;
      const got = Buffer.concat(lines.filter((l) => l.verdict === null).map((l) => l.full!));
      const want = Buffer.concat(ref.lines.filter((l) => l.verdict === 'valid').map((l) => l.full));
      assert.deepEqual(got, want);
      // And line by line, blank agrees with blank and rejected with rejected.
      assert.deepEqual(
        lines.map((l) => (l.verdict === null ? 'valid' : l.verdict === 'blank' ? 'blank' : 'rejected')),
        ref.lines.map((l) => l.verdict),
      );
    }),
    params,
  );
  t.diagnostic(`lines seen: ${JSON.stringify(seen)}`);
  // The generator must actually produce all three kinds, or this property checks nothing.
  assert.ok(seen.valid > 0 && seen.blank > 0 && seen.rejected > 0, JSON.stringify(seen));
});

test('(d) chunking does not change the result: random chunks = one push = 1-byte pushes', () => {
  const view = (r: ReturnType<typeof product>) => ({ bom: r.bomStripped, lines: r.lines.map((l) => ({ ...l, content: l.content.toString('hex'), full: l.full?.toString('hex') ?? null })) });
  fc.assert(
    fc.property(input, cuts, fc.integer({ min: 1, max: 40 }), (data, cp, max) => {
      const whole = view(product([data], max, 8));
      assert.deepEqual(view(product(chunked(data, cp), max, 8)), whole);
      assert.deepEqual(view(product([...data].map((b) => Buffer.from([b])), max, 8)), whole);
    }),
    params,
  );
});
