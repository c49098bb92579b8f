/**
 * The fast path never gives a verdict different from ajv's, on schemas it has never seen: fast-check
 * generates schemas per keyword family (types and unions, enum/const, numbers, strings and formats,
 * objects, arrays, combinators, $ref and recursion) in draft-07 and 2020-12, and objects to check
 * against them; whenever the fast path accepts a line, ajv (fail-fast, as the exact path decides)
 * must accept it too, and whenever it answers REJECT for a line JSON.parse reads, ajv must reject it.
 * A family of discriminated unions (oneOf/anyOf of objects told apart by const/enum members,
 * required keys or closed key sets, nested under $refs) exercises the branch guards (branch-guard.ts);
 * one of object keywords beside an allOf of if/then/else conditions, reading an object by key;
 * one of rules naming their parts by id (a bundle of nested $ids, $anchors, "#name" ids, relative
 * URIs; only at the top, where a third of its schemas compile: ajv refuses the others' $refs).
 * FUZZ_RUNS/10 schemas per family (15 without FUZZ_RUNS), 12 lines each; `npm run fuzz`
 * (FUZZ_RUNS=20000) checks 2,000 schemas per family: about 120,000 lines against schemas ajv
 * compiles (1,100 per family gave 66,660 cases, none disagreeing). Each family runs with the checks
 * built both ways (generated code and closures), and closures must give the generated code's very
 * answer (UNSURE included); FUZZ_EMITTER=generated|closures runs one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileRules, type Rules } from '../../src/validate/schema.js';
import { LINE_REJECT, LINE_REJECT_EXTRA, LINE_REJECT_MISSING, LINE_REJECT_ONE } from '../../src/validate/fast-path-emit.js';
import { classify } from '../../src/validate/classify.js';
import { topKeysRepeat } from '../helpers/json-keys.js';

const RUNS = process.env.FUZZ_RUNS === undefined ? 15 : Number(process.env.FUZZ_RUNS) / 10;
const LINES = 12;
const DRAFTS = ['http://json-schema.org/draft-07/schema#', 'https://json-schema.org/draft/2020-12/schema'];

// ---------------------------------------------------------------- values

const KEYS = ['a', 'b', 'c', 'ab', 'é', 'n'];
const key = fc.constantFrom(...KEYS);
const scalar = fc.oneof(
  fc.constantFrom('', 'a', 'ab', 'abc', 'A', ' ', '😀', 'x\u0000', '2026-02-28', '2026-02-30', '12:00:00Z', 'ada@example.com', '0b6f9d5e-3c1a-4e8b-9a57-2f1c8d7e6a01', '2026-11-05T12:34:56Z', 'ABC-1234', 'AB-1234', 'c_12', 'c_', 'aab', '12:ab_9'),
  fc.constantFrom(0, -0, 1, 2, 3, 1.5, -1, 10, 100, 1e21, 0.1, 0.3, 2.5000000000000004, 968.37, -0.05, 9007199254740993, 123456789012345.6, 0.30000000000000004),
  fc.integer({ min: -5, max: 20 }),
  fc.boolean(),
  fc.constant(null),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ maxDepth: 3, depthIdentifier: 'v' }, scalar, scalar, fc.array(tie('v'), { maxLength: 4 }), fc.array(fc.tuple(key, tie('v')), { maxLength: 4 }).map((e) => Object.fromEntries(e))),
})).v;

/** JSON text written by hand: keys may repeat (style 16: an object's first key again, last, as 1), be escaped, objects be spaced out (32), and numbers be spelled 1.0 or 1e0. */
function write(v: unknown, style: number): string {
  if (Array.isArray(v)) return '[' + v.map((x) => write(x, style)).join(style & 1 ? ' , ' : ',') + ']';
  if (v !== null && typeof v === 'object') {
    // style 32: whitespace wherever JSON allows it in an object.
    const [open, colon, comma, close] = style & 32 ? ['{ ', ' :\t', ' ,\t', ' }'] : ['{', ':', ',', '}'];
    const members = Object.entries(v).map(([k, x]) => `${style & 2 && k === 'a' ? '"\\u0061"' : JSON.stringify(k)}${colon}${write(x, style)}`);
    if (style & 16 && members.length > 0) members.push(members[0].replace(/:.*$/s, ':1'));
    return open + members.join(comma) + close;
  }
  if (typeof v === 'number' && Number.isInteger(v) && style & 4) return `${v}.0`;
  if (typeof v === 'string' && style & 8) return JSON.stringify(v).replace(/a/g, '\\u0061');
  return JSON.stringify(v);
}
/** The spellings the discriminated family's tags use: a line's values take them often. */
const SPELLINGS = ['a', 'ab', 'abc', '', 'A', '😀'];
const lineOf = (member: fc.Arbitrary<unknown>) => fc.tuple(fc.array(fc.tuple(key, member), { maxLength: 5 }), fc.integer({ min: 0, max: 63 }), fc.boolean()).map(([entries, style, dup]) => {
  const body = entries.map(([k, v]) => `${style & 2 && k === 'a' ? '"\\u0061"' : JSON.stringify(k)}:${write(v, style)}`);
  if (dup && body.length) body.push(body[0].replace(/:.*$/, ':1'));
  return `{${body.join(',')}}`;
});
const LINES_OF: Record<string, fc.Arbitrary<string>> = {
  discriminated: lineOf(fc.oneof(fc.constantFrom(...SPELLINGS), fc.constantFrom(...SPELLINGS), value)),
  conditional: lineOf(fc.oneof(fc.constantFrom(...SPELLINGS), value)),
  closedUnion: lineOf(fc.oneof(fc.constantFrom(...SPELLINGS), fc.constantFrom(...SPELLINGS), value)),
};
const line = lineOf(value);

