/**
 * Metrics and alerts reach the people watching: a real Pushgateway, promtool's parser, and real
 * webhook receivers on loopback, driven through the real CLI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEvents } from '../helpers/events.js';
import { runCli, statusJson } from '../helpers/cli.js';
import { readTree, diffTrees } from '../helpers/tree.js';
import { missing, promtoolCheck, PROMTOOL_BIN, PUSHGATEWAY_BIN, startPushgateway, startReceiver, type Pushgateway } from '../helpers/pushgateway.js';

const skip = missing(PUSHGATEWAY_BIN, 'prometheus-pushgateway') ?? missing(PROMTOOL_BIN, 'prometheus');

/** Sample lines of a text-format metrics file: name{labels} value. */
function samples(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(l)!;
      const labels: Record<string, string> = {};
      for (const [, k, v] of (m[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
      return { name: m[1], labels, value: Number(m[3]) };
    });
}

const sum = (xs: Array<{ value: number }>) => xs.reduce((n, x) => n + x.value, 0);

let dir: string;
let src: string;
let gw: Pushgateway;

describe('metrics and alerts', { skip }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cleaner-alerts-'));
    src = join(dir, 'src');
    mkdirSync(src);
    for (let i = 0; i < 4; i++) writeFileSync(join(src, `part-${i}.jsonl`), generateEvents({ seed: 40 + i, lines: 200, rejectRate: 0.1, blankRate: 0.02 }).data);
    gw = await startPushgateway();
  });
  after(async () => {
    await gw?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a breach writes metrics that promtool accepts, pushes the same figures, and sends exactly one webhook', async () => {
    const rx = await startReceiver();
    try {
      const local = join(dir, 'breach');
      const state = join(dir, 'breach.db');
      const metrics = join(dir, 'cleaner.prom');
      const hook = `${rx.url}/services/T000/B000/s3cr3t-token`;
      const r = await runCli([
        'run', '--source', src, '--local-dir', local, '--state', state, '--max-error-rate', '1%',
        '--metrics-file', metrics, '--pushgateway', gw.url.replace('http://', 'http://ops:pushpa55@'), '--notify', hook,
      ]);
      assert.equal(r.code, 5, r.stderr);
      const st = await statusJson(state);

      const text = readFileSync(metrics, 'utf8');
      const check = promtoolCheck(text);
      assert.equal(check.code, 0, check.output);
      const s = samples(text);
      const lines = s.filter((x) => x.name === 'cleaner_lines_total');
      assert.equal(lines.find((x) => x.labels.outcome === 'valid')!.value, st.totals.valid);
      assert.equal(lines.find((x) => x.labels.outcome === 'blank')!.value, st.totals.blank);
      assert.equal(sum(lines.filter((x) => x.labels.outcome === 'rejected')), st.totals.rejected);
      assert.ok(st.totals.rejected > 0);
      assert.equal(s.find((x) => x.name === 'cleaner_gate_breached')!.value, 1);
      assert.equal(s.find((x) => x.name === 'cleaner_run_exit_code')!.value, 5);
      assert.ok(s.every((x) => x.labels.source === src), 'every sample names its source');

      const pushed = await gw.families({ job: 'cleaner', source: src });
      const pl = pushed.cleaner_lines_total;
      assert.equal(pl.find((x) => x.labels.outcome === 'valid')!.value, st.totals.valid);
      assert.equal(sum(pl.filter((x) => x.labels.outcome === 'rejected')), st.totals.rejected);
      assert.equal(pushed.cleaner_gate_breached[0].value, 1);

      assert.equal(rx.requests.length, 1, 'exactly one webhook');
      const body = JSON.parse(rx.requests[0].body);
      assert.equal(body.cleaner.verdict, 'breach');
      assert.equal(body.cleaner.rejected, st.totals.rejected);
      assert.equal(body.cleaner.source, src);
      assert.match(body.text, /breached the quality gate/);
      assert.match(body.text, /report: .*reports\/1\.json/);

      // The token and the password are nowhere but in the requests themselves.
      const leaks = [readFileSync(state).toString('latin1'), readFileSync(join(local, 'reports', '1.json'), 'utf8'), r.stderr, r.stdout];
      for (const where of leaks) assert.doesNotMatch(where, /s3cr3t|pushpa55/);
    } finally {
      await rx.close();
    }
  });

  test('a second run that succeeds records a last-success time; a failing one later keeps it', async () => {
    const good = join(dir, 'good');
    mkdirSync(good);
    writeFileSync(join(good, 'a.jsonl'), generateEvents({ seed: 7, lines: 50, rejectRate: 0, blankRate: 0 }).data);
    const state = join(dir, 'good.db');
    const metrics = join(dir, 'good.prom');
    const args = ['run', '--source', good, '--local-dir', join(dir, 'good-out'), '--state', state, '--metrics-file', metrics, '--pushgateway', gw.url];
    const r = await runCli(args);
    assert.equal(r.code, 0, r.stderr);
    const first = samples(readFileSync(metrics, 'utf8')).find((x) => x.name === 'cleaner_last_success_timestamp_seconds');
    assert.ok(first && Math.abs(first.value - Date.now() / 1000) < 120, 'a fresh last-success time');
    const pushed = await gw.families({ job: 'cleaner', source: good });
    assert.equal(pushed.cleaner_last_success_timestamp_seconds[0].value, first.value);
  });

  test('receivers that are down or slow change neither the exit code nor the outputs', async () => {
    const slow = await startReceiver({ delayMs: 1_500 });
    const gone = await startReceiver();
    const goneUrl = gone.url;
    await gone.close();
    try {
      const base = ['--source', src, '--max-error-rate', '1%'];
      const plain = await runCli(['run', ...base, '--local-dir', join(dir, 'plain'), '--state', join(dir, 'plain.db')]);
      const noisy = await runCli([
        'run', ...base, '--local-dir', join(dir, 'noisy'), '--state', join(dir, 'noisy.db'),
        '--notify', `${goneUrl}/hook`, '--notify', `${slow.url}/hook`, '--pushgateway', goneUrl, '--metrics-file', join(dir, 'no-such-dir', 'm.prom'),
      ]);
      assert.equal(noisy.code, plain.code);
      assert.equal(plain.code, 5);
      for (const sub of ['output', 'errors', 'quarantine']) assert.deepEqual(diffTrees(readTree(join(dir, 'plain', sub)), readTree(join(dir, 'noisy', sub))), [], sub);
      assert.match(noisy.stderr, /notification not delivered/);
      assert.match(noisy.stderr, /metrics not pushed/);
      assert.match(noisy.stderr, /metrics file not written/);
      assert.equal(slow.requests.length, 1, 'the slow receiver got its one notification');
    } finally {
      await slow.close();
    }
  });

  test('--notify-on: a clean run is announced only with always', async () => {
    const rx = await startReceiver();
    try {
      const good = join(dir, 'good');
      const quiet = await runCli(['run', '--source', good, '--local-dir', join(dir, 'q1'), '--state', join(dir, 'q1.db'), '--notify', rx.url]);
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.equal(rx.requests.length, 0);
      const always = await runCli(['run', '--source', good, '--local-dir', join(dir, 'q2'), '--state', join(dir, 'q2.db'), '--notify', rx.url, '--notify-on', 'always']);
      assert.equal(always.code, 0, always.stderr);
      assert.equal(rx.requests.length, 1);
      assert.equal(JSON.parse(rx.requests[0].body).cleaner.verdict, 'ok');
    } finally {
      await rx.close();
    }
  });
});
