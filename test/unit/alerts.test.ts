import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exposition, runMetrics, type RunFigures } from '../../src/alerts/metrics.js';
import { deliver, safeUrl } from '../../src/alerts/http.js';
import { pushMetrics, pushUrl } from '../../src/alerts/pushgateway.js';
import { notificationBody, shouldNotify, type RunNews } from '../../src/alerts/notify.js';
import { missing, promtoolCheck, PROMTOOL_BIN, PUSHGATEWAY_BIN, startPushgateway, startReceiver } from '../helpers/pushgateway.js';

const FIGURES: RunFigures = {
  lines: { valid: 90, blank: 2, rejectedByReason: { schema: 7, invalid_json: 3 } },
  objects: { cleaned: 3, skipped: 1, failed: 1, gone: 0, quarantined: 1 },
  bytes: 12345,
  errorRate: 0.1,
  gateBreached: true,
  durationSeconds: 1.5,
  stageSeconds: { download: 0.25, clean: 1.25 },
  exitCode: 5,
  endedAt: 1_800_000_000,
  lastSuccessAt: 1_799_990_000,
  version: '0.1.0',
};

const FAST = { attempts: 3, timeoutMs: 1_000, deadlineMs: 5_000, backoffMs: 50 };

test('the metrics text passes promtool check metrics (format and naming conventions)', { skip: missing(PROMTOOL_BIN, 'prometheus') }, () => {
  const text = exposition(runMetrics(FIGURES), { source: 's3://bucket/events "quoted" \\ path\n' });
  const r = promtoolCheck(text);
  assert.equal(r.code, 0, r.output);
  assert.equal(r.output.trim(), '', `promtool found problems:\n${r.output}`);
  assert.match(text, /^cleaner_lines_total\{source="s3:\/\/bucket\/events \\"quoted\\" \\\\ path\\n",outcome="rejected",reason="schema"\} 7$/m);
});

test('without a gate or an earlier success, those two metrics are left out rather than faked', () => {
  const text = exposition(runMetrics({ ...FIGURES, gateBreached: undefined, lastSuccessAt: undefined }));
  assert.doesNotMatch(text, /cleaner_gate_breached/);
  assert.doesNotMatch(text, /cleaner_last_success_timestamp_seconds/);
});

test('a push lands in a real Pushgateway under job cleaner and the source, values intact', { skip: missing(PUSHGATEWAY_BIN, 'prometheus-pushgateway') }, async () => {
  const gw = await startPushgateway();
  try {
    const source = 's3://bucket/events/2026/';
    await pushMetrics(gw.url, { source }, exposition(runMetrics(FIGURES)), FAST);
    const fams = await gw.families({ job: 'cleaner', source });
    const lines = fams.cleaner_lines_total;
    assert.ok(lines, `no cleaner_lines_total in ${JSON.stringify(Object.keys(fams))}`);
    const get = (labels: Record<string, string>) => lines.find((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v))?.value;
    assert.equal(get({ outcome: 'valid' }), 90);
    assert.equal(get({ outcome: 'rejected', reason: 'schema' }), 7);
    assert.equal(get({ outcome: 'rejected', reason: 'invalid_json' }), 3);
    assert.equal(fams.cleaner_gate_breached[0].value, 1);

    // A later push without a last-success time (a failed run) keeps the earlier one.
    await pushMetrics(gw.url, { source }, exposition(runMetrics({ ...FIGURES, lastSuccessAt: undefined, exitCode: 4 })), FAST);
    const after = await gw.families({ job: 'cleaner', source });
    assert.equal(after.cleaner_last_success_timestamp_seconds[0].value, FIGURES.lastSuccessAt);
    assert.equal(after.cleaner_run_exit_code[0].value, 4);
  } finally {
    await gw.stop();
  }
});

