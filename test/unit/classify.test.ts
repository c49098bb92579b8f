/**
 * classify(): one test per outcome promised in README "Lines" and "Default rules", plus the hostile
 * inputs a line can carry (broken UTF-8, deep nesting, huge numbers, duplicate and __proto__ keys).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { classify, type Verdict } from '../../src/validate/classify.js';
import { compileRules, loadRules, type Rules } from '../../src/validate/schema.js';
import { REJECT, REJECT_EXTRA, REJECT_MISSING, UNSURE_LINE } from '../../src/validate/fast-path.js';

const PERMISSIVE = compileRules('t', '{}');
const DEFAULT = loadRules(undefined);

function run(line: Buffer | string, rules: Rules = PERMISSIVE): Verdict {
  const buf = typeof line === 'string' ? Buffer.from(line) : line;
  return classify(buf, 0, buf.length, rules);
}

/** The reason, or 'valid' / 'blank'. */
function outcome(line: Buffer | string, rules: Rules = PERMISSIVE): string {
  const v = run(line, rules);
  return v === null ? 'valid' : v === 'blank' ? 'blank' : v.reason;
}

/** `{"a":"` + raw bytes + `"}`: the bytes inside a JSON string, where only UTF-8 decides. */
const inString = (...raw: number[]) => Buffer.concat([Buffer.from('{"a":"'), Buffer.from(raw), Buffer.from('"}')]);

const GOOD = {
  event_id: '0b6f9d5e-3c1a-4e8b-9a57-2f1c8d7e6a01',
  session_id: 'f47ac10b-58cc-4372-a567-0e02b2c3d479',
  event_type: 'page_view',
  timestamp: '2026-11-05T12:34:56Z',
  event_date: '2026-11-05',
  user_id: 'u-42',
  email: 'ada@example.com',
};
const event = (patch: Record<string, unknown>, drop: string[] = []) => {
  const e: Record<string, unknown> = { ...GOOD, ...patch };
  for (const k of drop) delete e[k];
  return JSON.stringify(e);
};

test('every outcome: valid, blank, invalid_utf8, invalid_json, not_object, schema', () => {
  assert.equal(run('{"a":1}'), null);
  assert.equal(run(''), 'blank');
  assert.equal(outcome(inString(0xff)), 'invalid_utf8');
  assert.equal(outcome('{"a":1'), 'invalid_json');
  assert.equal(outcome('[1]'), 'not_object');
  const v = run('{}', DEFAULT);
  assert.ok(v !== null && v !== 'blank');
  assert.equal(v.reason, 'schema');
  assert.ok(v.errors && v.errors.length === 4, 'all four missing required fields are listed');
  assert.equal(v.message, `${v.errors[0].path} ${v.errors[0].message}`, 'the message is the first violation');
});

test('classify reads only buf[start, end)', () => {
  const buf = Buffer.from('xx{"a":1}yy');
  assert.equal(classify(buf, 2, 9, PERMISSIVE), null);
  assert.equal(classify(buf, 0, 9, PERMISSIVE) !== null, true);
  // An empty range is blank even when the byte right after it is "{".
  assert.equal(classify(Buffer.from('{}'), 0, 0, PERMISSIVE), 'blank');
  assert.equal(classify(Buffer.from('\n{}'), 1, 1, PERMISSIVE), 'blank');
});

test('well-formed multi-byte UTF-8 is valid (the UTF-8 check is not merely "ASCII only")', () => {
  assert.equal(run('{"a":"é € 𝄞 😀","ключ":"値"}'), null);
  assert.equal(run(inString(0xf4, 0x8f, 0xbf, 0xbf)), null, 'U+10FFFF, the last code point');
});

