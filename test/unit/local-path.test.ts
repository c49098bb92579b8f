/**
 * encodeRelPath / relativeKey: the promises of the header of src/keys/local-path.ts — one-to-one,
 * never leaves the folder it is joined to, every segment a plain non-empty name of at most 255
 * bytes — checked on hostile keys, on a real file system, and on random keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { encodeRelPath, relativeKey } from '../../src/keys/local-path.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const BASE = path.resolve('/srv/cleaner/local/output');

const HOSTILE: string[] = [
  'events/2026/11/05/part-0001.jsonl',
  'with space.jsonl',
  ' leading and trailing ',
  'ünïcödé/日本語/😀.jsonl',
  '100%.jsonl',
  '%',
  '%25',
  '%2E',
  '%2E%2E/x',
  '%2e',
  '.',
  '..',
  '...',
  '.hidden',
  'a/../b',
  'a/./b',
  '../../etc/passwd',
  '/abs/path',
  '/',
  '//double',
  'a//b',
  'trailing/',
  'a\\b',
  '..\\..\\x',
  'C:\\Windows\\system32',
  '\\\\server\\share',
  'nul\0byte',
  '\0',
  'ctl\x01\x1b[31m\x1f\x7f',
  'tab\there/new\nline\r',
  '~',
  '~user/.ssh/id_rsa',
  'x~0123456789abcdef',
  'x'.repeat(300),
  'y'.repeat(250) + 'A'.repeat(50),
  'y'.repeat(250) + 'B'.repeat(50),
  'z'.repeat(255),
  'z'.repeat(256),
  'a'.repeat(254) + '%', // 254 bytes raw, 256 escaped
  '%'.repeat(100), // 100 bytes raw, 300 escaped
  'é'.repeat(150), // 300 bytes of 2-byte characters
  '😀'.repeat(75), // 300 bytes of 4-byte characters
  'あ'.repeat(100), // 300 bytes of 3-byte characters
  'q'.repeat(199) + 'é'.repeat(40), // the 200-byte cut falls inside a character
  'q'.repeat(199) + '%'.repeat(30), // the 200-byte cut falls inside an escape
  'long/' + 'L'.repeat(300) + '/' + 'M'.repeat(300) + '/file',
  'Report.JSON',
  'report.json',
  'REPORT.json',
  '\u00e9.jsonl', // é precomposed (NFC)
  'e\u0301.jsonl', // é decomposed (NFD)
  'con',
  'aux.txt',
  'semi;colon:star*?<>|"quote',
  '\u202etxt.exe', // right-to-left override
];

/** Reverses the escaping of one segment that was not shortened: an independent check of "one-to-one". */
function decodeSegment(seg: string): string {
  if (seg === '%') return '';
  return seg.replace(/%([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Asserts every promise of the header for one key; returns the encoded path. */
function checkKey(key: string): string {
  const enc = encodeRelPath(key);
  const where = `key ${JSON.stringify(key)} -> ${JSON.stringify(enc)}`;
  const joined = path.resolve(BASE, enc);
  assert.ok(joined.startsWith(BASE + path.sep), `${where} leaves the base: ${joined}`);
  assert.equal(path.relative(BASE, joined).split(path.sep).length, key.split('/').length, `${where}: one path level per key segment`);
  const segs = enc.split('/');
  const orig = key.split('/');
  assert.equal(segs.length, orig.length, where);
  segs.forEach((seg, i) => {
    assert.ok(seg !== '' && seg !== '.' && seg !== '..', `${where}: segment ${JSON.stringify(seg)}`);
    assert.ok(Buffer.byteLength(seg) <= 255, `${where}: segment of ${Buffer.byteLength(seg)} bytes`);
    assert.ok(!seg.includes('\\') && !seg.includes('\0'), `${where}: backslash or NUL`);
    assert.ok(!/[\x00-\x1f\x7f]/.test(seg), `${where}: control character`);
    const m = /^(.*)~([0-9a-f]{16})$/s.exec(seg);
    if (m) {
      // Shortened: a prefix of the escaped original, then the hash of the whole original segment.
      assert.equal(m[2], createHash('sha256').update(orig[i]).digest('hex').slice(0, 16), `${where}: hash`);
      assert.ok(Buffer.byteLength(m[1]) <= 200, where);
      assert.ok(orig[i].startsWith(decodeSegment(m[1])), `${where}: the kept part is the start of the key's segment`);
      assert.ok(!/%[0-9A-F]?$/.test(m[1]), `${where}: ends inside an escape`);
    } else {
      assert.ok(!seg.includes('~'), `${where}: a raw "~" outside the shortening marker`);
      assert.equal(decodeSegment(seg), orig[i], `${where}: segment does not decode back to the key's`);
    }
  });
  return enc;
}

test(`${HOSTILE.length} hostile keys: inside the base, plain segments, and one-to-one`, () => {
  assert.ok(HOSTILE.length >= 25);
  assert.equal(new Set(HOSTILE).size, HOSTILE.length, 'the list itself has no duplicates');
  const seen = new Map<string, string>();
  for (const key of HOSTILE) {
    const enc = checkKey(key);
    assert.equal(seen.get(enc), undefined, `${JSON.stringify(key)} and ${JSON.stringify(seen.get(enc))} both map to ${enc}`);
    seen.set(enc, key);
  }
});

test('specific mappings from the header comment', () => {
  assert.equal(encodeRelPath('events/2026/part-1.jsonl'), 'events/2026/part-1.jsonl', 'ordinary keys are unchanged');
  assert.equal(encodeRelPath('ünïcödé/😀 x.json'), 'ünïcödé/😀 x.json', 'unicode and spaces are kept');
  assert.equal(encodeRelPath('.'), '%2E');
  assert.equal(encodeRelPath('a/../b'), 'a/%2E%2E/b');
  assert.equal(encodeRelPath('/abs'), '%/abs');
  assert.equal(encodeRelPath('a//b/'), 'a/%/b/%');
  assert.equal(encodeRelPath('100%'), '100%25');
  assert.equal(encodeRelPath('%2E'), '%252E', 'a literal "%2E" is not confused with "."');
  assert.equal(encodeRelPath('..\\..\\x'), '..%5C..%5Cx');
  assert.equal(encodeRelPath('~/a\0b\x7f'), '%7E/a%00b%7F');
  // Long segments: 200 kept bytes + "~" + 16 hex digits.
  const long = encodeRelPath('y'.repeat(250) + 'A'.repeat(50));
  assert.equal(long, 'y'.repeat(200) + '~' + createHash('sha256').update('y'.repeat(250) + 'A'.repeat(50)).digest('hex').slice(0, 16));
  assert.notEqual(long, encodeRelPath('y'.repeat(250) + 'B'.repeat(50)));
  assert.equal(encodeRelPath('z'.repeat(255)), 'z'.repeat(255), '255 bytes fit');
  assert.match(encodeRelPath('z'.repeat(256)), /^z{200}~[0-9a-f]{16}$/);
  // A multibyte character is never cut in half.
  assert.match(encodeRelPath('é'.repeat(150)), /^é{100}~[0-9a-f]{16}$/);
  assert.match(encodeRelPath('q'.repeat(199) + 'é'.repeat(40)), /^q{199}~[0-9a-f]{16}$/);
});

test('keys differing only in case (or Unicode normalisation) get different paths', () => {
  // Distinct on a case-sensitive file system; on macOS/Windows defaults these would still collide on disk.
  const encs = ['Report.JSON', 'report.json', 'REPORT.json', '\u00e9.jsonl', 'e\u0301.jsonl'].map(encodeRelPath);
  assert.equal(new Set(encs).size, encs.length);
});

test('every hostile key can be written on a real file system, inside the folder, as exactly one file', () => {
  const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'cleaner-local-path-')));
  try {
    HOSTILE.forEach((key, i) => {
      const base = path.join(root, String(i));
      const file = path.join(base, encodeRelPath(key));
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, key); // throws ENAMETOOLONG / EISDIR / ENOENT if a segment is not a plain name
      assert.ok(realpathSync(file).startsWith(base + path.sep), `${JSON.stringify(key)} escaped to ${realpathSync(file)}`);
      const files = (readdirSync(base, { recursive: true, withFileTypes: true }) as Array<{ isFile(): boolean }>).filter((d) => d.isFile());
      assert.equal(files.length, 1, JSON.stringify(key));
    });
    // No stray files next to the per-key folders: nothing was written outside them.
    assert.equal(readdirSync(root).length, HOSTILE.length);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('relativeKey: the part below the listing base of the prefix', () => {
  assert.equal(relativeKey('logs/2026/11/a.jsonl', 'logs/2026/'), '11/a.jsonl');
  assert.equal(relativeKey('logs/2026/11/a.jsonl', 'logs/2026'), '2026/11/a.jsonl', 'a prefix that ends mid-name lists from its folder, like aws s3 sync');
  assert.equal(relativeKey('logs/2026/11/a.jsonl', ''), 'logs/2026/11/a.jsonl');
  assert.equal(relativeKey('a.jsonl', 'a'), 'a.jsonl');
  assert.equal(relativeKey('other/a.jsonl', 'logs/'), 'other/a.jsonl', 'a key outside the prefix keeps its full name');
  assert.equal(relativeKey('logs//x', 'logs/'), '/x');
  assert.equal(encodeRelPath(relativeKey('logs//x', 'logs/')), '%/x', 'and that stays inside');
});

// ---------------------------------------------------------------- random keys

/** Characters that matter to the encoding, plus any code point (no lone surrogates: S3 keys are UTF-8). */
const unit = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('/', '.', '..', '%', '%2E', '2', 'E', '~', '\\', '\0', '\x7f', '\n', ' ', 'a', 'A', 'é', '😀') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  // Runs long enough to cross the 255-byte limit.
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('x', 'é', 'あ', '😀', '%', '~'), fc.integer({ min: 40, max: 160 })).map(([c, n]) => c.repeat(n)) },
);
const key = fc.string({ unit, maxLength: 12 });

test('random keys: inside the base, plain segments of at most 255 bytes, decodable', () => {
  fc.assert(fc.property(key, (k) => void checkKey(k)), { numRuns: RUNS * 3 });
});

test('random pairs of keys: different keys never share a path', () => {
  // Pairs built to be near each other: a shared (often long) stem with small different endings.
  const pair = fc.oneof(
    fc.tuple(key, key),
    fc.tuple(key, key, key).map(([stem, a, b]) => [stem + a, stem + b] as [string, string]),
    fc.tuple(fc.integer({ min: 190, max: 300 }), key, key).map(([n, a, b]) => ['s'.repeat(n) + a, 's'.repeat(n) + b] as [string, string]),
  );
  fc.assert(
    fc.property(pair, ([a, b]) => {
      if (a !== b) assert.notEqual(encodeRelPath(a), encodeRelPath(b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
      else assert.equal(encodeRelPath(a), encodeRelPath(b));
    }),
    { numRuns: RUNS * 3 },
  );
});
