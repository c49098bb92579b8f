/**
 * Promises of json-scan.ts's scanners, against JSON.parse: scanString reads 4 bytes a step, so the
 * byte that ends a string may fall anywhere within a word, and a line may start anywhere in its
 * chunk's ArrayBuffer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { forgetObjects, keyCount, keysAmong, knownSpans, objectDistinct, scanned, scanString, skipValue, valueAfter } from '../../src/validate/json-scan.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/** `text` at byte `at` of a Buffer that itself starts `shift` bytes into its ArrayBuffer, with `fill` around it. */
function placed(text: Buffer, at: number, shift: number, fill = 0x41): Buffer {
  const whole = Buffer.alloc(shift + at + text.length + 9, fill);
  const b = whole.subarray(shift);
  text.copy(b, at);
  return b;
}

/** Where JSON.parse says the string opening `t` ends: the length of its shortest prefix that is a JSON string, or -1. */
function stringEnd(t: Buffer): number {
  for (let k = 2; k <= t.length; k++) {
    if (t[k - 1] !== 0x22) continue;
    try {
      if (typeof JSON.parse(t.toString('utf8', 0, k)) === 'string') return k;
    } catch {
      // not yet
    }
  }
  return -1;
}

/** Bytes that end, escape or break a string, and some that do not (a space, DEL, UTF-8 of é and of €). */
const MARKS: Array<[string, Buffer]> = [
  ['quote', Buffer.from('"')],
  ['escaped quote', Buffer.from('\\"')],
  ['\\n escape', Buffer.from('\\n')],
  ['\\u escape', Buffer.from('\\u00e9')],
  ['bad escape', Buffer.from('\\x')],
  ['bad \\u escape', Buffer.from('\\u00g9')],
  ['NUL', Buffer.from([0x00])],
  ['0x1f', Buffer.from([0x1f])],
  ['tab', Buffer.from([0x09])],
  ['space', Buffer.from(' ')],
  ['DEL', Buffer.from([0x7f])],
  ['é', Buffer.from('é')],
  ['€', Buffer.from('€')],
];

test('scanString ends a string where JSON.parse does, whichever byte of a 4-byte word holds the quote, backslash or control byte, from any start alignment', () => {
  for (let len = 0; len <= 13; len++) {
    for (let p = 0; p <= len; p++) {
      for (const [what, mark] of MARKS) {
        const body = Buffer.concat([Buffer.from('abcdefghijklmnop'.slice(0, p)), mark, Buffer.from('qrstuvwxyzABCDEF'.slice(0, len - p)), Buffer.from('"')]);
        const t = Buffer.concat([Buffer.from('"'), body]);
        const want = stringEnd(t);
        for (let shift = 0; shift < 4; shift++) {
          for (let at = 0; at < 4; at++) {
            const b = placed(t, at, shift);
            const got = scanString(b, at + 1, at + t.length);
            assert.equal(got, want < 0 ? -1 : at + want, `${what} at ${p} of ${len}, line at ${at}, buffer at ${shift}: ${JSON.stringify(t.toString())}`);
            if (got >= 0) assert.equal(scanned.hadEscape, t.subarray(0, want).includes(0x5c), `hadEscape for ${JSON.stringify(t.toString())}`);
          }
        }
      }
    }
  }
});

test('scanString never reads past the line end: a string whose quote lies beyond it is not a string, wherever the end falls', () => {
  const t = Buffer.from('"0123456789abcdefghijklmnopqrstuvwxyz"');
  for (let shift = 0; shift < 4; shift++) {
    for (let at = 0; at < 4; at++) {
      const b = placed(t, at, shift, 0x22); // quotes all around, so a read past the end would find one
      for (let end = at + 1; end < at + t.length; end++) assert.equal(scanString(b, at + 1, end), -1, `end at ${end - at}`);
      assert.equal(scanString(b, at + 1, at + t.length), at + t.length);
    }
  }
  // A string that runs to the very last byte of its buffer, and one cut off there.
  const whole = Buffer.from('{"k":"a string that ends the buffer"');
  assert.equal(scanString(whole, 6, whole.length), whole.length);
  assert.equal(scanString(whole.subarray(0, whole.length - 1), 6, whole.length - 1), -1);
});

