/**
 * Reject records are short and useful: at most maxErrorsPerLine violations plus errors_total, a
 * failed oneOf explained by its closest branch only, and a record without `raw` under 4 KiB. The
 * explanation never decides: verdicts are ajv's (fail-fast) answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import { classify, type Rejection } from '../../src/validate/classify.js';
import { rejectRecord, MAX_RECORD_WITHOUT_RAW } from '../../src/validate/reject.js';
import { compileRules } from '../../src/validate/schema.js';

const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as typeof import('ajv-formats').default;
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const EVENTS_TEXT = readFileSync(fileURLToPath(new URL('../fixtures/schemas/events-oneof.json', import.meta.url)), 'utf8');
const EVENTS = compileRules('events-oneof.json', EVENTS_TEXT);
const UUID = '0b6f9d5e-3c1a-4e8b-9a57-2f1c8d7e6a01';
const WHEN = '2026-11-05T12:34:56Z';

function reject(rules: typeof EVENTS, line: unknown): Rejection {
  const buf = Buffer.from(JSON.stringify(line));
  const v = classify(buf, 0, buf.length, rules);
  assert.ok(v !== null && v !== 'blank' && v.reason === 'schema', `expected a schema reject, got ${JSON.stringify(v)}`);
  return v;
}

function recordOf(why: Rejection, source = 'events/part-0001.jsonl'): Record<string, any> {
  return JSON.parse(rejectRecord({ source, etag: '"e"', line: 1, offset: 0 }, why, Buffer.from('{}')).toString());
}

test('a failed oneOf over 30 event types is explained by the branch whose type matched, not by every branch', () => {
  const why = reject(EVENTS, { type: 'purchase', event_id: 'not-a-uuid', timestamp: WHEN, purchase_data: 5 });
  const paths = why.errors!.map((e) => `${e.path} ${e.keyword}`);
  assert.deepEqual(paths, ['/event_id format', '/purchase_data type', '/ oneOf']);
  assert.match(why.errors!.at(-1)!.message, /closest: branch 10 #\/definitions\/purchase "purchase" type = "purchase" \(its discriminator matched\)/);
  assert.equal(why.errorsTotal, 3);
  assert.equal(why.message, '/event_id must match format "uuid"');
});

test('with no discriminator matching, the branch with the fewest errors explains', () => {
  // An unknown type: every branch fails its const; "login" (integer data, the rest right) fails least.
  const why = reject(EVENTS, { type: 'nope', event_id: UUID, timestamp: WHEN, login_data: 3 });
  const last = why.errors!.at(-1)!;
  assert.equal(last.keyword, 'oneOf');
  assert.match(last.message, /"login"/);
  assert.ok(why.errors!.length <= 3, JSON.stringify(why.errors));
});

test('at most 10 violations by default, the limit is a parameter, and errors_total counts them all', () => {
  const closed = JSON.stringify({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false });
  const line = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`extra_${i}`, i]));
  const ten = reject(compileRules('closed', closed), line);
  assert.equal(ten.errors!.length, 10);
  assert.equal(ten.errorsTotal, 50);
  const three = reject(compileRules('closed', closed, { maxErrorsPerLine: 3 }), line);
  assert.equal(three.errors!.length, 3);
  assert.equal(three.errorsTotal, 50);
  const rec = recordOf(ten);
  assert.equal(rec.errors_total, 50);
  assert.equal(rec.errors.length, 10);
  assert.throws(() => compileRules('closed', closed, { maxErrorsPerLine: 0 }), RangeError);
});

test('a closest branch with more violations than the limit still has the record name it', () => {
  const keys = Array.from({ length: 15 }, (_, i) => `field_${i}`);
  const branch = (kind: string) => ({ type: 'object', required: ['kind', ...keys], properties: { kind: { const: kind } } });
  const rules = compileRules('wide', JSON.stringify({ oneOf: [branch('a'), branch('b')] }));
  const why = reject(rules, { kind: 'b' });
  assert.equal(why.errorsTotal, 16);
  assert.equal(why.errors!.length, 10);
  assert.deepEqual(why.errors!.slice(0, 9).map((e) => e.keyword), Array(9).fill('required'));
  const last = why.errors!.at(-1)!;
  assert.equal(last.keyword, 'oneOf');
  assert.match(last.message, /closest: branch 1 .*kind = "b" \(its discriminator matched\)/);
  // Within the limit, nothing moves: the closest line stays last, after all of the branch's violations.
  const all = reject(compileRules('wide', JSON.stringify({ oneOf: [branch('a'), branch('b')] }), { maxErrorsPerLine: 20 }), { kind: 'b' });
  assert.deepEqual(all.errors!.map((e) => e.keyword), [...Array(15).fill('required'), 'oneOf']);
});

test('a reject record without raw stays under 4 KiB, whatever the source name, keys or messages', () => {
  const longKey = 'k'.repeat(2000);
  const schema = JSON.stringify({ type: 'object', patternProperties: { '^k': { type: 'string', pattern: '^' + 'x'.repeat(1500) + '$' } } });
  const line = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [longKey + i, 'y']));
  const why = reject(compileRules('long', schema), line);
  const rec = recordOf(why, 's3://bucket/' + 'deep/'.repeat(150) + 'part.jsonl');
  delete rec.raw;
  assert.ok(Buffer.byteLength(JSON.stringify(rec)) < MAX_RECORD_WITHOUT_RAW, `${Buffer.byteLength(JSON.stringify(rec))} bytes`);
  assert.equal(rec.errors_total, 20);
});

test(`verdicts are ajv's own (no allErrors) on the oneOf schema (${RUNS} runs)`, () => {
  const ajv = new Ajv({ strict: false });
  addFormats(ajv, { mode: 'full' });
  const check = ajv.compile(JSON.parse(EVENTS_TEXT));
  const types = (JSON.parse(EVENTS_TEXT).oneOf as Array<{ $ref: string }>).map((r) => r.$ref.split('/').pop()!);
  const field = fc.oneof(fc.integer({ min: -2, max: 5 }), fc.constantFrom('abc', 'ABC', '', null), fc.constant([{ k: 'v' }]), fc.constant([]), fc.constant([{}]));
  fc.assert(
    fc.property(fc.constantFrom(...types, 'nope'), fc.constantFrom(UUID, 'x'), fc.constantFrom(WHEN, 'soon'), fc.constantFrom(...types), field, fc.option(fc.constantFrom('note', null, 7)), (type, id, when, dataOf, data, note) => {
      const line: Record<string, unknown> = { type, event_id: id, timestamp: when, [`${dataOf}_data`]: data };
      if (note !== null) line.note = note;
      const buf = Buffer.from(JSON.stringify(line));
      const v = classify(buf, 0, buf.length, EVENTS);
      assert.equal(v === null, check(line), JSON.stringify(line));
      if (v !== null && v !== 'blank') assert.ok(v.errors!.length > 0 && v.errors!.length <= 10);
    }),
    { numRuns: RUNS },
  );
});

/** GitHub's webhook schema in small: a oneOf of event types, each a oneOf over its actions. */
function eventsByAction(types: number): string {
  const definitions: Record<string, unknown> = {
    user: { type: 'object', properties: { login: { type: 'string' }, id: { type: 'integer' } }, required: ['login', 'id'], additionalProperties: false },
  };
  const oneOf: unknown[] = [];
  for (let t = 0; t < types; t++) {
    const actions = ['created', 'deleted', 'edited'].map((action) => {
      definitions[`thing${t}$${action}`] = {
        type: 'object',
        properties: { action: { type: 'string', enum: [action] }, [`thing${t}`]: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] }, sender: { $ref: '#/definitions/user' } },
        required: ['action', `thing${t}`, 'sender'],
        additionalProperties: false,
      };
      return { $ref: `#/definitions/thing${t}$${action}` };
    });
    definitions[`thing${t}_event`] = { oneOf: actions };
    oneOf.push({ $ref: `#/definitions/thing${t}_event` });
  }
  return JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', definitions, oneOf });
}