test('overlong encodings, encoded surrogates, 5-byte and other broken sequences are invalid_utf8', () => {
  const cases: Array<[string, number[]]> = [
    ['overlong 2-byte NUL C0 80', [0xc0, 0x80]],
    ['overlong 2-byte "/" C1 81', [0xc1, 0x81]],
    ['overlong 3-byte E0 80 80', [0xe0, 0x80, 0x80]],
    ['overlong 4-byte F0 80 80 80', [0xf0, 0x80, 0x80, 0x80]],
    ['encoded high surrogate ED A0 80 (U+D800)', [0xed, 0xa0, 0x80]],
    ['encoded low surrogate ED BF BF (U+DFFF)', [0xed, 0xbf, 0xbf]],
    ['encoded surrogate pair ED A0 BD ED B8 80', [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]],
    ['5-byte sequence F8 88 80 80 80', [0xf8, 0x88, 0x80, 0x80, 0x80]],
    ['6-byte sequence FC 84 80 80 80 80', [0xfc, 0x84, 0x80, 0x80, 0x80, 0x80]],
    ['above U+10FFFF F4 90 80 80', [0xf4, 0x90, 0x80, 0x80]],
    ['lone continuation byte 80', [0x80]],
    ['truncated sequence E2 82', [0xe2, 0x82]],
    ['FE and FF', [0xfe, 0xff]],
    ['Latin-1 é (E9)', [0xe9]],
  ];
  for (const [name, raw] of cases) assert.equal(outcome(inString(...raw)), 'invalid_utf8', name);
  // Outside a string too: the UTF-8 check comes before parsing.
  assert.equal(outcome(Buffer.from([0x7b, 0x7d, 0xc0, 0x80])), 'invalid_utf8');
});

test('a raw NUL (or other control character) inside a string is invalid_json; the escape \\u0000 is fine', () => {
  assert.equal(outcome(inString(0x00)), 'invalid_json');
  assert.equal(outcome(inString(0x01)), 'invalid_json');
  assert.equal(outcome(inString(0x1f)), 'invalid_json');
  assert.equal(outcome(Buffer.from('{"a":1}\0')), 'invalid_json', 'NUL after the object');
  assert.equal(run('{"a":"x\\u0000y"}'), null);
});

test('[], "x", 42, null, true are not_object, and the message names what was found', () => {
  const cases: Array<[string, string]> = [
    ['[]', 'an array'],
    ['"x"', 'a string'],
    ['42', 'a number'],
    ['null', 'null'],
    ['true', 'a boolean'],
    ['  [ {"a":1} ]  ', 'an array'],
  ];
  for (const [line, kind] of cases) {
    const v = run(line);
    assert.ok(v !== null && v !== 'blank', line);
    assert.equal(v.reason, 'not_object', line);
    assert.match(v.message, new RegExp(`is ${kind}, not a JSON object`), line);
  }
});

test('100,000 levels of nesting get a verdict, never an exception', () => {
  const depth = 100_000;
  const arrays = '['.repeat(depth) + ']'.repeat(depth);
  const objects = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  const mixed = '{"a":['.repeat(depth) + ']}'.repeat(depth);
  assert.equal(outcome(arrays), 'not_object');
  assert.equal(outcome(arrays, DEFAULT), 'not_object');
  assert.equal(outcome(objects), 'valid');
  assert.equal(outcome(objects, DEFAULT), 'schema');
  assert.equal(outcome(mixed), 'valid');
  assert.equal(outcome('['.repeat(depth)), 'invalid_json', 'unclosed');
  assert.equal(outcome('{"a":'.repeat(depth)), 'invalid_json', 'unclosed');
  // A recursive schema makes ajv recurse as deep as the data: the stack overflows at a few
  // thousand levels. That must reject the line, not escape as an exception.
  const recursive = compileRules('tree', '{"type":["object","array"],"additionalProperties":{"$ref":"#"},"items":{"$ref":"#"}}');
  assert.equal(outcome('{"a":[{"a":[]}]}', recursive), 'valid', 'the schema accepts shallow trees');
  const v = run(mixed, recursive);
  assert.ok(v !== null && v !== 'blank');
  assert.equal(v.reason, 'schema');
  assert.match(v.message, /could not be checked against the rules/);
  assert.ok(v.errors && v.errors.length === 1, 'a schema reject always carries its errors');
});

test('huge numbers are valid JSON; the rules see them as JS numbers (1e400 is Infinity)', () => {
  assert.equal(run('{"n":1e400}'), null);
  assert.equal(run('{"n":-1e400,"m":1e-400}'), null);
  assert.equal(run('{"big":123456789012345678901234567890123456789}'), null);
  // What the rules see: JSON.parse gives Infinity, which breaks a "maximum".
  const bounded = compileRules('bounded', '{"properties":{"n":{"type":"number","maximum":1e300}}}');
  assert.equal(outcome('{"n":1e300}', bounded), 'valid');
  assert.equal(outcome('{"n":1e400}', bounded), 'schema');
});

