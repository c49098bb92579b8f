/**
 * Listing a local source one file at a time: the keys come in the order a sort of all of them
 * gives (the state numbers objects in listing order, and a run cleans them in it), from a real
 * tree whose names sort differently as folder names and as keys.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eachLocalFile } from '../../src/stages/manifest.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cleaner-local-list-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('every file of a tree, in key order, never the local dir, once each', () => {
  const src = join(dir, 'src');
  // "a/…" sorts after "a-b/…", "a.c" and "a b/…" ('/' is 0x2f), and "a0/…" after "a0.txt".
  const files = ['a/1', 'a/0', 'a-b/2', 'a.c', 'ab', 'a b/x/3', 'é/4', 'ea', 'z/y/x/5', 'z/y0', 'A/6', 'a0/7', 'a-', 'a0.txt', '~', 'out-not/8'];
  for (const f of files) {
    mkdirSync(join(src, f, '..'), { recursive: true });
    writeFileSync(join(src, f), f);
  }
  mkdirSync(join(src, 'local', 'output'), { recursive: true });
  writeFileSync(join(src, 'local', 'output', 'x'), 'ours');
  symlinkSync(join(src, 'ab'), join(src, 'link-to-ab'));
  const listed = [...eachLocalFile(src, join(src, 'local'))];
  const keys = listed.map((o) => o.key);
  const expected = [...files, 'link-to-ab'].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.deepEqual(keys, expected);
  const a1 = listed.find((o) => o.key === 'a/1')!;
  assert.equal(a1.size, 3);
  assert.equal(a1.gz, false);
  assert.match(a1.etag, /^3:\d+$/);
});

test('a source that is a file lists that file alone, by its name', () => {
  const file = join(dir, 'one.jsonl.gz');
  writeFileSync(file, 'x');
  assert.deepEqual(
    [...eachLocalFile(file, join(dir, 'local'))].map((o) => [o.key, o.gz]),
    [['one.jsonl.gz', true]],
  );
});
