import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSelection, globToRegExp, isMarker, type Filter } from '../../src/keys/select.js';

const pick = (filters: Filter[], keys: string[]) => keys.filter((k) => compileSelection(filters)(k, 10) === undefined);

const KEYS = ['2026/01/a.json', '2026/01/b.json.gz', '2026/02/c.log', 'README.md', 'tmp/x.json'];

test('with no filters every non-marker object is cleaned', () => {
  assert.deepEqual(pick([], KEYS), KEYS);
});

test('filters apply in order and the last match wins, as in the AWS CLI', () => {
  assert.deepEqual(pick([{ exclude: '*' }, { include: '*.json' }], KEYS), ['2026/01/a.json', 'tmp/x.json']);
  // The same two filters the other way round: the exclude comes last and wins.
  assert.deepEqual(pick([{ include: '*.json' }, { exclude: '*' }], KEYS), []);
  assert.deepEqual(pick([{ exclude: '*' }, { include: '*.json' }, { exclude: 'tmp/*' }], KEYS), ['2026/01/a.json']);
});

test('* matches across /, ? one character, [..] a set, and a key must match whole', () => {
  assert.deepEqual(pick([{ exclude: '2026*' }], KEYS), ['README.md', 'tmp/x.json']);
  assert.deepEqual(pick([{ exclude: '2026/0?/*' }], KEYS), ['README.md', 'tmp/x.json']);
  assert.deepEqual(pick([{ exclude: '2026/0[!1]/*' }], KEYS), ['2026/01/a.json', '2026/01/b.json.gz', 'README.md', 'tmp/x.json']);
  assert.deepEqual(pick([{ exclude: '*.json' }], KEYS), ['2026/01/b.json.gz', '2026/02/c.log', 'README.md']);
  assert.deepEqual(pick([{ exclude: 'json' }], KEYS), KEYS);
});

test('matching is case-sensitive and everything but * ? [ is literal', () => {
  assert.deepEqual(pick([{ exclude: 'readme.md' }], KEYS), KEYS);
  assert.deepEqual(pick([{ exclude: 'README.md' }], KEYS), KEYS.filter((k) => k !== 'README.md'));
  assert.equal(globToRegExp('a.b(c)+$').test('a.b(c)+$'), true);
  assert.equal(globToRegExp('a.b').test('axb'), false);
  assert.equal(globToRegExp('[unclosed').test('[unclosed'), true);
});

test('markers are skipped by default and an --include that matches brings one back', () => {
  for (const k of ['_SUCCESS', 'x/_SUCCESS', 'part-0.json.crc', 'x/.part-0.json.crc', '.hidden.json', 'x/manifest/_meta.json']) assert.equal(isMarker(k, 10), true, k);
  // Only the last segment counts: a folder named _temporary holds ordinary names.
  assert.equal(isMarker('x/_temporary/part-0.json', 10), false);
  const sel = compileSelection([]);
  assert.equal(sel('x/_SUCCESS', 0), 'marker');
  assert.equal(sel('x/part-0.json.crc', 99), 'marker');
  assert.equal(sel('x/empty.json', 0), 'marker');
  assert.equal(sel('x/_underscore.json', 5), 'marker');
  assert.equal(sel('x/events.json', 5), undefined);
  assert.equal(compileSelection([{ include: '*/_underscore.json' }])('x/_underscore.json', 5), undefined);
  assert.equal(compileSelection([{ exclude: '*.json' }])('x/events.json', 5), 'excluded');
});

test('a marker that a filter also excludes is still counted as a marker', () => {
  assert.equal(compileSelection([{ exclude: '*' }])('x/_SUCCESS', 0), 'marker');
  assert.equal(compileSelection([{ exclude: '*' }, { include: '*' }])('x/_SUCCESS', 0), undefined);
});