test('duplicate keys: the rules see the last value, as JSON.parse keeps it', () => {
  const rules = compileRules('dup', '{"properties":{"a":{"type":"string"}}}');
  assert.equal(outcome('{"a":1,"a":"x"}', rules), 'valid');
  assert.equal(outcome('{"a":"x","a":1}', rules), 'schema');
  // With the built-in rules: a bad event_id hidden behind a good one is still caught.
  const line = `{"event_id":"${GOOD.event_id}",${event({}).slice(1, -1)},"event_id":"nope"}`;
  assert.equal(outcome(line, DEFAULT), 'schema');
  const reversed = `{"event_id":"nope",${event({}).slice(1)}`;
  assert.equal(outcome(reversed, DEFAULT), 'valid');
});

test('__proto__ and constructor keys do not pollute Object.prototype', () => {
  const hostile = [
    `{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},${event({}).slice(1)}`,
    '{"__proto__":{"polluted":3},"constructor":{"prototype":{"polluted":4}}}', // invalid: takes the allErrors path
    '{"a":{"__proto__":{"polluted":5}},"event_id":{"__proto__":{"polluted":6}}}',
  ];
  const verdicts = hostile.map((l) => outcome(l, DEFAULT));
  hostile.forEach((l) => outcome(l, PERMISSIVE));
  assert.deepEqual(verdicts, ['valid', 'schema', 'schema']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  // An event whose own "__proto__" key is a non-object does not change its prototype either.
  assert.equal(outcome(`{"__proto__":null,${event({}).slice(1)}`, DEFAULT), 'valid');
});

test('whitespace-only lines (spaces, tabs, \\r, \\v, \\f, or nothing) are blank; other whitespace is not', () => {
  for (const s of ['', ' ', '    ', '\t', '\r', '\v', '\f', ' \t\r\v\f ', '\r\r']) assert.equal(run(s), 'blank', JSON.stringify(s));
  // Not blank: NBSP and the Unicode line separator are not in the list, and are not JSON whitespace.
  assert.equal(outcome('\u00a0'), 'invalid_json');
  assert.equal(outcome('\u2028'), 'invalid_json');
  // Whitespace around an object is fine.
  assert.equal(run(' \t{"a":1}\t '), null);
});

test('built-in rules: a good event is valid, with or without its optional fields', () => {
  assert.equal(run(event({}), DEFAULT), null);
  assert.equal(run(event({}, ['event_date', 'user_id', 'email']), DEFAULT), null);
  assert.equal(run(event({ event_date: '2024-02-29', timestamp: '2026-11-05T12:34:56.789+05:30', extra: { any: [1] } }), DEFAULT), null);
});

test('built-in rules: each documented violation is a schema reject naming the field', () => {
  const cases: Array<[string, string, string]> = [
    // [line, field the violation must name, keyword]
    [event({}, ['event_id']), 'event_id', 'required'],
    [event({}, ['session_id']), 'session_id', 'required'],
    [event({}, ['event_type']), 'event_type', 'required'],
    [event({}, ['timestamp']), 'timestamp', 'required'],
    [event({ event_id: 'not-a-uuid' }), 'event_id', 'format'],
    [event({ event_id: 12345 }), 'event_id', 'type'],
    [event({ session_id: '0b6f9d5e3c1a4e8b9a572f1c8d7e6a01x' }), 'session_id', 'format'],
    [event({ event_type: '' }), 'event_type', 'pattern'],
    [event({ event_type: ' \t ' }), 'event_type', 'pattern'],
    [event({ timestamp: '2026-13-45T99:00:00Z' }), 'timestamp', 'format'],
    [event({ timestamp: 'yesterday' }), 'timestamp', 'format'],
    [event({ event_date: '2026-02-30' }), 'event_date', 'format'],
    [event({ event_date: '2025-02-29' }), 'event_date', 'format'],
    [event({ user_id: '   ' }), 'user_id', 'pattern'],
    [event({ email: 'not-an-email' }), 'email', 'format'],
    [event({ email: 'a@b@c.com' }), 'email', 'format'],
  ];
  for (const [line, field, keyword] of cases) {
    const v = run(line, DEFAULT);
    assert.ok(v !== null && v !== 'blank', `${field} ${keyword} should be rejected: ${line}`);
    assert.equal(v.reason, 'schema', line);
    const hit = v.errors?.find((e) => e.keyword === keyword && (e.path.includes(field) || e.message.includes(field)));
    assert.ok(hit, `${field} ${keyword} not among ${JSON.stringify(v.errors)}`);
  }
  // allErrors: two problems, two violations.
  const two = run(event({ event_id: 'x', email: 'y' }), DEFAULT);
  assert.ok(two !== null && two !== 'blank');
  assert.equal(two.errors?.length, 2);
});

test('a line the fast path knows breaks the rules is rejected and explained without compiling the deciding validator', () => {
  // `checked` rules, as a worker compiles them: ajv's fail-fast validator is built only when needed.
  const rules = compileRules('t', JSON.stringify({ type: 'object', required: ['id'], properties: { id: { type: 'integer' } } }), { checked: true });
  let decided = 0;
  const isValid = rules.isValid;
  const counted: Rules = { ...rules, isValid: (v) => (decided++, isValid(v)) };
  const v = run('{"id":"seven"}', counted);
  assert.ok(v !== null && v !== 'blank' && v.reason === 'schema');
  assert.equal(v.errors?.[0].path, '/id');
  assert.equal(decided, 0, 'the fast path decided; ajv only explained');
  assert.equal(run('{"id":7}', counted), null);
  assert.equal(run('{"id":7', counted) !== null && (run('{"id":7', counted) as { reason: string }).reason, 'invalid_json');
});

test('a broken member seen again is explained as the first time, and by the rules in use: two rule sets, the same value, each its own reason', () => {
  const integer = compileRules('i', JSON.stringify({ type: 'object', properties: { id: { type: 'integer' }, n: { type: 'number' } } }), { checked: true });
  const short = compileRules('s', JSON.stringify({ type: 'object', properties: { id: { maxLength: 2 }, n: { type: 'number' } } }), { checked: true });
  for (let round = 0; round < 3; round++) {
    for (const [rules, keyword] of [[integer, 'type'], [short, 'maxLength']] as const) {
      for (const line of ['{"id":"seven","n":1}', '{"n":2,"id":"seven"}']) {
        const v = run(line, rules);
        assert.ok(v !== null && v !== 'blank' && v.reason === 'schema', line);
        assert.deepEqual(v.errors?.map((e) => [e.path, e.keyword]), [['/id', keyword]]);
      }
    }
  }
  // The same bytes under another key are another member.
  const v = run('{"n":"seven"}', integer);
  assert.ok(v !== null && v !== 'blank');
  assert.deepEqual(v.errors?.map((e) => [e.path, e.keyword]), [['/n', 'type']]);
});

/**
 * For rules compiled with each emitter: the fast path's verdict on each of `cases`, and classify()
 * of every case and of every line `lines` makes, asked twice (the second answer may be remembered),
 * equal to classify() without the fast path. Returns the rules of the last emitter.
 */
function explainsAsWhole(text: string, cases: Array<[string, number]>, lines: fc.Arbitrary<string>): Rules {
  let rules = PERMISSIVE;
  for (const emitter of ['generated', 'closures'] as const) {
    rules = compileRules('r', text, { checked: true, fastPathEmitter: emitter });
    const slow: Rules = { ...rules, fastAccept: undefined, fastCheck: undefined };
    const same = (line: string) => {
      const b = Buffer.from(line);
      for (let twice = 0; twice < 2; twice++) assert.deepEqual(classify(b, 0, b.length, rules), classify(b, 0, b.length, slow), `${emitter}: ${line}`);
    };
    for (const [line, verdict] of cases) {
      const b = Buffer.from(line);
      assert.equal(rules.fastCheck!(b, 0, b.length), verdict, `${emitter}: ${line}`);
      same(line);
    }
    fc.assert(fc.property(lines, same), { numRuns: 300 });
  }
  return rules;
}

test('keys that are not allowed, alone at fault, are explained as the whole line is, and remembered by their names only', () => {
  const text = JSON.stringify({ type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'integer' }, n: { type: 'number' } } });
  const cases: Array<[string, number]> = [
    ['{"id":1,"extra":true}', REJECT_EXTRA],
    ['{"id":2,"n":3,"extra":"a value the memo never sees"}', REJECT_EXTRA],
    ['{"extra":[1,2],"id":3}', REJECT_EXTRA],
    ['{"id":1,"b":1,"a":2}', REJECT_EXTRA],
    ['{"id":1,"2":1,"10":2,"a":3}', REJECT_EXTRA],
    ['{"id":1,"10":1,"2":2,"a":3}', REJECT_EXTRA],
    // Another fault beside them: the whole line is explained.
    ['{"id":"x","extra":1}', REJECT],
    ['{"extra":1}', REJECT],
    // Only required keys missing.
    ['{"n":1}', REJECT_MISSING],
    ['{}', REJECT_MISSING],
    ['{"n":"x"}', REJECT],
    // A repeated key: JSON.parse keeps one of them, so the fast path is unsure.
    ['{"id":1,"extra":1,"extra":2}', UNSURE_LINE],
  ];
  // Any keys (integer-like ones come first in JSON.parse's order), in either order, with any values.
  const lines = fc
    .tuple(fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 4 }), fc.nat(30).map(String)), fc.jsonValue({ maxDepth: 1 })), { maxLength: 4 }), fc.boolean(), fc.boolean())
    .map(([members, brokenId, reversed]) => {
      const parts = [`"id":${brokenId ? '"x"' : 1}`, ...members.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)];
      return `{${(reversed ? parts.reverse() : parts).join(',')}}`;
    });
  const rules = explainsAsWhole(text, cases, lines);
  const extra = run('{"id":9,"extra":{"deep":[1]}}', rules);
  assert.ok(extra !== null && extra !== 'blank');
  assert.deepEqual(extra.errors?.map((e) => [e.path, e.keyword]), [['/', 'additionalProperties']]);
});