// ---------------------------------------------------------------- schemas, per keyword family

type Gen = (sub: fc.Arbitrary<unknown>) => fc.Arbitrary<Record<string, unknown>>;
const types = fc.constantFrom('string', 'number', 'integer', 'boolean', 'null', 'object', 'array');
const FAMILIES: Record<string, Gen> = {
  types: () => fc.oneof(types.map((t) => ({ type: t })), fc.uniqueArray(types, { minLength: 1, maxLength: 3 }).map((t) => ({ type: t }))),
  enum: () => fc.oneof(fc.array(fc.oneof(scalar, value), { minLength: 1, maxLength: 4 }).map((e) => ({ enum: e })), fc.oneof(scalar, value).map((c) => ({ const: c }))),
  numbers: () =>
    fc.record(
      { type: fc.constantFrom('number', 'integer'), minimum: fc.integer({ min: -2, max: 5 }), maximum: fc.integer({ min: 0, max: 50 }), exclusiveMinimum: fc.constantFrom(-1, 0, 1.5), exclusiveMaximum: fc.constantFrom(10, 100, 2.5), multipleOf: fc.constantFrom(1, 2, 0.1, 0.5, 3) },
      { requiredKeys: [] },
    ),
  strings: () =>
    fc.record(
      { type: fc.constantFrom('string', ['string', 'null']), minLength: fc.integer({ min: 0, max: 3 }), maxLength: fc.integer({ min: 0, max: 5 }), pattern: fc.constantFrom('^a', '\\S', 'b$', '^\\p{L}+$', '.', '^[A-Z]{3}-[0-9]{4}$', '^c_[0-9]+$', '^[a-c]*b?$', '^\\d{2}:\\w+$', '^a{1,2}b$'), format: fc.constantFrom('date', 'date-time', 'time', 'email', 'uuid', 'uri', 'ipv4', 'hostname', 'no-such-format') },
      { requiredKeys: [] },
    ),
  objects: (sub) =>
    fc.record(
      {
        type: fc.constant('object'),
        properties: fc.dictionary(key, sub, { maxKeys: 3 }),
        patternProperties: fc.dictionary(fc.constantFrom('^a', 'b$', '^\\p{L}$'), sub, { maxKeys: 2 }),
        additionalProperties: fc.oneof(fc.boolean(), sub),
        required: fc.uniqueArray(key, { maxLength: 2 }),
        propertyNames: fc.constantFrom({ maxLength: 1 }, { pattern: '^[a-c]+$' }, { not: { const: 'n' } }),
        minProperties: fc.integer({ min: 0, max: 3 }),
        maxProperties: fc.integer({ min: 0, max: 4 }),
        dependencies: fc.dictionary(key, fc.oneof(fc.uniqueArray(key, { maxLength: 2 }), sub), { maxKeys: 2 }),
        dependentRequired: fc.dictionary(key, fc.uniqueArray(key, { maxLength: 2 }), { maxKeys: 2 }),
        dependentSchemas: fc.dictionary(key, sub, { maxKeys: 1 }),
      },
      { requiredKeys: [] },
    ),
  arrays: (sub) =>
    fc.record(
      {
        type: fc.constant('array'),
        items: fc.oneof(sub, fc.array(sub, { maxLength: 2 })),
        prefixItems: fc.array(sub, { maxLength: 2 }),
        additionalItems: fc.oneof(fc.boolean(), sub),
        contains: sub,
        minContains: fc.integer({ min: 0, max: 2 }),
        maxContains: fc.integer({ min: 0, max: 2 }),
        minItems: fc.integer({ min: 0, max: 2 }),
        maxItems: fc.integer({ min: 0, max: 4 }),
        uniqueItems: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
  combinators: (sub) =>
    fc.oneof(
      fc.array(sub, { minLength: 1, maxLength: 3 }).map((s) => ({ allOf: s })),
      fc.array(sub, { minLength: 1, maxLength: 3 }).map((s) => ({ anyOf: s })),
      fc.array(sub, { minLength: 1, maxLength: 3 }).map((s) => ({ oneOf: s })),
      sub.map((s) => ({ not: s })),
      fc.record({ if: sub, then: sub, else: sub }, { requiredKeys: ['if'] }),
    ),
  discriminated: (sub) => {
    // 'a' among them: style 8 writes it escaped.
    const spelling = fc.constantFrom(...SPELLINGS);
    const tag = fc.oneof(
      spelling.map((d) => ({ const: d })),
      fc.uniqueArray(fc.oneof(spelling, fc.constantFrom(1, null, 'x\u0000')), { minLength: 1, maxLength: 3 }).map((e) => ({ enum: e })),
      spelling.map((d) => ({ type: 'string', enum: [d] })),
      fc.constantFrom({ $ref: '#/definitions/d1' }, { $ref: '#/definitions/d2' }),
    );
    const branch = fc.record(
      {
        type: fc.constantFrom('object', ['object', 'string'], 'string', 'array'),
        required: fc.uniqueArray(key, { maxLength: 3 }),
        properties: fc.dictionary(key, fc.oneof(tag, tag, sub), { maxKeys: 3 }),
        additionalProperties: fc.oneof(fc.constant(false), sub),
        patternProperties: fc.constant({ '^n': {} }),
        allOf: fc.array(fc.oneof(sub, fc.record({ required: fc.uniqueArray(key, { maxLength: 2 }) })), { minLength: 1, maxLength: 2 }),
      },
      { requiredKeys: ['properties'] },
    );
    const branches = fc.array(fc.oneof(branch, branch, fc.constantFrom({ $ref: '#/definitions/d1' }, { $ref: '#/definitions/d2' }), sub), { minLength: 1, maxLength: 4 });
    return fc.oneof(branches.map((b) => ({ oneOf: b })), branches.map((b) => ({ anyOf: b })), fc.tuple(branches, branches).map(([o, a]) => ({ oneOf: o, anyOf: a })));
  },
  conditional: (sub) => {
    // Object keywords beside an allOf of if/then/else on members' values: the fast path reads the
    // object whole once, then by key (readsByKey in fast-path-emit.ts).
    const tag = fc.oneof(fc.constantFrom(...SPELLINGS).map((c) => ({ const: c })), fc.uniqueArray(fc.constantFrom(...SPELLINGS), { minLength: 1, maxLength: 2 }).map((e) => ({ enum: e })), sub);
    const part = fc.record(
      { properties: fc.dictionary(key, fc.oneof(tag, fc.constantFrom({}, { type: 'string' }, { type: ['string', 'number'] }), sub), { maxKeys: 2 }), required: fc.uniqueArray(key, { maxLength: 2 }), minProperties: fc.integer({ min: 0, max: 2 }), maxProperties: fc.integer({ min: 2, max: 6 }), dependentRequired: fc.dictionary(key, fc.uniqueArray(key, { maxLength: 1 }), { maxKeys: 1 }), additionalProperties: fc.oneof(fc.constant(true), fc.constant(true), sub) },
      { requiredKeys: [] },
    );
    const condition = fc.record({ if: fc.record({ properties: fc.dictionary(key, tag, { minKeys: 1, maxKeys: 2 }), required: fc.uniqueArray(key, { maxLength: 1 }) }, { requiredKeys: ['properties'] }), then: part, else: part }, { requiredKeys: ['if'] });
    return fc.record({ allOf: fc.array(fc.oneof(condition, condition, part), { minLength: 1, maxLength: 3 }), required: fc.uniqueArray(key, { maxLength: 1 }), if: condition.map((c) => c.if), then: part }, { requiredKeys: ['allOf'] });
  },
  unevaluated: (sub) => {
    // The keys a passing schema evaluates: its own, its allOf members' and $ref targets' (fixed), a
    // oneOf's passing branch's, an if's and its then's or else's; or those of an anyOf (left to ajv).
    const names = fc.dictionary(key, sub, { maxKeys: 2 });
    const open = fc.record({ properties: names, patternProperties: fc.dictionary(fc.constantFrom('^a', 'b$'), fc.constant({}), { maxKeys: 1 }), required: fc.uniqueArray(key, { maxLength: 1 }) }, { requiredKeys: ['properties'] });
    const closed = fc.tuple(open, fc.constantFrom('additionalProperties', 'unevaluatedProperties'), fc.oneof(fc.constant(false), sub)).map(([o, k, v]) => ({ ...o, [k]: v }));
    const part = fc.oneof(open, open, open, closed);
    return fc.record(
      {
        properties: names,
        patternProperties: fc.dictionary(fc.constantFrom('^a', 'b$'), sub, { maxKeys: 1 }),
        allOf: fc.array(fc.oneof(part, part, fc.constantFrom({ $ref: '#/definitions/d1' }, { $ref: '#/$defs/d1' }), sub), { minLength: 1, maxLength: 2 }),
        anyOf: fc.array(fc.oneof(fc.record({ required: fc.uniqueArray(key, { maxLength: 1 }) }), fc.record({ required: fc.uniqueArray(key, { maxLength: 2 }) }), fc.record({ properties: names })), { minLength: 1, maxLength: 2 }),
        oneOf: fc.array(fc.oneof(open, open, fc.record({ required: fc.uniqueArray(key, { minLength: 1, maxLength: 2 }) }), sub), { minLength: 1, maxLength: 3 }),
        if: fc.oneof(fc.record({ required: fc.uniqueArray(key, { maxLength: 1 }) }), open),
        then: fc.oneof(open, sub),
        else: fc.oneof(open, sub),
        unevaluatedProperties: fc.oneof(fc.boolean(), fc.constant(false), sub),
      },
      { requiredKeys: ['unevaluatedProperties'] },
    );
  },
  refs: (sub) => fc.oneof(fc.constantFrom('#/definitions/d1', '#/definitions/d2', '#/$defs/d1', '#', '#/properties/a').map((r) => ({ $ref: r })), sub.map((s) => ({ $ref: '#/definitions/d1', ...(s as object) }))),
};

/**
 * Rules that name their parts by id (a bundle): a resource with a relative `$id` (and maybe an
 * `$anchor`), whose own "#/…" pointers mean its own members (d1 is another schema there than at the
 * root), one with draft-07's `"$id": "#y"` or a relative one, one under another host; `$ref`s to
 * them by relative URI, anchor, pointer into a resource and back to the root. Only at the top: the
 * same ids nested twice make ajv refuse the rules.
 */
const TOP_ONLY: Record<string, Gen> = {
  // draft-04's numbers: exclusiveMinimum/Maximum are booleans that make minimum/maximum strict
  // (as properties a, b and n of a draft-04 schema; another draft refuses them).
  numbers04: () =>
    fc.record(
      { type: fc.constantFrom('number', 'integer', ['number', 'string']), minimum: fc.constantFrom(-1, 0, 1, 1.5, 3), maximum: fc.constantFrom(0, 1, 2.5, 3, 20), exclusiveMinimum: fc.boolean(), exclusiveMaximum: fc.boolean(), multipleOf: fc.constantFrom(1, 0.5, 3) },
      { requiredKeys: [] },
    ),
  closedUnion: (sub) => {
    // A oneOf or anyOf of kinds told apart by a, or an if on a, each kind naming its own keys, closed
    // by unevaluatedProperties: what counts as evaluated depends on the branches that passed.
    const tag = fc.constantFrom(...SPELLINGS).map((c) => ({ const: c }));
    const kind = fc.record({ properties: fc.record({ a: tag, b: fc.oneof(fc.constant({}), fc.constant({ type: 'string' }), sub), c: fc.constant({}), n: sub }, { requiredKeys: ['a'] }), required: fc.constant(['a']) });
    const kinds = fc.array(kind, { minLength: 1, maxLength: 3 });
    const anyKinds = fc.array(fc.oneof(kind, fc.record({ properties: fc.dictionary(key, fc.constant({}), { maxKeys: 2 }), required: fc.uniqueArray(key, { maxLength: 1 }) })), { minLength: 1, maxLength: 3 });
    const condition = fc.record(
      { if: fc.oneof(kind, tag.map((a) => ({ properties: { a }, required: ['a'] }))), then: fc.oneof(kind, fc.record({ properties: fc.dictionary(key, sub, { maxKeys: 2 }) })), else: fc.record({ properties: fc.dictionary(key, fc.constant({}), { maxKeys: 2 }) }) },
      { requiredKeys: ['if'] },
    );
    // One kind of union most of the time (each is written down apart), two now and then (unsure).
    const union = fc.oneof(
      kinds.map((oneOf) => ({ oneOf })),
      anyKinds.map((anyOf) => ({ anyOf })),
      condition,
      fc.tuple(kinds, anyKinds, condition).map(([oneOf, anyOf, c]) => ({ oneOf, anyOf, ...c })),
    );
    return fc
      .tuple(fc.dictionary(key, fc.constant({}), { maxKeys: 1 }), union, fc.oneof(fc.constant(false), fc.constant(false), sub))
      .map(([own, u, rest]) => ({ properties: { a: {}, ...own }, ...u, unevaluatedProperties: rest }));
  },
  ids: (sub) => {
    const ref = fc.constantFrom('res/x.json', '#/$defs/x', 'res/x.json#/definitions/in', 'res/x.json#/definitions/d1', '#y', 'res/y.json', 'https://other.example/z.json', 'https://other.example/z.json#/items', '#/definitions/d1', 'res/x.json#anc', 'res/x.json#', '#');
    const inner = fc.constantFrom('#/definitions/in', '#/definitions/d1', '#', 'y.json', '#/properties/a', '../root.json#/definitions/d1', 'https://example.test/root.json', 'https://other.example/z.json', '#anc');
    // What the other families' $refs name, in every resource.
    const defs = (d1: unknown) => ({ definitions: { d1, d2: {} }, $defs: { d1: true } });
    return fc
      .record({ x: sub, y: sub, z: sub, r1: ref, r2: ref, r3: inner, r4: inner, idY: fc.constantFrom('#y', 'res/y.json', 'res/y.json'), anchor: fc.boolean(), rootId: fc.constantFrom('https://example.test/root.json', undefined) })
      .map(({ x, y, z, r1, r2, r3, r4, idY, anchor, rootId }) => ({
        ...(rootId ? { $id: rootId } : {}),
        // ab is a resource written in place: its "#/definitions/d1" is its own, a number.
        properties: { b: { $ref: r1 }, c: { type: 'array', items: { $ref: r2 } }, ab: { $id: 'res/w.json', properties: { a: { $ref: r3 }, b: { $ref: '#/definitions/d1' } }, items: { $ref: '#/definitions/d1' }, definitions: { in: x, d1: { type: 'number' }, d2: {} }, $defs: { d1: true } } },
        $defs: {
          x: { $id: 'res/x.json', ...(anchor ? { $anchor: 'anc' } : {}), allOf: [x], properties: { c: { $ref: r3 }, a: z, n: { $ref: r4 } }, ...defs({ type: 'string', ...(z as object) }), definitions: { in: y, d1: { type: 'string', ...(z as object) }, d2: {} } },
          y: { $id: idY, ...(y as object) },
          z: { $id: 'https://other.example/z.json', type: ['array', 'object', 'string'], items: { $ref: '#/properties/c' }, properties: { c: z }, ...defs(true) },
        },
      }));
  },
};

/** A schema of one family at the top (arrays: as properties b and c), with the others (and booleans) inside. */
function schemaOf(family: string): fc.Arbitrary<Record<string, unknown>> {
  const { s } = fc.letrec((tie) => ({
    s: fc.oneof(
      { maxDepth: 3, depthIdentifier: 's' },
      fc.boolean(),
      fc.constant({}),
      ...Object.values(FAMILIES).map((g) => g(tie('s'))),
    ),
  }));
  if (family === 'numbers04') {
    return TOP_ONLY[family](s).map((n) => ({ $schema: 'http://json-schema.org/draft-04/schema#', type: 'object', properties: { a: n, b: n, n } }));
  }
  if (TOP_ONLY[family]) {
    return fc.record({ draft: fc.constantFrom(...DRAFTS), top: TOP_ONLY[family](s), d1: s, a: s }).map(({ draft, top, d1, a }) => ({
      $schema: draft,
      type: 'object',
      ...top,
      properties: { a, ...(top.properties as object) },
      definitions: { d1, d2: {} },
      $defs: { ...(top.$defs as object), d1: true },
    }));
  }
  return fc.record({ draft: fc.constantFrom(...DRAFTS), top: FAMILIES[family](s), d1: s, d2: s, a: s }).map(({ draft, top, d1, d2, a }) => ({
    $schema: draft,
    type: 'object',
    properties: family === 'arrays' ? { a, b: top, c: top } : { a },
    ...(family === 'arrays' ? {} : top),
    definitions: { d1, d2 },
    $defs: { d1: d2 },
  }));
}

function compile(schema: unknown, emitter: Emitter): Rules | undefined {
  try {
    return compileRules('gen', JSON.stringify(schema), { fastPathEmitter: emitter });
  } catch {
    return undefined; // a schema ajv refuses (e.g. 2020-12 `items` as an array) is no test case
  }
}

type Emitter = 'generated' | 'closures';
/** Both ways of building the fast path (compileRootCheck picks one by the schema's size). */
const EMITTERS: Emitter[] = process.env.FUZZ_EMITTER === undefined ? ['generated', 'closures'] : [process.env.FUZZ_EMITTER as Emitter];

for (const emitter of EMITTERS) for (const family of [...Object.keys(FAMILIES), ...Object.keys(TOP_ONLY)]) {
  test(`${family}, built as ${emitter}: whatever the fast path accepts, ajv accepts, and what it rejects, ajv rejects (${Math.round(RUNS)} schemas × ${LINES} lines)`, () => {
    let accepted = 0;
    let rejected = 0;
    let alone = 0;
    let cases = 0;
    fc.assert(
      fc.property(schemaOf(family), fc.array(LINES_OF[family] ?? line, { minLength: LINES, maxLength: LINES }), (schema, lines) => {
        const rules = compile(schema, emitter);
        if (!rules?.fastAccept) return;
        const check = rules.rootCheck!()!;
        // Closures must answer exactly as the generated code does, UNSURE included.
        const twin = emitter === 'closures' ? compile(schema, 'generated')!.rootCheck!()! : undefined;
        for (const text of lines) {
          const buf = Buffer.from(text);
          cases++;
          const fast = rules.fastAccept(buf, 0, buf.length);
          const answer = check(buf, 0, buf.length);
          if (twin) assert.equal(answer, twin(buf, 0, buf.length), `closures and generated code disagree:\nschema ${JSON.stringify(schema)}\nline   ${text}`);
          if (!fast && answer !== -1 && answer !== LINE_REJECT && answer !== LINE_REJECT_ONE && answer !== LINE_REJECT_EXTRA && answer !== LINE_REJECT_MISSING) continue;
          // One broken member is explained from its value alone, and extra or missing keys as the
          // last line with the same ones was (asked twice: the second is remembered): exactly as the whole line would be.
          if (answer === LINE_REJECT_ONE || answer === LINE_REJECT_EXTRA || answer === LINE_REJECT_MISSING) {
            alone++;
            const whole = classify(buf, 0, buf.length, { ...rules, fastAccept: undefined, fastCheck: undefined });
            for (let twice = 0; twice < 2; twice++) assert.deepEqual(classify(buf, 0, buf.length, rules), whole, `explained otherwise than the whole line:\nschema ${JSON.stringify(schema)}\nline   ${text}`);
          }
          let verdict: boolean;
          try {
            verdict = rules.isValid(JSON.parse(text));
          } catch {
            verdict = false;
          }
          if (fast) {
            accepted++;
            assert.ok(verdict, `fast path accepted what ajv rejects:\nschema ${JSON.stringify(schema)}\nline   ${text}`);
          } else {
            rejected++;
            // LINE_REJECT stands unless a key of the root object repeats (JSON.parse keeps the last).
            assert.ok(!verdict || (answer === LINE_REJECT && topKeysRepeat(text)), `fast path answered REJECT for what ajv accepts:\nschema ${JSON.stringify(schema)}\nline   ${text}`);
          }
        }
      }),
      { numRuns: Math.max(1, Math.round(RUNS)) },
    );
    // Over a long run the fast path must take some lines, or it proves nothing (a short run may not).
    if (process.env.FUZZ_RUNS !== undefined) assert.ok(accepted > 0, `${family}: nothing accepted in ${cases} cases`);
    if (process.env.FUZZ_STATS) process.stderr.write(`${family} (${emitter}): ${accepted} accepted and ${rejected} rejected by the fast path (${alone} explained from one member), of ${cases}\n`);
  });
}