test('a reject under a oneOf of oneOfs is explained by the action whose discriminator matched, one level down', () => {
  const rules = compileRules('events', eventsByAction(20));
  const why = reject(rules, { action: 'edited', thing7: { n: 'x' }, sender: { login: 'a', id: 1 } });
  assert.deepEqual(why.errors!.map((e) => `${e.path} ${e.keyword}`), ['/thing7/n type', '/ oneOf', '/ oneOf']);
  assert.match(why.errors![1].message, /closest: branch 2 #\/definitions\/thing7\$edited/);
  assert.match(why.errors![2].message, /closest: branch 7 #\/definitions\/thing7_event \(its discriminator matched\)/);
});

test('explaining a reject compiles only the branches that can match, not every branch of the schema', async () => {
  const { makeExplainer } = await import('../../src/validate/explain.js');
  let compiled = 0;
  const make = (allErrors: boolean) => {
    const a = new Ajv({ strict: false, allErrors, inlineRefs: false, code: { process: (code: string) => (compiled++, code) } });
    addFormats(a, { mode: 'full' });
    return a;
  };
  const schema = JSON.parse(eventsByAction(40));
  const explain = makeExplainer(schema, make, '$id');
  const errors = explain({ action: 'deleted', thing31: { n: 1 }, sender: { login: 'a' } });
  assert.ok(errors.some((e) => e.keyword === 'required' && e.params.missingProperty === 'id'), JSON.stringify(errors));
  // 40 event types × 3 actions: deciding every branch and explaining every candidate compiled 256
  // functions here; the branches that can match, their `user` ref and the two roots are 16.
  assert.ok(compiled <= 20, `${compiled} functions compiled`);
});

test('past MAX_CACHED_BRANCHES compiled branches the explainer starts afresh, and explains the same lines the same way', async () => {
  const { makeExplainer, MAX_CACHED_BRANCHES } = await import('../../src/validate/explain.js');
  let instances = 0;
  const make = (allErrors: boolean) => {
    instances++;
    const a = new Ajv({ strict: false, allErrors, inlineRefs: false });
    addFormats(a, { mode: 'full' });
    return a;
  };
  // Each line below compiles two branches (its event type and its action): enough distinct event
  // types to pass the limit once.
  const types = MAX_CACHED_BRANCHES / 2 + 20;
  const explain = makeExplainer(JSON.parse(eventsByAction(types)), make, '$id');
  const lineOf = (t: number) => ({ action: 'edited', [`thing${t}`]: { n: 'x' }, sender: { login: 'a', id: 1 } });
  const first = explain(lineOf(0));
  assert.equal(instances, 1);
  for (let t = 1; t < types; t++) explain(lineOf(t));
  assert.equal(instances, 2, 'one fresh start after the limit');
  assert.deepEqual(explain(lineOf(0)), first);
  assert.deepEqual(first.map((e) => `${e.instancePath} ${e.keyword}`), ['/thing0/n type', ' oneOf', ' oneOf']);
});

test('a reject under a oneOf of 66 event types is explained by its own branch within the error cap, with the total of all', () => {
  const rules = compileRules('events', eventsByAction(66));
  const extras = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`extra_${i}`, i]));
  const why = reject(rules, { action: 'deleted', thing40: { n: 'x' }, sender: { login: 'a', id: 1 }, ...extras });
  assert.equal(why.errors!.length, 10);
  // 15 extra keys and /thing40/n in branch "deleted" of thing40, and the two oneOf summaries.
  assert.equal(why.errorsTotal, 18);
  for (const e of why.errors!.slice(0, 9)) assert.match(`${e.path} ${e.message}`, /^\/thing40\/n must be integer|^\/ must NOT have additional property 'extra_\d+'/);
  // The tenth place goes to the line naming the event type it was taken for (the outer oneOf's).
  const last = why.errors!.at(-1)!;
  assert.equal(last.keyword, 'oneOf');
  assert.match(last.message, /closest: .*thing40/);
});

