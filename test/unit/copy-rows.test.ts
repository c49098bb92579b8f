/**
 * The PostgreSQL load's rows in COPY text format, against a reference written independently of the
 * byte scan: the line parsed with JSON.parse, each typed column's value decoded and escaped as text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Column } from '../../src/load/columns.js';
import { CopyText, escapeText } from '../../src/load/copy-text.js';
import { makeRowWriter } from '../../src/load/postgres.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const COLS: Column[] = [
  { name: 'id', kind: 'uuid' },
  { name: 'n', kind: 'bigint' },
  { name: 'x', kind: 'double' },
  { name: 'ok', kind: 'boolean' },
  { name: 'at', kind: 'timestamptz' },
  { name: 'obj', kind: 'json' },
  { name: 'é\t"k', kind: 'json' },
];
const TAIL = Buffer.from('\ts3://b/k\tetag\t');
const END = Buffer.from('\t7\n');

/** What the row must be: each value from JSON.parse (a string's contents, else its JSON), escaped. */
function reference(line: string, no: number): string {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    o = undefined;
  }
  const rec = o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : {};
  const cells = COLS.map(({ name, kind }) => {
    const v = rec[name];
    if (v === undefined || v === null) return '\\N';
    if (kind !== 'json' && typeof v === 'string') return escapeText(v);
    return escapeText(JSON.stringify(v));
  });
  return `${cells.join('\t')}\t${escapeText(line)}${TAIL.toString()}${no}${END.toString()}`;
}

function row(line: string, no = 3): string {
  const out = new CopyText(16);
  makeRowWriter(COLS)(out, Buffer.from(line), TAIL, no, END);
  return out.take().toString();
}

test('a row holds each typed value as the database parses it, the line escaped whole, and its provenance', () => {
  const lines = [
    '{"id":"8e0b3a53-91d1-425b-8f4d-2c2630cfd9b5","n":12,"x":-1500.25,"ok":true,"at":"2026-01-01T00:00:00Z","obj":{"a":[1,"}\\"",{"b":null}]}}',
    '{"n":1,"n":2}',
    '{ "id" : "a\\\\b\\tc" ,\t"obj" : [] , "ok":false}',
    '{"\\u00e9\\t\\"k":{"deep":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}',
    '{"x":null,"id":"tab\\there","other":"\\\\"}',
    '[1,2]',
    '"just a string"',
    '{}',
  ];
  for (const l of lines) assert.equal(row(l), reference(l, 3), l);
});

test('a number keeps its digits as written; an integer written 12.0 or 1e3 goes to a bigint column as its value', () => {
  assert.match(row('{"x":-1.50e3}'), /^\\N\t\\N\t-1.50e3\t/);
  assert.match(row('{"n":12.0}'), /^\\N\t12\t/);
  assert.match(row('{"n":1e3}'), /^\\N\t1000\t/);
  assert.match(row('{"n":1e30}'), /^\\N\t1e30\t/);
});

test('any JSON object gives the same row as the JSON.parse reference', () => {
  const key = fc.constantFrom('id', 'n', 'x', 'ok', 'at', 'obj', 'é\t"k', 'other', '');
  const value = fc.jsonValue({ maxDepth: 3 });
  fc.assert(
    fc.property(fc.dictionary(key, value), fc.nat({ max: 1e6 }), (o, no) => {
      const line = JSON.stringify(o);
      // Numbers in a bigint column keep their digits in the row, which JSON.stringify may respell.
      if (typeof o.n === 'number' && !Number.isInteger(o.n)) return;
      assert.equal(row(line, no), reference(line, no));
    }),
    { numRuns: RUNS },
  );
});
