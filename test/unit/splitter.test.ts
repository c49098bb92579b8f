/**
 * LineSplitter: the promises of README "Lines" at the byte level — what a line is, where its
 * terminator ends, where the BOM goes, what an overlong line reports, and that `offset` is a
 * resume point that loses and repeats nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, type SplitterOptions } from '../../src/lines/splitter.js';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

type Ev =
  | { kind: 'line'; content: string; full: string; offset: number }
  | { kind: 'overlong'; head: string; contentLength: number; totalLength: number; offset: number };

/** Events as hex-free comparable records ("latin1" keeps every byte as one char). */
interface Result {
  events: Ev[];
  /** `splitter.offset` after `end()`. */
  offset: number;
}

function bytes(x: Buffer | string): Buffer {
  return typeof x === 'string' ? Buffer.from(x, 'latin1') : x;
}

/** Splits `input` fed as `chunks` (a size, or explicit sizes cycled) and returns every event. */
function split(input: Buffer | string, opts: Partial<SplitterOptions> = {}, chunk: number | number[] = Infinity): Result {
  const data = bytes(input);
  const events: Ev[] = [];
  const s = new LineSplitter(
    {
      line(buf, start, contentEnd, end, offset) {
        events.push({ kind: 'line', content: buf.subarray(start, contentEnd).toString('latin1'), full: buf.subarray(start, end).toString('latin1'), offset });
      },
      overlong(head, contentLength, totalLength, offset) {
        events.push({ kind: 'overlong', head: head.toString('latin1'), contentLength, totalLength, offset });
      },
    },
    { maxLineBytes: 1 << 20, ...opts },
  );
  const sizes = Array.isArray(chunk) ? chunk : [chunk];
  let pos = 0;
  for (let i = 0; pos < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length], data.length - pos);
    s.push(data.subarray(pos, pos + n));
    pos += n;
  }
  s.end();
  return { events, offset: s.offset };
}

const line = (content: string, full: string, offset: number): Ev => ({ kind: 'line', content, full, offset });

/** Every line's `full` bytes sit in the input at its `offset`: offsets are absolute byte offsets. */
function assertOffsetsAbsolute(input: Buffer | string, events: Ev[]): void {
  const data = bytes(input);
  for (const e of events) {
    if (e.kind === 'line') assert.equal(data.subarray(e.offset, e.offset + e.full.length).toString('latin1'), e.full, `line at ${e.offset}`);
    else assert.equal(data.subarray(e.offset, e.offset + e.head.length).toString('latin1'), e.head, `overlong at ${e.offset}`);
  }
}

/** The same events whatever the chunking: whole, 1 byte, 2 bytes, 3 bytes, and uneven sizes. */
function splitEveryWay(input: Buffer | string, opts: Partial<SplitterOptions> = {}): Result {
  const whole = split(input, opts);
  for (const c of [1, 2, 3, [1, 4, 2, 7]]) assert.deepEqual(split(input, opts, c), whole, `chunking ${JSON.stringify(c)}`);
  assertOffsetsAbsolute(input, whole.events);
  return whole;
}

test('CRLF: "\\r\\n" is the terminator, not content, also when split between chunks', () => {
  const r = splitEveryWay('{"a":1}\r\n{"b":2}\r\n');
  assert.deepEqual(r.events, [line('{"a":1}', '{"a":1}\r\n', 0), line('{"b":2}', '{"b":2}\r\n', 9)]);
  assert.equal(r.offset, 18);
});

test('a lone CR is content; only the CR right before "\\n" (or at the very end) is a terminator', () => {
  const r = splitEveryWay('a\rb\n\r\r\nc\r');
  assert.deepEqual(r.events, [line('a\rb', 'a\rb\n', 0), line('\r', '\r\r\n', 4), line('c', 'c\r', 7)]);
  assert.equal(r.offset, 9);
  // A line that is only "\r" at the very end: empty content.
  assert.deepEqual(splitEveryWay('x\n\r').events, [line('x', 'x\n', 0), line('', '\r', 2)]);
});

test('a BOM at byte 0 belongs to no line: the first line starts at offset 3', () => {
  const input = Buffer.concat([BOM, bytes('{"a":1}\n{}\n')]);
  const r = splitEveryWay(input); // includes 1-byte pushes: the BOM split over three pushes
  assert.deepEqual(r.events, [line('{"a":1}', '{"a":1}\n', 3), line('{}', '{}\n', 11)]);
  assert.equal(r.offset, input.length);
});

test('a BOM split as EF | BB BF and as EF BB | BF is still stripped', () => {
  const input = Buffer.concat([BOM, bytes('{}')]);
  for (const sizes of [[1, 2, 100], [2, 1, 100], [1, 1, 1, 100]]) {
    assert.deepEqual(split(input, {}, sizes).events, [line('{}', '{}', 3)], JSON.stringify(sizes));
  }
});