test('required keys missing, alone at fault, are explained as the whole line is, and remembered by which keys they are', () => {
  const text = JSON.stringify({ type: 'object', required: ['b', 'a', 'c'], minProperties: 1, properties: { a: { type: 'integer' }, b: { type: 'string' }, c: {}, d: { type: 'boolean' } } });
  const cases: Array<[string, number]> = [
    ['{"a":1,"c":null}', REJECT_MISSING],
    ['{"c":[1],"a":2,"z":"any"}', REJECT_MISSING],
    ['{"a":1}', REJECT_MISSING],
    ['{"d":true}', REJECT_MISSING],
    ['{"c":0,"b":"x"}', REJECT_MISSING],
    // Another fault beside them, or minProperties: the whole line is explained.
    ['{"a":"x"}', REJECT],
    ['{"d":1,"c":2}', REJECT],
    ['{}', REJECT],
    ['{"a":1,"a":2}', UNSURE_LINE],
  ];
  // Any members, of any values, in any order.
  const lines = fc
    .tuple(fc.subarray(['a', 'b', 'c', 'd', 'e']), fc.array(fc.jsonValue({ maxDepth: 1 }), { minLength: 5, maxLength: 5 }))
    .map(([keys, values]) => `{${keys.map((k, x) => `"${k}":${JSON.stringify(x % 2 === 0 && k === 'a' ? 7 : values[x])}`).join(',')}}`);
  const rules = explainsAsWhole(text, cases, lines);
  const v = run('{"c":1,"a":1}', rules);
  assert.ok(v !== null && v !== 'blank');
  assert.deepEqual(v.errors?.map((e) => [e.path, e.keyword]), [['/b', 'required']]);
});

