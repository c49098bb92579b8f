/**
 * The JSONTestSuite parsing corpus ("Parsing JSON is a Minefield") through the real splitter and
 * classify, with permissive rules: y_* must never be rejected as bad JSON or bad UTF-8, n_* must
 * never be valid, and what we do with each i_* case is written to
 * test/fixtures/jsontestsuite-i-cases.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineSplitter } from '../../src/lines/splitter.js';
import { classify } from '../../src/validate/classify.js';
import { compileRules } from '../../src/validate/schema.js';

const CORPUS = new URL('../../../shared/corpus/JSONTestSuite/test_parsing/', import.meta.url);
const TABLE = new URL('../fixtures/jsontestsuite-i-cases.md', import.meta.url);
const PERMISSIVE = compileRules('t', '{}');

/**
 * Cases that are not one JSON-lines record, so not checked: their JSON text spans several lines.
 * A file whose only "\n" is its last byte is one line with its terminator, and is checked.
 */
const MULTI_LINE = [
  'n_array_newlines_unclosed.json',
  'n_array_unclosed_with_new_lines.json',
  'n_string_unescaped_newline.json',
  'y_array_with_1_and_newline.json',
  'y_object_with_newlines.json',
];

/**
 * n_* cases that are not rejected, and why that is right for JSON lines: an empty input (or only a
 * BOM) has no line at all, and a line of only spaces is blank (counted, not written).
 */
const N_NOT_REJECTED: Record<string, string> = {
  'n_structure_no_data.json': 'no line',
  'n_structure_UTF8_BOM_no_data.json': 'no line',
  'n_single_space.json': 'blank',
};

interface Outcome {
  /** One entry per line the splitter found: 'valid', 'blank', or the reject reason. */
  lines: string[];
}

/** Runs a file's bytes through the product's splitter and classify, as `cleaner` would. */
function clean(data: Buffer): Outcome {
  const lines: string[] = [];
  const s = new LineSplitter(
    {
      line(buf, start, contentEnd) {
        const v = classify(buf, start, contentEnd, PERMISSIVE);
        lines.push(v === null ? 'valid' : v === 'blank' ? 'blank' : v.reason);
      },
      overlong() {
        lines.push('line_too_long');
      },
    },
    { maxLineBytes: 1 << 20 },
  );
  s.push(data);
  s.end();
  return { lines };
}

test('JSONTestSuite test_parsing: y_ never rejected as bad JSON, n_ never valid, i_ recorded', (t) => {
  if (!existsSync(CORPUS)) {
    t.skip(`JSONTestSuite corpus not found at ${fileURLToPath(CORPUS)}`);
    return;
  }
  const files = readdirSync(CORPUS).filter((f) => /^[yni]_.*\.json$/.test(f)).sort();
  assert.ok(files.length > 300, `expected the full corpus, found ${files.length} files`);

  const multiLine: string[] = [];
  const counts = { y: 0, n: 0, i: 0 };
  const iRows: Array<{ file: string; bytes: Buffer; verdict: string }> = [];
  const failures: string[] = [];

  for (const file of files) {
    const data = readFileSync(join(fileURLToPath(CORPUS), file)); // not new URL(file, CORPUS): some names hold '#'
    const body = data.length && data[data.length - 1] === 0x0a ? data.subarray(0, -1) : data;
    if (body.includes(0x0a)) {
      multiLine.push(file);
      continue;
    }
    let out: Outcome;
    try {
      out = clean(data);
    } catch (err) {
      failures.push(`${file}: threw ${(err as Error).message}`);
      continue;
    }
    const verdict = out.lines.length === 0 ? 'no line' : out.lines.join(',');
    if (out.lines.length > 1) failures.push(`${file}: ${out.lines.length} lines from a single-line case`);
    const kind = file[0] as 'y' | 'n' | 'i';
    counts[kind]++;
    if (kind === 'y') {
      // A y_ case is JSON: an object is valid, anything else is not_object; never a parse reject.
      const top = body.toString('utf8').trimStart().replace(/^\ufeff/, '')[0];
      const want = top === '{' ? 'valid' : 'not_object';
      if (verdict !== want) failures.push(`${file}: expected ${want}, got ${verdict}`);
    } else if (kind === 'n') {
      const allowed = N_NOT_REJECTED[file];
      if (allowed !== undefined) {
        if (verdict !== allowed) failures.push(`${file}: expected ${allowed}, got ${verdict}`);
      } else if (verdict !== 'invalid_json' && verdict !== 'invalid_utf8') {
        failures.push(`${file}: expected invalid_json or invalid_utf8, got ${verdict}`);
      }
    } else {
      iRows.push({ file, bytes: body, verdict });
    }
  }

  assert.deepEqual(failures, []);
  assert.deepEqual(multiLine, MULTI_LINE, 'the multi-line exclusions are exactly the listed ones');
  t.diagnostic(`checked y=${counts.y} n=${counts.n} i=${counts.i}; skipped ${multiLine.length} multi-line: ${multiLine.join(', ')}`);
  assert.ok(counts.y > 80 && counts.n > 170 && counts.i > 30, JSON.stringify(counts));

  // The i_ table: a generated file, stable from run to run so it can be committed.
  const valid = iRows.filter((r) => r.verdict === 'valid').length;
  const byVerdict = new Map<string, number>();
  for (const r of iRows) if (r.verdict !== 'valid') byVerdict.set(r.verdict, (byVerdict.get(r.verdict) ?? 0) + 1);
  const summary = [...byVerdict].sort().map(([v, n]) => `${n} ${v}`).join(', ');
  const hex = (b: Buffer) => {
    const h = b.subarray(0, 24).toString('hex').replace(/(..)/g, '$1 ').trim();
    return b.length > 24 ? `${h} … (${b.length} bytes)` : h;
  };
  const md = [
    '# JSONTestSuite i_* cases: what cleaner does',
    '',
    'Generated by `test/unit/jsontestsuite.test.ts` (do not edit by hand). Each `i_*` file of',
    'JSONTestSuite `test_parsing/` is fed to the LineSplitter and classified with permissive rules',
    "(`compileRules('t', '{}')`). \"valid\" lines are copied to output/ byte for byte; every other",
    'outcome is a reject record in errors/ with that reason.',
    '',
    `${iRows.length} cases: ${valid} valid (written to output/), ${iRows.length - valid} rejected (${summary}).`,
    '',
    '| case | first bytes (hex) | outcome |',
    '|---|---|---|',
    ...iRows.map((r) => `| \`${r.file}\` | \`${hex(r.bytes)}\` | ${r.verdict} |`),
    '',
    'Notes: a line with a lone surrogate *escape* (`"\\uDFAA"`) is valid JSON to `JSON.parse`, so an',
    'object holding one is copied to output/ unchanged; a scalar or array holding one is not_object.',
    'Raw bytes that are not UTF-8 (Latin-1, UTF-16, overlong or surrogate encodings) are invalid_utf8.',
    'Huge numbers parse (to Infinity or 0), so only their top-level type decides. A BOM at byte 0 is',
    'stripped before the line, so `BOM{}` is valid and is written without the BOM.',
    '',
  ].join('\n');
  writeFileSync(TABLE, md);
  t.diagnostic(`i_ cases: ${iRows.length} (${valid} valid, ${iRows.length - valid} rejected: ${summary}); table written to test/fixtures/jsontestsuite-i-cases.md`);
  assert.equal(readFileSync(TABLE, 'utf8'), md);
});