test('empty chunks before the BOM do not stop it being stripped', () => {
  const events: number[] = [];
  const s = new LineSplitter({ line: (_b, _s, _c, _e, offset) => void events.push(offset), overlong: () => assert.fail('no overlong') }, { maxLineBytes: 100 });
  s.push(Buffer.alloc(0));
  s.push(Buffer.from([0xef]));
  s.push(Buffer.alloc(0));
  s.push(Buffer.from([0xbb, 0xbf, 0x7b, 0x7d, 0x0a]));
  s.end();
  assert.deepEqual(events, [3]);
  assert.equal(s.offset, 6);
});

test('a BOM anywhere but byte 0 is content', () => {
  const r = splitEveryWay(Buffer.concat([bytes('{}\n'), BOM, bytes('{}\n')]));
  assert.deepEqual(r.events, [line('{}', '{}\n', 0), line('\xef\xbb\xbf{}', '\xef\xbb\xbf{}\n', 3)]);
});

test('a BOM-only file has no lines; a file that only starts like a BOM is one line', () => {
  const bomOnly = splitEveryWay(BOM);
  assert.deepEqual(bomOnly.events, []);
  assert.equal(bomOnly.offset, 3);
  assert.deepEqual(splitEveryWay(Buffer.from([0xef, 0xbb])).events, [line('\xef\xbb', '\xef\xbb', 0)]);
  assert.deepEqual(splitEveryWay(Buffer.from([0xef])).events, [line('\xef', '\xef', 0)]);
  assert.deepEqual(splitEveryWay(Buffer.from([0xef, 0xbb, 0x0a])).events, [line('\xef\xbb', '\xef\xbb\n', 0)]);
  // A BOM followed by an empty line: one (blank) line at offset 3.
  assert.deepEqual(splitEveryWay(Buffer.concat([BOM, bytes('\n')])).events, [line('', '\n', 3)]);
});

test('empty input: no lines, offset 0', () => {
  assert.deepEqual(split(''), { events: [], offset: 0 });
  const s = new LineSplitter({ line: () => assert.fail('no line'), overlong: () => assert.fail('no overlong') }, { maxLineBytes: 10 });
  s.push(Buffer.alloc(0));
  s.end();
  assert.equal(s.offset, 0);
});

test('only blank lines: each "\\n" ends one empty line', () => {
  const r = splitEveryWay('\n\n\r\n \n');
  assert.deepEqual(r.events, [line('', '\n', 0), line('', '\n', 1), line('', '\r\n', 2), line(' ', ' \n', 4)]);
  assert.equal(r.offset, 6);
});

test('a last line without "\\n" is still a line, emitted on end()', () => {
  const r = splitEveryWay('{"a":1}\n{"b":2}');
  assert.deepEqual(r.events, [line('{"a":1}', '{"a":1}\n', 0), line('{"b":2}', '{"b":2}', 8)]);
  assert.equal(r.offset, 15);
  // Nothing is emitted before end().
  const seen: number[] = [];
  const s = new LineSplitter({ line: (_b, _s, _c, _e, o) => void seen.push(o), overlong: () => {} }, { maxLineBytes: 100 });
  s.push(Buffer.from('{"b":2}'));
  assert.deepEqual(seen, []);
  assert.equal(s.offset, 0, 'the unfinished line is not done: a resume starts at it');
  s.end();
  assert.deepEqual(seen, [0]);
  assert.equal(s.offset, 7);
});

test('NUL bytes are ordinary content', () => {
  const r = splitEveryWay('a\0b\n\0\n\0');
  assert.deepEqual(r.events, [line('a\0b', 'a\0b\n', 0), line('\0', '\0\n', 4), line('\0', '\0', 6)]);
});

test('a line of exactly maxLineBytes is accepted; maxLineBytes + 1 is overlong', () => {
  const opts = { maxLineBytes: 8, headBytes: 4 };
  for (const term of ['\n', '\r\n']) {
    const ok = splitEveryWay(`12345678${term}{}\n`, opts);
    assert.deepEqual(ok.events, [line('12345678', `12345678${term}`, 0), line('{}', '{}\n', 8 + term.length)], `exact, ${JSON.stringify(term)}`);
    const long = splitEveryWay(`123456789${term}{}\n`, opts);
    assert.deepEqual(
      long.events,
      [
        { kind: 'overlong', head: '1234', contentLength: 9, totalLength: 9 + term.length, offset: 0 },
        line('{}', '{}\n', 9 + term.length),
      ],
      `one over, ${JSON.stringify(term)}`,
    );
  }
  // The same limits for a last line without "\n" (a final "\r" is its terminator).
  for (const term of ['', '\r']) {
    assert.deepEqual(splitEveryWay(`{}\n12345678${term}`, opts).events, [line('{}', '{}\n', 0), line('12345678', `12345678${term}`, 3)]);
    assert.deepEqual(splitEveryWay(`{}\n123456789${term}`, opts).events, [
      line('{}', '{}\n', 0),
      { kind: 'overlong', head: '1234', contentLength: 9, totalLength: 9 + term.length, offset: 3 },
    ]);
  }
});