test('a nullable field’s oneOf of bare types is settled without compiling its branches, and explained as before', async () => {
  const { makeExplainer } = await import('../../src/validate/explain.js');
  let compiled = 0;
  const make = (allErrors: boolean) => new Ajv({ strict: false, allErrors, inlineRefs: false, validateSchema: false, code: { process: (code: string) => (compiled++, code) } });
  const schema = {
    definitions: { nothing: { type: 'null', description: 'absent' } },
    type: 'object',
    properties: {
      closed_at: { oneOf: [{ type: 'string', title: 'when' }, { $ref: '#/definitions/nothing' }] },
      state: { oneOf: [{ const: 'open' }, { enum: ['closed', 'merged'] }] },
      n: { type: 'integer' },
    },
  };
  const explain = makeExplainer(schema, make, '$id');
  compiled = 0;
  const errors = explain({ closed_at: null, state: 'merged', n: 'x' });
  assert.deepEqual(errors.map((e) => `${e.instancePath} ${e.keyword}`), ['/n type']);
  assert.equal(compiled, 0, 'no branch compiled');
  // A $ref with a sibling that asserts is more than its target: compiled and run.
  const guarded = makeExplainer({ ...schema, definitions: { nothing: { $ref: '#/definitions/null', minimum: 1 }, null: { type: 'null' } } }, make, '$id');
  compiled = 0;
  assert.deepEqual(guarded({ closed_at: null, state: 'open', n: 1.5 }).map((e) => `${e.instancePath} ${e.keyword}`), ['/n type']);
  assert.ok(compiled > 0, 'the guarded branch compiled');
});

