/**
 * The HTML run report as an operator meets it: made by the real CLI from a real run, opened from
 * disk in a real headless Chromium. It draws its charts, sorts its table, loads nothing from the
 * network, logs no error, and shows a hostile object key as text without running it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { runCli } from '../helpers/cli.js';
import { generateEvents } from '../helpers/events.js';
import { renderHtml } from '../../src/report/html.js';
import type { ObjectFigures, RunReport } from '../../src/report/build.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCREENSHOT_COPY = '/tmp/report-screenshot.png';
/** The key is `<dir>/<file>`: "/" cannot be in a Linux file name, so "</script>" spans the two. */
const HOSTILE_KEY = `<script>alert(1)</script> "double" 'single' & <img src=x onerror=alert(2)>.jsonl`;

const skip = existsSync(CHROMIUM) ? false : `no ${CHROMIUM}: install it with \`apt-get install -y chromium\` (as root; .ci/run does this in CI)`;

/** Builds dist/ when any source file is newer than its output: the CLI runs from dist/. */
function ensureBuilt(): void {
  const stale = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((e) => {
      const p = join(dir, e.name);
      if (e.isDirectory()) return stale(p);
      if (!e.name.endsWith('.ts')) return false;
      const out = join(ROOT, 'dist', relative(join(ROOT, 'src'), p)).replace(/\.ts$/, '.js');
      return !existsSync(out) || statSync(out).mtimeMs < statSync(p).mtimeMs;
    });
  if (!stale(join(ROOT, 'src'))) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', ROOT], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
}

interface Opened {
  page: Page;
  url: string;
  consoleErrors: string[];
  pageErrors: string[];
  requests: string[];
  dialogs: string[];
}

let browser: Browser;