test('a reject the explanation cannot support is decided by ajv: a wrong fast-path reject never drops a valid line', () => {
  // A fast path that (wrongly) rejects every line, in front of rules that accept every object.
  const lying: Rules = { ...PERMISSIVE, fastCheck: () => -1 };
  assert.equal(run('{"a":1}', lying), null);
  assert.equal(outcome('[1]', lying), 'not_object');
  assert.equal(outcome('{"a":', lying), 'invalid_json');
});

test('rules compiled in a worker (checked) or only checked (a run\'s main thread) decide and explain as the first compile does', () => {
  const text = JSON.stringify({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    required: ['when', 'tag'],
    properties: { when: { type: 'string', format: 'date-time' }, tag: { type: 'string', format: 'x-house-code' } },
  });
  const first = compileRules('t', text);
  assert.deepEqual(first.warnings, ['unknown format "x-house-code": not checked']);
  const lines = ['{"when":"2026-11-30T10:00:00Z","tag":"anything"}', '{"when":"yesterday","tag":"a"}', '{"tag":"a"}', '{"when":"2026-11-30T10:00:00Z","tag":5}'];
  const expected = lines.map((l) => run(l, first));
  assert.deepEqual(expected.map((v) => (v === null ? 'valid' : (v as { reason: string }).reason)), ['valid', 'schema', 'schema', 'schema']);
  for (const options of [{ checked: true }, { checkOnly: true }]) {
    const again = compileRules('t', text, options);
    assert.deepEqual(lines.map((l) => run(l, again)), expected, JSON.stringify(options));
    // The deciding validator, without the fast path in front.
    assert.deepEqual(lines.map((l) => again.isValid(JSON.parse(l))), [true, false, false, false]);
  }
});