test('a nested oneOf rules a value out only by the keys all its branches require', async () => {
  const { makeExplainer } = await import('../../src/validate/explain.js');
  const make = (allErrors: boolean) => new Ajv({ strict: false, allErrors, inlineRefs: false });
  const schema = {
    type: 'object',
    properties: {
      payment: {
        allOf: [{ required: ['amount'] }],
        oneOf: [
          { oneOf: [{ required: ['kind', 'card'] }, { required: ['kind', 'iban'] }] },
          { required: ['kind', 'voucher'], properties: { voucher: { type: 'string' } } },
        ],
      },
      n: { type: 'integer' },
    },
  };
  const explain = makeExplainer(schema, make, '$id');
  // Passes the oneOf by its first branch's second branch: only /n is wrong.
  assert.deepEqual(explain({ payment: { amount: 1, kind: 'sepa', iban: 'DE00' }, n: 'x' }).map((e) => `${e.instancePath} ${e.keyword}`), ['/n type']);
  // Missing `kind`, which every branch requires, and `amount`, which allOf requires.
  const errors = explain({ payment: { iban: 'DE00' }, n: 1 });
  assert.ok(errors.some((e) => e.keyword === 'required' && e.params.missingProperty === 'amount'), JSON.stringify(errors));
  assert.ok(errors.some((e) => e.keyword === 'required' && e.params.missingProperty === 'kind'), JSON.stringify(errors));
});

test('a branch whose discriminator is an object const or a number enum is still found as the closest', async () => {
  const { makeExplainer } = await import('../../src/validate/explain.js');
  const make = (allErrors: boolean) => new Ajv({ strict: false, allErrors, inlineRefs: false });
  const schema = {
    oneOf: [
      { required: ['x', 'y', 'z'] },
      { oneOf: [{ properties: { kind: { const: { v: 1 } }, a: { type: 'integer' } }, required: ['kind', 'a'] }] },
      { oneOf: [{ properties: { kind: { enum: [2, 'two'] }, b: { type: 'string' } }, required: ['kind', 'b'] }] },
    ],
  };
  const explain = makeExplainer(schema, make, '$id');
  // The outer oneOf's summary comes last.
  const closest = (line: unknown) => explain(line).at(-1)!;
  assert.match(closest({ kind: { v: 1 }, a: 'x', y: 1 }).message!, /closest: branch 1 .*its discriminator matched/);
  assert.match(closest({ kind: 2, b: 5, y: 1 }).message!, /closest: branch 2 .*its discriminator matched/);
});

test('a discriminator two oneOfs down is found, and a oneOf that holds itself is explained without looping', async () => {
  const { makeExplainer } = await import('../../src/validate/explain.js');
  const make = (allErrors: boolean) => new Ajv({ strict: false, allErrors, inlineRefs: false });
  const schema = {
    definitions: {
      // Reaches itself through its own branches (for arrays only, which no line is): the search for
      // discriminators stops at a depth.
      loop: { oneOf: [{ type: 'array', oneOf: [{ $ref: '#/definitions/loop' }] }, { required: ['never_there'] }] },
      deep: { oneOf: [{ oneOf: [{ properties: { kind: { const: 'deep' }, n: { type: 'integer' } }, required: ['kind', 'n'] }] }] },
    },
    oneOf: [{ required: ['x', 'y'] }, { $ref: '#/definitions/loop' }, { $ref: '#/definitions/deep' }],
  };
  const explain = makeExplainer(schema, make, '$id');
  assert.match(explain({ kind: 'deep', n: 'x', y: 1 }).at(-1)!.message!, /closest: branch 2 .*its discriminator matched/);
  assert.doesNotMatch(explain({ kind: 'other', n: 1 }).at(-1)!.message!, /its discriminator matched/);
});

test('a failed branch is explained by the same errors, in the same order, as ajv with allErrors gives it alone', () => {
  // The explainer's ajv is set to generate less code (loopRequired); what it reports must not change.
  const branch = {
    type: 'object',
    required: ['action', 'id', 'name', 'owner', 'url'],
    properties: { action: { const: 'created' }, id: { type: 'integer' }, url: { type: 'string', format: 'uri' }, tags: { enum: ['a', 'b'] } },
    additionalProperties: false,
  };
  const schema = { oneOf: [branch, { required: ['other'], properties: { action: { const: 'deleted' } } }] };
  const line = { action: 'created', id: 'x', url: 'not a uri', tags: 'c', extra: 1 };
  const alone = new Ajv({ strict: false, allErrors: true });
  addFormats(alone, { mode: 'full' });
  assert.equal(alone.validate(branch, line), false);
  // As a reject reports them: a missing key at its own pointer.
  const expected = alone.errors!.map((e) => `${e.instancePath + (e.keyword === 'required' ? `/${e.params.missingProperty}` : '') || '/'} ${e.keyword}`);
  const why = reject(compileRules('one-branch', JSON.stringify(schema), { maxErrorsPerLine: 50 }), line);
  // The branch's errors, then the oneOf's summary.
  assert.deepEqual(why.errors!.slice(0, -1).map((e) => `${e.path} ${e.keyword}`), expected);
  assert.ok(expected.includes('/name required') && expected.includes('/owner required'), expected.join(', '));
});