test('skipValue finds the end of exactly the values JSON.parse takes, from any start alignment, alternating between buffers', () => {
  const texts = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    // Mutations: cut short, or a byte that ends, escapes or breaks strings dropped in anywhere.
    fc.tuple(fc.jsonValue({ maxDepth: 4 }), fc.nat(), fc.constantFrom('"', '\\', '\n', '\u0001', 'é', ' ', '}', ',')).map(([v, k, ch]) => {
      const s = JSON.stringify(v);
      const at = k % (s.length + 1);
      return s.slice(0, at) + ch + s.slice(at);
    }),
    fc.tuple(fc.jsonValue({ maxDepth: 4 }), fc.nat()).map(([v, k]) => {
      const s = JSON.stringify(v);
      return s.slice(0, k % (s.length + 1));
    }),
  );
  fc.assert(
    fc.property(texts, fc.nat(3), fc.nat(3), (text, at, shift) => {
      const t = Buffer.from(text);
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      const b = placed(t, at, shift, 0x22);
      const other = placed(t, 3 - at, 3 - shift, 0x5c);
      const end = at + t.length;
      const got = skipValue(b, at, end);
      // skipValue stops after the first value; trailing whitespace is the caller's.
      const whole = got >= 0 && b.subarray(got, end).every((c) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d);
      assert.equal(whole, parses, `${JSON.stringify(text)} at ${at}, buffer at ${shift}: ${got}`);
      assert.equal(skipValue(other, 3 - at, 3 - at + t.length), got < 0 ? -1 : got - at + 3 - at);
    }),
    { numRuns: RUNS * 10 },
  );
});

test('objectDistinct accepts exactly the objects JSON.parse takes with no key repeated or escaped, and its memo then finds JSON.parse\'s keys, by their bytes, at their values', () => {
  const keys = fc.constantFrom('a', 'b', 'id', 'é', 'a"b', 'x\ny', '');
  const members = fc.array(fc.tuple(keys, fc.jsonValue({ maxDepth: 2 })), { maxLength: 6 });
  fc.assert(
    fc.property(members, fc.boolean(), fc.nat(3), fc.nat(3), (list, spaced, at, shift) => {
      const sp = spaced ? ' ' : '';
      const text = `{${sp}${list.map(([k, v]) => `${JSON.stringify(k)}${sp}:${sp}${JSON.stringify(v)}`).join(`,${sp}`)}${sp}}`;
      const names = list.map(([k]) => k);
      const distinct = new Set(names).size === names.length && names.every((k) => JSON.stringify(k) === `"${k}"`);
      const t = Buffer.from(text);
      const b = placed(t, at, shift);
      forgetObjects();
      const got = objectDistinct(b, at, at + t.length);
      assert.equal(got, distinct ? at + t.length : -1, text);
      const spans = knownSpans(at);
      if (!distinct) {
        assert.equal(spans, -1, text);
        return;
      }
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const own = Object.keys(parsed);
      assert.equal(keyCount(spans), own.length, text);
      for (const k of own) {
        const from = valueAfter(spans, Buffer.from(k));
        const to = skipValue(b, from, at + t.length);
        assert.deepEqual(JSON.parse(b.toString('utf8', from, to)), parsed[k], `${text}: ${k}`);
      }
      assert.equal(valueAfter(spans, Buffer.from('zz')), -1, text);
      // Every key among its own names; one short of them, not (a closed key set, branch-guard.ts).
      assert.ok(keysAmong(spans, own.map((k) => Buffer.from(k))), text);
      if (own.length > 0) assert.ok(!keysAmong(spans, own.slice(1).map((k) => Buffer.from(k))), text);
      // Forgotten with the line.
      forgetObjects();
      assert.equal(knownSpans(at), -1);
    }),
    { numRuns: RUNS * 3 },
  );
});