test('grouping values with slashes are base64url-encoded in the push path', () => {
  assert.equal(pushUrl('http://gw:9091/', { source: 's3://b/p' }), `http://gw:9091/metrics/job/cleaner/source@base64/${Buffer.from('s3://b/p').toString('base64url')}`);
});

test('a receiver that fails twice with 503 gets the notification on the third try', async () => {
  let calls = 0;
  const server = createServer((req, res) => {
    req.resume().on('end', () => res.writeHead(++calls < 3 ? 503 : 200).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await deliver(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, { method: 'POST', body: '{}', headers: {} }, FAST);
    assert.equal(calls, 3);
  } finally {
    server.close();
  }
});

test('a 4xx answer is final: no retry, and the error names the URL without its token', async () => {
  const rx = await startReceiver({ status: 404 });
  try {
    await assert.rejects(deliver(`${rx.url}/services/T000/B000/sekrit-token`, { method: 'POST', body: '{}', headers: {} }, FAST), (err: Error) => {
      assert.doesNotMatch(err.message, /sekrit/);
      assert.match(err.message, /HTTP 404/);
      return true;
    });
    assert.equal(rx.requests.length, 1);
  } finally {
    await rx.close();
  }
});

test('a receiver that is down costs at most the deadline, and the error says so plainly', async () => {
  const rx = await startReceiver();
  const url = rx.url;
  await rx.close();
  const t0 = Date.now();
  await assert.rejects(deliver(url, { method: 'POST', body: '{}', headers: {} }, { ...FAST, deadlineMs: 1_000 }), /ECONNREFUSED/);
  assert.ok(Date.now() - t0 < 3_000);
});

test('credentials in a URL go as basic auth, never in the URL, and never in messages', async () => {
  const rx = await startReceiver();
  try {
    await deliver(`${rx.url.replace('http://', 'http://ops:p%40ss@')}/metrics`, { method: 'POST', body: 'x', headers: {} }, FAST);
    assert.equal(rx.requests[0].headers.authorization, `Basic ${Buffer.from('ops:p@ss').toString('base64')}`);
    assert.equal(safeUrl('https://ops:p%40ss@gw.example:9091/metrics/job/x'), 'https://gw.example:9091/…');
    assert.equal(safeUrl('https://hooks.slack.com/services/T0/B0/secret'), 'https://hooks.slack.com/…');
  } finally {
    await rx.close();
  }
});

const NEWS: RunNews = {
  runId: 7, source: 's3://b/events/', verdict: 'breach', failed: false, exitCode: 5, message: 'run 7 breached the quality gate',
  lines: 100, valid: 90, rejected: 10, blank: 0, errorRate: 0.1, objectsFailed: 0, objectsQuarantined: 2,
  gateReasons: ['error rate 10.00% > 5.00%'], topRules: [{ rule: '/user_id format', count: 6 }], report: '/w/reports/7.json',
};

test('notify-on decides which endings are announced', () => {
  assert.equal(shouldNotify(['breach', 'failed'], NEWS), true);
  assert.equal(shouldNotify(['failed'], NEWS), false);
  assert.equal(shouldNotify(['failed'], { ...NEWS, failed: true }), true);
  assert.equal(shouldNotify(['breach', 'failed'], { ...NEWS, verdict: 'ok' }), false);
  assert.equal(shouldNotify(['always'], { ...NEWS, verdict: 'ok' }), true);
});

test('a notification reads as a Slack message and carries the same facts structured', () => {
  const body = notificationBody(NEWS) as { text: string; cleaner: Record<string, unknown> };
  assert.match(body.text, /breached the quality gate\*: s3:\/\/b\/events\//);
  assert.match(body.text, /error rate 10\.00%/);
  assert.match(body.text, /\/user_id format \(6\)/);
  assert.match(body.text, /report: \/w\/reports\/7\.json/);
  assert.equal(body.cleaner.rejected, 10);
  assert.equal(body.cleaner.verdict, 'breach');
});