test('an overlong line fed in many small chunks keeps only its head and is followed by the next line at the right offset', () => {
  const body = Buffer.alloc(10_000);
  for (let i = 0; i < body.length; i++) body[i] = 0x61 + (i % 26); // "abc…z" repeated: the head must be the first bytes, not any bytes
  const input = Buffer.concat([bytes('{"x":1}\n'), body, bytes('\n{"y":2}\n')]);
  const opts = { maxLineBytes: 100, headBytes: 10 };
  for (const c of [1, 7, 64, 99, 100, 101, 102, 4096]) {
    const r = split(input, opts, c);
    assert.deepEqual(
      r.events,
      [
        line('{"x":1}', '{"x":1}\n', 0),
        { kind: 'overlong', head: 'abcdefghij', contentLength: 10_000, totalLength: 10_001, offset: 8 },
        line('{"y":2}', '{"y":2}\n', 10_009),
      ],
      `chunk ${c}`,
    );
    assert.equal(r.offset, input.length);
  }
});

test('an overlong line ending in "\\r\\n" excludes both bytes from its content length, however it is chunked', () => {
  const input = Buffer.concat([bytes('x'.repeat(500)), bytes('\r\n{}\r\n')]);
  const opts = { maxLineBytes: 50, headBytes: 5 };
  const expected: Ev[] = [
    { kind: 'overlong', head: 'xxxxx', contentLength: 500, totalLength: 502, offset: 0 },
    line('{}', '{}\r\n', 502),
  ];
  // 501 puts "\r" and "\n" in different pushes; 1 tracks the tail byte by byte.
  for (const c of [1, 2, 3, 500, 501, 502, 10_000]) assert.deepEqual(split(input, opts, c).events, expected, `chunk ${c}`);
});

test('an overlong last line without "\\n" is reported on end(), a final "\\r" excluded from its content', () => {
  const opts = { maxLineBytes: 10, headBytes: 3 };
  for (const c of [1, 4, 1000]) {
    assert.deepEqual(split('{}\n' + 'y'.repeat(40), opts, c).events, [line('{}', '{}\n', 0), { kind: 'overlong', head: 'yyy', contentLength: 40, totalLength: 40, offset: 3 }]);
    assert.deepEqual(split('{}\n' + 'y'.repeat(40) + '\r', opts, c).events, [line('{}', '{}\n', 0), { kind: 'overlong', head: 'yyy', contentLength: 40, totalLength: 41, offset: 3 }]);
  }
});

/** An input with a BOM, CRLF, lone CR, blank lines, an overlong line and no final "\n". */
const RESUME_INPUT = Buffer.concat([
  BOM,
  bytes('{"a":1}\r\n\n  \n{"b":"x\ry"}\n'),
  bytes('z'.repeat(300) + '\r\n'),
  bytes('[1,2]\n\r\n{"c":3}'),
]);

test('resuming at any line boundary with startOffset gives the same remaining lines and offsets', () => {
  const opts = { maxLineBytes: 64, headBytes: 8 };
  const whole = split(RESUME_INPUT, opts);
  assert.equal(whole.events.length, 8);
  assertOffsetsAbsolute(RESUME_INPUT, whole.events);
  const boundaries = whole.events.map((e) => e.offset).concat(whole.offset);
  for (const b of boundaries) {
    for (const c of [Infinity, 1, 5]) {
      const rest = split(RESUME_INPUT.subarray(b), { ...opts, startOffset: b }, c);
      assert.deepEqual(rest.events, whole.events.filter((e) => e.offset >= b), `resume at ${b}, chunk ${c}`);
      assert.equal(rest.offset, RESUME_INPUT.length);
    }
  }
});

test('splitter.offset at any moment is a checkpoint: resuming there loses and repeats nothing', () => {
  const opts = { maxLineBytes: 64, headBytes: 8 };
  const whole = split(RESUME_INPUT, opts).events;
  for (let cut = 0; cut <= RESUME_INPUT.length; cut++) {
    const before: Ev[] = [];
    const s = new LineSplitter(
      {
        line: (buf, start, ce, end, offset) => void before.push(line(buf.subarray(start, ce).toString('latin1'), buf.subarray(start, end).toString('latin1'), offset)),
        overlong: (head, contentLength, totalLength, offset) => void before.push({ kind: 'overlong', head: head.toString('latin1'), contentLength, totalLength, offset }),
      },
      opts,
    );
    s.push(RESUME_INPUT.subarray(0, cut));
    const checkpoint = s.offset; // the process dies here, before end()
    const after = split(RESUME_INPUT.subarray(checkpoint), { ...opts, startOffset: checkpoint }, 3).events;
    assert.deepEqual([...before, ...after], whole, `killed after ${cut} bytes, checkpoint ${checkpoint}`);
  }
});