/** Opens a file in a fresh page, recording every console error, page error, request and dialog. */
async function open(file: string, width = 1280): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const o: Opened = { page, url: pathToFileURL(file).href, consoleErrors: [], pageErrors: [], requests: [], dialogs: [] };
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') o.consoleErrors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => o.pageErrors.push(e.message));
  page.on('request', (r) => o.requests.push(r.url()));
  page.on('dialog', (d) => {
    o.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  await page.goto(o.url, { waitUntil: 'load' });
  return o;
}

/** Nothing went wrong and nothing was fetched but the page itself. */
function assertQuiet(o: Opened): void {
  assert.deepEqual(o.consoleErrors, [], 'no console errors or warnings');
  assert.deepEqual(o.pageErrors, [], 'no page errors');
  assert.deepEqual(o.dialogs, [], 'no dialog (alert) fired');
  assert.deepEqual(o.requests, [o.url], 'no request but the file itself');
}

/** Sizes of every element matching `selector`, as laid out. */
function boxes(page: Page, selector: string): Promise<Array<{ w: number; h: number }>> {
  return page.$$eval(selector, (els) => els.map((e) => ({ w: e.getBoundingClientRect().width, h: e.getBoundingClientRect().height })));
}

/** The numeric values (data-v) of one column of the objects table, top to bottom. */
function column(page: Page, index: number): Promise<number[]> {
  return page.$$eval(`table.objects-table tbody tr td:nth-child(${index + 1})`, (tds) => tds.map((td) => Number((td as HTMLElement).dataset.v)));
}

function isSorted(xs: number[], dir: 1 | -1): boolean {
  return xs.every((x, i) => i === 0 || (x - xs[i - 1]) * dir >= 0);
}

describe('the HTML run report in a real browser', { skip }, () => {
  let dir: string;

  before(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'cleaner-report-html-'));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes the files, runs `cleaner run` then `cleaner report --html`; returns the page and the JSON report. */
  async function reportOf(name: string, files: Record<string, Buffer>, runArgs: string[] = []): Promise<{ html: string; report: RunReport; runCode: number | null }> {
    const src = join(dir, name, 'src');
    mkdirSync(src, { recursive: true });
    for (const [key, data] of Object.entries(files)) {
      mkdirSync(dirname(join(src, key)), { recursive: true });
      writeFileSync(join(src, key), data);
    }
    const state = join(dir, name, 'state.db');
    const run = await runCli(['run', '--source', src, '--local-dir', join(dir, name, 'local'), '--state', state, '--log-format', 'json', ...runArgs]);
    assert.ok(run.code === 0 || run.code === 5, `run exit ${run.code}: ${run.stderr}`);
    const html = join(dir, name, 'report.html');
    const r = await runCli(['report', '--state', state, '--html', html]);
    assert.equal(r.code, 0, r.stderr);
    const json = await runCli(['report', '--state', state]);
    assert.equal(json.code, 0, json.stderr);
    return { html, report: JSON.parse(json.stdout) as RunReport, runCode: run.code };
  }

  test('a real run renders its gate, charts, table and examples, quietly and with the hostile key as text', async () => {
    // Error rates from 0% to ~60%, one object with 1 000 lines so a numeric sort differs from a text sort.
    const specs: Array<[string, number, number]> = [
      ['events/2026/11/01/clean.jsonl', 200, 0],
      ['events/2026/11/02/mostly-fine.jsonl', 1000, 0.03],
      ['events/2026/11/03/some-bad.jsonl', 300, 0.15],
      ['events/2026/11/04/bad.jsonl', 300, 0.35],
      ['events/2026/11/05/terrible.jsonl', 300, 0.6],
      [HOSTILE_KEY, 120, 0.5],
    ];
    const files: Record<string, Buffer> = {};
    const expected = new Map<string, ReturnType<typeof generateEvents>>();
    specs.forEach(([key, lines, rejectRate], i) => {
      const g = generateEvents({ seed: 100 + i, lines, rejectRate });
      files[key] = g.data;
      expected.set(key, g);
    });
    const { html, report, runCode } = await reportOf('real', files, ['--max-error-rate', '0.3']);
    assert.equal(runCode, 5, 'the gate was breached (exit 5)');
    assert.ok(report.objects.some((o) => o.key === HOSTILE_KEY), 'the hostile key survived as an object key');

    const o = await open(html);
    const { page } = o;
    assertQuiet(o);
    assert.equal(await page.evaluate(() => document.scripts.length), 2, 'only the page’s own two script elements exist');

    // The header and figures show the run.
    assert.match((await page.locator('h1').innerText()).replace(/\s+/g, ' '), /Run 1 done exit 5/);
    const lines = [...expected.values()].reduce((n, g) => n + g.lines, 0);
    const rejected = [...expected.values()].reduce((n, g) => n + g.rejected, 0);
    const figure = (label: string) => page.locator('.card', { has: page.locator('.label', { hasText: new RegExp(`^${label}$`) }) }).locator('.value').innerText();
    assert.equal(await figure('lines'), lines.toLocaleString('en-US'));
    assert.equal(await figure('rejected'), rejected.toLocaleString('en-US'));

    // The breached gate is shown prominently, with its reasons and quarantined objects.
    const gate = page.locator('#gate.breached');
    assert.ok(await gate.isVisible(), 'gate banner visible');
    assert.match(await gate.innerText(), /Quality gate breached/);
    for (const reason of report.gate!.reasons) assert.ok((await gate.innerText()).includes(reason), `gate reason shown: ${reason}`);
    const quarantined = report.gate!.quarantined.map((q) => q.key).sort();
    assert.ok(quarantined.includes(HOSTILE_KEY) && quarantined.length >= 3, `quarantined: ${quarantined.join(', ')}`);
    assert.deepEqual((await gate.locator('tbody td.key').allInnerTexts()).sort(), quarantined);

    // Charts: one bar per object with rejects, one per rule, each with a size.
    const withRejects = [...expected.entries()].filter(([, g]) => g.rejected > 0).length;
    const rateOf = (g: ReturnType<typeof generateEvents>) => g.rejected / (g.valid + g.rejected);
    const worst = [...expected.entries()].sort((a, b) => rateOf(b[1]) - rateOf(a[1]))[0][0];
    const rateBars = await boxes(page, 'rect.bar-error-rate');
    assert.equal(rateBars.length, withRejects);
    const ruleBars = await boxes(page, 'rect.bar-rule');
    assert.equal(ruleBars.length, report.rejected_by_rule.length);
    assert.ok(ruleBars.length >= 5, `several rules failed (${ruleBars.length})`);
    for (const b of [...rateBars, ...ruleBars]) assert.ok(b.w > 0 && b.h > 0, `bar has a size: ${JSON.stringify(b)}`);
    const tips = await page.$$eval('rect.bar-error-rate > title', (ts) => ts.map((t) => t.textContent ?? ''));
    assert.ok(tips.some((t) => t.startsWith(HOSTILE_KEY + ': error rate ')), `a tooltip names the hostile key: ${tips[0]}`);
    assert.ok(tips[0].startsWith(`${worst}: error rate `), `the worst object comes first: ${tips[0]}`);

    // The hostile key is text everywhere it appears: table, gate, chart label, examples.
    assert.equal(await page.locator('table.objects-table td.key', { hasText: HOSTILE_KEY }).count(), 1);
    // "<" sorts before "e", so the hostile object is cleaned first and supplies the first examples.
    assert.ok((await page.locator('#examples td.key', { hasText: HOSTILE_KEY }).count()) > 0, 'hostile key among the examples');
    assert.ok((await page.locator('svg text.label', { hasText: HOSTILE_KEY }).count()) === 1, 'hostile key as a chart label');
    assert.equal(await page.locator('img').count(), 0, 'no <img> was created from the key');

    // Example references: the top rules with their (key, line, offset) rows.
    const top = report.rejected_by_rule[0];
    const block = page.locator('#examples .example').first();
    assert.ok((await block.locator('h3').innerText()).includes(top.rule));
    assert.equal(await block.locator('tbody tr').count(), top.examples.length);
    const first = await block.locator('tbody tr').first().locator('td').allInnerTexts();
    assert.deepEqual(first, [top.examples[0].key, top.examples[0].line.toLocaleString('en-US'), top.examples[0].offset.toLocaleString('en-US')]);

    // The table: every object, sorted by error rate descending by default.
    const rateCol = 6;
    const before = await column(page, rateCol);
    assert.equal(before.length, specs.length);
    assert.ok(isSorted(before, -1), `default sort is error rate descending: ${before}`);
    const header = page.locator('table.objects-table thead th', { hasText: 'error rate' });
    assert.equal(await header.getAttribute('aria-sort'), 'descending');
    const screenshot = join(dir, 'report.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    copyFileSync(screenshot, SCREENSHOT_COPY);

    await header.click();
    const after = await column(page, rateCol);
    assert.ok(isSorted(after, 1), `one click sorts ascending: ${after}`);
    assert.deepEqual(after, [...before].reverse());
    assert.equal(await header.getAttribute('aria-sort'), 'ascending');
    const keysAfter = await page.locator('table.objects-table tbody td.key').allInnerTexts();
    assert.equal(keysAfter[keysAfter.length - 1], worst);

    // Numbers sort as numbers: 1 000 lines comes before 300, which a text sort would not do.
    await page.locator('table.objects-table thead th', { hasText: /^lines/ }).click();
    const linesCol = await column(page, 2);
    assert.deepEqual(linesCol, [...linesCol].sort((a, b) => b - a));
    assert.equal(linesCol[0], 1000);
    assertQuiet(o);
    await page.close();
  });

  test('a run with no rejects says so instead of drawing empty charts', async () => {
    const files = { 'a.jsonl': generateEvents({ seed: 1, lines: 50, rejectRate: 0 }).data, 'b.jsonl': generateEvents({ seed: 2, lines: 50, rejectRate: 0 }).data };
    const { html, report } = await reportOf('clean', files);
    assert.equal(report.totals.rejected, 0);
    const o = await open(html);
    assertQuiet(o);
    assert.equal(await o.page.locator('rect').count(), 0, 'no bars at all');
    assert.equal(await o.page.locator('svg.chart').count(), 0, 'no empty chart');
    assert.match(await o.page.locator('#error-rates .empty').innerText(), /No rejects/);
    assert.match(await o.page.locator('#rules .empty').innerText(), /No rejects/);
    assert.equal(await o.page.locator('table.objects-table tbody tr').count(), 2);
    await o.page.close();
  });

  test('a run with no objects renders an empty but complete page', async () => {
    const { html, report } = await reportOf('empty', {});
    assert.equal(report.totals.objects, 0);
    const o = await open(html);
    assertQuiet(o);
    assert.match(await o.page.locator('table.objects-table tbody').innerText(), /No objects in this run/);
    assert.equal(await o.page.locator('rect').count(), 0);
    await o.page.close();
  });

  test('5 000 objects: the page stays small, the chart shows the top 50, the table pages and filters', async () => {
    // Rendered directly: 5 000 real objects would make this test slow without testing more of the page.
    const objects: ObjectFigures[] = Array.from({ length: 5000 }, (_, i) => {
      const rejected = i % 7 === 0 ? 0 : (i * 37) % 400;
      const valid = 10_000 - rejected;
      return {
        key: `events/2026/11/${String(1 + (i % 30)).padStart(2, '0')}/part-${String(i).padStart(5, '0')}.jsonl.gz`,
        state: 'done', outcome: 'done', action: 'process', reason: 'new',
        lines: valid + rejected + 3, valid, rejected, blank: 3, error_rate: rejected / (valid + rejected),
        bytes: 4_000_000 + i, download_ms: 40, clean_ms: 120 + (i % 50), quarantined: false, error: null, rejected_by_reason: { schema: rejected },
      };
    });
    // The worst object, so it is also a chart label.
    Object.assign(objects[4999], { key: 'tricky\u0001ctrl\nnew\u202eline.jsonl', valid: 9000, rejected: 1000, error_rate: 0.1 });
    const report = syntheticReport(objects);
    const html = renderHtml(report);
    assert.ok(html.length < 2_000_000, `page is ${html.length} bytes`);
    const file = join(dir, 'many.html');
    writeFileSync(file, html);
    const o = await open(file);
    assertQuiet(o);
    const { page } = o;
    assert.equal(await page.locator('rect.bar-error-rate').count(), 50);
    const withRejects = objects.filter((x) => x.rejected > 0).length;
    assert.match(await page.locator('#error-rates p.muted').innerText(), new RegExp(`The 50 highest of ${withRejects.toLocaleString('en-US')} objects with rejected lines`));
    assert.equal(await page.locator('table.objects-table tbody tr').count(), 100, 'one page of rows');
    assert.equal(await page.locator('#obj-page').innerText(), '1–100 of 5,000');
    await page.locator('#obj-next').click();
    assert.equal(await page.locator('#obj-page').innerText(), '101–200 of 5,000');
    await page.locator('#obj-filter').fill('part-0499');
    assert.equal(await page.locator('table.objects-table tbody tr').count(), 9);
    assert.equal(await page.locator('#obj-status').innerText(), '9 of 5,000 objects');
    // Control and bidi characters in a key are shown as escapes, in the table as in the chart.
    await page.locator('#obj-filter').fill('tricky');
    assert.equal(await page.locator('table.objects-table tbody td.key').innerText(), 'tricky\\x01ctrl\\nnew\\u202eline.jsonl');
    assert.ok(html.includes('tricky\\x01ctrl\\nnew\\u202eline.jsonl'), 'the server-side rendering escapes them the same way');
    await page.close();
  });

  test('every report string is escaped, wherever it is shown', () => {
    const evil = `</script><script>alert(1)</script><!-- "'&`;
    const report = syntheticReport([
      { key: evil, state: 'done', outcome: 'done', action: 'process', reason: 'new', lines: 10, valid: 5, rejected: 5, blank: 0, error_rate: 0.5, bytes: 100, download_ms: 0, clean_ms: 1, quarantined: true, error: evil, rejected_by_reason: { [evil]: 5 } },
    ]);
    report.run.source = report.run.local_dir = report.run.rules = report.run.message = evil;
    report.rejected_by_reason = { [evil]: 5 };
    report.rejected_by_rule = [{ rule: evil, count: 5, examples: [{ key: evil, line: 1, offset: 0 }] }];
    report.gate = { max_error_rate: 0.1, max_rejects: null, breached: true, reasons: [evil], error_rate: 0.5, rejected: 5, quarantined: [{ key: evil, error_rate: 0.5, rejected: 5 }] };
    const html = renderHtml(report);
    assert.equal(html.match(/<script/gi)?.length, 2, 'only the page’s own scripts');
    assert.ok(!html.includes('alert(1)</script>'), 'no raw closing tag from the report');
    assert.ok(!html.includes('<!-- "'), 'no raw comment opener from the report');
  });
});

function syntheticReport(objects: ObjectFigures[]): RunReport {
  const sum = (f: (o: ObjectFigures) => number) => objects.reduce((n, o) => n + f(o), 0);
  const valid = sum((o) => o.valid);
  const rejected = sum((o) => o.rejected);
  return {
    report_version: 1,
    generated_at: '2026-11-05T12:00:00.000Z',
    run: { id: 7, state: 'done', source: 's3://bucket/events/', local_dir: '/data/cleaner', rules: 'default', started_at: '2026-11-05T11:00:00.000Z', finished_at: '2026-11-05T11:20:00.000Z', exit_code: 0, message: 'run 7 finished' },
    totals: {
      objects: objects.length, objects_done: objects.length, objects_skipped: 0, objects_failed: 0, objects_gone: 0, objects_pending: 0, objects_quarantined: objects.filter((o) => o.quarantined).length, objects_excluded: 0, objects_markers: 0, objects_other_shards: 0,
      lines: sum((o) => o.lines), valid, rejected, blank: sum((o) => o.blank), bytes: sum((o) => o.bytes), error_rate: rejected / (valid + rejected),
    },
    rejected_by_reason: { schema: rejected },
    rejected_by_rule: [{ rule: '/email format', count: rejected, examples: [{ key: objects[0].key, line: 3, offset: 1234 }] }],
    objects,
    durations_s: { elapsed: 1200, download: 200, clean: 600 },
    throughput: { mb_per_s: 16.7, lines_per_s: 41_000 },
    gate: null,
  };
}