test('an unknown format beside a recursive $ref still compiles into a working validator (the retry after the unknown-format error starts afresh)', () => {
  // Found by the diff fuzz: the first compile attempt stopped at the unknown format and left the
  // recursive ref half-built in its ajv instance; `{"a":[0]}` then threw "wrapper0.validate is not
  // a function" and was rejected as "could not be checked".
  const text = JSON.stringify({
    type: 'object',
    properties: { a: { oneOf: [{ $ref: '#/definitions/d1' }, { type: 'string' }], anyOf: [{ $ref: '#/definitions/d1' }, { additionalProperties: { format: 'no-such-format' } }] } },
    definitions: { d1: { contains: { $ref: '#/properties/a' } } },
  });
  for (const options of [{}, { checkOnly: true }]) {
    const rules = compileRules('t', text, options);
    assert.equal(rules.isValid({ a: [0] }), true);
    assert.equal(run('{"a":[0]}', rules), null);
    assert.equal(outcome('{"a":"x"}', rules), 'schema');
  }
});

test('the built-in rules, only checked (a run\'s main thread skips compiling them), decide and explain as compiled ones do', () => {
  const lazy = loadRules(undefined, { checkOnly: true });
  const lines = [JSON.stringify(GOOD), JSON.stringify({ ...GOOD, event_id: 'nope' }), '{"a":1}', '[]', '{"event_id":'];
  assert.deepEqual(lines.map((l) => run(l, lazy)), lines.map((l) => run(l, DEFAULT)));
  assert.equal(lazy.hash, DEFAULT.hash);
});

test('rules only checked (a run\'s main thread) are refused exactly when a full compile refuses them, with the same message', () => {
  const bad = [
    { type: 'object', properties: { a: { $ref: '#/definitions/missing' } } },
    { type: 'object', properties: { a: { type: 'string', pattern: '([a-z' } } },
    { type: 'object', patternProperties: { '(?<': { type: 'string' } } },
    { type: 'object', properties: { a: { type: 5 } } },
    { oneOf: [{ $ref: '#/definitions/ok' }, { properties: { b: { $ref: 'other.json#/x' } } }], definitions: { ok: { type: 'object' } } },
  ];
  for (const schema of bad) {
    const text = JSON.stringify(schema);
    const full = (() => {
      try {
        compileRules('t', text);
        return 'compiled';
      } catch (err) {
        return (err as Error).message;
      }
    })();
    assert.notEqual(full, 'compiled', text);
    assert.throws(() => compileRules('t', text, { checkOnly: true }), (err: Error) => err.message === full, text);
  }
  // And rules that compile pass the check, then decide lines with a validator of their own (the
  // check's generated code is never evaluated).
  const good = compileRules('t', JSON.stringify({ type: 'object', properties: { a: { $ref: '#/definitions/n' } }, definitions: { n: { type: 'integer', minimum: 1 } } }), { checkOnly: true });
  assert.deepEqual([{ a: 2 }, { a: 0 }, { a: 'x' }].map((v) => good.isValid(v)), [true, false, false]);
});
