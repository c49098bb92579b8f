/**
 * The operator's view, through the real CLI: quality gates and quarantine, reports, config file
 * precedence, validate, dry runs, redaction, logs and progress lines off a terminal.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, statusJson } from '../helpers/cli.js';
import { generateEvents, gzip } from '../helpers/events.js';
import { expectedFor } from '../helpers/oracle.js';

const GOOD = (n: number, extra = '') =>
  `{"event_id":"0b7e3f4c-3a6e-4f7e-9d0c-${String(n).padStart(12, '0')}","session_id":"1b7e3f4c-3a6e-4f7e-9d0c-1c2b3a4d5e6f","event_type":"click","timestamp":"2026-11-05T10:00:00Z"${extra}}\n`;

let dir: string;
let src: string;

describe('operator features', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cleaner-operator-'));
    src = join(dir, 'src');
    mkdirSync(src, { recursive: true });
    // clean.jsonl: 1 reject in 20 (5%); dirty.jsonl: 10 rejects in 20 (50%).
    writeFileSync(join(src, 'clean.jsonl'), Array.from({ length: 19 }, (_, i) => GOOD(i)).join('') + 'not json\n');
    writeFileSync(join(src, 'dirty.jsonl'), Array.from({ length: 10 }, (_, i) => GOOD(100 + i)).join('') + '[1]\n'.repeat(5) + '{"event_id":"x"}\n'.repeat(5));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a per-object error-rate breach quarantines that object only, exits 5, and the verdict is stored', async () => {
    const local = join(dir, 'gate1');
    const state = join(dir, 'gate1.db');
    const r = await runCli(['run', '--source', src, '--local-dir', local, '--state', state, '--max-error-rate', '0.2']);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /quarantined object=dirty\.jsonl/);
    // The run as a whole: 11 rejects of 40 = 27.5% > 20%, so every object of the run is held back.
    assert.ok(!existsSync(join(local, 'output', 'dirty.jsonl')), 'a breaching object never reaches output/');
    assert.ok(existsSync(join(local, 'quarantine', 'dirty.jsonl')));
    const s = await statusJson(state);
    assert.equal(s.gate.breached, true);
    assert.equal(s.gate.max_error_rate, 0.2);
    assert.deepEqual(s.gate.quarantined.map((q: any) => q.key).sort(), ['clean.jsonl', 'dirty.jsonl']);
    const text = await runCli(['status', '--state', state]);
    assert.match(text.stdout, /gate\s+BREACHED/);
    const report = JSON.parse(readFileSync(join(local, 'reports', `${s.run.id}.json`), 'utf8'));
    assert.equal(report.gate.breached, true);
  });

  test('an object-level breach alone leaves the good objects in output/', async () => {
    const local = join(dir, 'gate2');
    const state = join(dir, 'gate2.db');
    // Run-level rate 27.5% is under 30%; dirty.jsonl at 50% is over it.
    const r = await runCli(['run', '--source', src, '--local-dir', local, '--state', state, '--max-error-rate', '30%']);
    assert.equal(r.code, 5, r.stderr);
    assert.ok(existsSync(join(local, 'output', 'clean.jsonl')));
    assert.ok(!existsSync(join(local, 'output', 'dirty.jsonl')));
    assert.ok(existsSync(join(local, 'quarantine', 'dirty.jsonl')));
    const s = await statusJson(state);
    assert.deepEqual(s.gate.quarantined.map((q: any) => q.key), ['dirty.jsonl']);
    assert.equal(s.totals.objects_quarantined, 1);
  });

  test('--max-rejects stops the run when exceeded and passes when not', async () => {
    let r = await runCli(['run', '--source', src, '--local-dir', join(dir, 'gate3'), '--state', join(dir, 'gate3.db'), '--max-rejects', '10']);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /rejected 11 lines, more than --max-rejects 10/);
    r = await runCli(['run', '--source', src, '--local-dir', join(dir, 'gate4'), '--state', join(dir, 'gate4.db'), '--max-rejects', '11']);
    assert.equal(r.code, 0, r.stderr);
    const s = await statusJson(join(dir, 'gate4.db'));
    assert.equal(s.gate.breached, false);
  });

  test('every run writes a JSON report with totals, rules, examples and per-object figures', async () => {
    const local = join(dir, 'report');
    const state = join(dir, 'report.db');
    assert.equal((await runCli(['run', '--source', src, '--local-dir', local, '--state', state])).code, 0);
    const report = JSON.parse(readFileSync(join(local, 'reports', '1.json'), 'utf8'));
    assert.equal(report.totals.lines, 40);
    assert.equal(report.totals.rejected, 11);
    assert.deepEqual(report.rejected_by_reason, { invalid_json: 1, not_object: 5, schema: 5 });
    const rules = new Map(report.rejected_by_rule.map((r: any) => [r.rule, r]));
    assert.equal((rules.get('/session_id required') as any).count, 5);
    assert.equal((rules.get('not_object') as any).count, 5);
    assert.deepEqual((rules.get('invalid_json') as any).examples, [{ key: 'clean.jsonl', line: 20, offset: 19 * GOOD(0).length }]);
    const dirty = report.objects.find((o: any) => o.key === 'dirty.jsonl');
    assert.equal(dirty.error_rate, 0.5);
    const json = await runCli(['report', '--state', state]);
    assert.equal(JSON.parse(json.stdout).run.id, 1);
  });

  test('config file, environment and flags: flag > environment > config file > default', async () => {
    const cfgDir = join(dir, 'cfg');
    mkdirSync(cfgDir, { recursive: true });
    writeFileSync(join(cfgDir, 'cleaner.config.json'), JSON.stringify({ source: src, localDir: 'from-config', state: 'cfg.db', maxLineBytes: 100 }));
    // Config alone: its local dir (relative to the file) and its max line bytes (every event is longer: all rejected).
    let r = await runCli(['run'], { cwd: cfgDir });
    assert.equal(r.code, 0, r.stderr);
    let s = await statusJson(join(cfgDir, 'cfg.db'));
    assert.equal(s.run.local_dir, join(cfgDir, 'from-config'));
    assert.equal(s.rejected_by_reason.line_too_long, 29, "all 29 events are longer than 100 bytes");
    // Environment beats the config file; a flag beats the environment.
    r = await runCli(['run', '--max-line-bytes', '100000'], { cwd: cfgDir, env: { CLEANER_LOCAL_DIR: join(cfgDir, 'from-env'), CLEANER_MAX_LINE_BYTES: '50' } });
    assert.equal(r.code, 0, r.stderr);
    s = await statusJson(join(cfgDir, 'cfg.db'));
    assert.equal(s.run.local_dir, join(cfgDir, 'from-env'));
    assert.equal(s.rejected_by_reason.line_too_long ?? 0, 0);
  });

  test('every problem in a config file is reported together, each as path: message', async () => {
    const cfg = join(dir, 'bad-config.json');
    writeFileSync(cfg, JSON.stringify({ concurrency: 'many', maxErrorRate: 2, colour: 'blue', source: src }));
    const r = await runCli(['run', '--config', cfg]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /3 problems/);
    assert.match(r.stderr, /bad-config\.json: concurrency: must be a positive whole number/);
    assert.match(r.stderr, /bad-config\.json: maxErrorRate: must be a fraction/);
    assert.match(r.stderr, /bad-config\.json: colour: unknown setting/);
  });

  test("a config file's state is the state of status, report and resume too, with --config or ./cleaner.config.json", async () => {
    const cfgDir = join(dir, 'cfg-state');
    mkdirSync(cfgDir, { recursive: true });
    const cfg = join(cfgDir, 'cleaner.config.json');
    writeFileSync(cfg, JSON.stringify({ source: src, localDir: 'work', state: 'db/cleaner.db' }));
    assert.equal((await runCli(['run'], { cwd: cfgDir })).code, 0);
    assert.ok(existsSync(join(cfgDir, 'db', 'cleaner.db')));
    // From the config's folder (found as ./cleaner.config.json), and from elsewhere with --config.
    for (const [args, cwd] of [[[], cfgDir], [['--config', cfg], dir]] as const) {
      const s = await runCli(['status', '--json', ...args], { cwd });
      assert.equal(s.code, 0, s.stderr);
      assert.equal(JSON.parse(s.stdout).run?.id, 1, `status ${args.join(' ')}`);
      const rep = await runCli(['report', ...args], { cwd });
      assert.equal(rep.code, 0, rep.stderr);
      assert.equal(JSON.parse(rep.stdout).run.id, 1);
      const res = await runCli(['resume', ...args], { cwd });
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stderr, /nothing to resume: run 1 already done/);
    }
    assert.ok(!existsSync(join(cfgDir, 'state')), 'the default state path is never touched');
    // CLEANER_STATE and --state still beat the config file.
    const env = await runCli(['status', '--json'], { cwd: cfgDir, env: { CLEANER_STATE: join(dir, 'none.db') } });
    assert.equal(JSON.parse(env.stdout).run ?? null, null);
    const flag = await runCli(['resume', '--state', join(dir, 'none.db')], { cwd: cfgDir });
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /no state at .*none\.db/);
  });

  test("validate --config applies the config's schema (relative to the file), max line bytes and redaction", async () => {
    const cfgDir = join(dir, 'cfg-validate');
    mkdirSync(cfgDir, { recursive: true });
    writeFileSync(join(cfgDir, 'rules.json'), JSON.stringify({ type: 'object', required: ['event_id', 'page'] }));
    const cfg = join(cfgDir, 'v.json');
    writeFileSync(cfg, JSON.stringify({ schema: 'rules.json', redact: ['event_type'], maxLineBytes: 200 }));
    const r = await runCli(['validate', '--config', cfg, join(src, 'clean.jsonl'), join(src, 'dirty.jsonl')], { cwd: dir });
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /clean\.jsonl: 20 lines, 0 valid, 20 rejected/);
    const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(JSON.parse(records[0].raw).event_type, '[REDACTED]');
    // The config's maxLineBytes is the limit the reject record names.
    const long = join(cfgDir, 'long.jsonl');
    writeFileSync(long, GOOD(1, `,"pad":"${'x'.repeat(300)}"`));
    const l = await runCli(['validate', '--config', cfg, long], { cwd: dir });
    assert.match(l.stdout, /longer than --max-line-bytes 200/);
  });

  test('validate checks local files without S3 or state, prints reject records, exits 5 on rejects', async () => {
    const good = join(dir, 'good.jsonl.gz');
    const data = generateEvents({ seed: 11, lines: 200, rejectRate: 0 }).data;
    writeFileSync(good, gzip(data));
    let r = await runCli(['validate', good], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`good.jsonl.gz: 200 lines, ${expectedFor(data).valid} valid, 0 rejected`));
    r = await runCli(['validate', good, join(src, 'dirty.jsonl')], { cwd: dir });
    assert.equal(r.code, 5);
    const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(records.length, 10);
    assert.ok(records.every((x) => x.source.endsWith('dirty.jsonl') && x.line > 10));
    assert.ok(!existsSync(join(dir, 'state')), 'validate creates no state');
  });

  test('--dry-run lists what would be cleaned and why, and writes nothing', async () => {
    const local = join(dir, 'dry');
    const state = join(dir, 'dry.db');
    let r = await runCli(['run', '--source', src, '--local-dir', local, '--state', state, '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /would clean\s+new\s+\d+\s+clean\.jsonl/);
    assert.ok(!existsSync(state) && !existsSync(local), 'nothing written');
    assert.equal((await runCli(['run', '--source', src, '--local-dir', local, '--state', state])).code, 0);
    writeFileSync(join(src, 'new.jsonl'), GOOD(999));
    r = await runCli(['run', '--source', src, '--local-dir', local, '--state', state, '--dry-run']);
    assert.match(r.stdout, /would skip\s+unchanged\s+\d+\s+clean\.jsonl/);
    assert.match(r.stdout, /would clean\s+new\s+\d+\s+new\.jsonl/);
    assert.match(r.stdout, /1 object\(s\) to clean/);
    rmSync(join(src, 'new.jsonl'));
  });

  test('--redact masks the named fields in reject records', async () => {
    const rsrc = join(dir, 'redact-src');
    mkdirSync(rsrc, { recursive: true });
    writeFileSync(join(rsrc, 'a.jsonl'), '{"event_id":"bad","email":"jane@example.com","ip":"10.1.2.3","__proto__":{"x":1}}\n{"email":"joe@example.com", broken\n');
    const local = join(dir, 'redact');
    const r = await runCli(['run', '--source', rsrc, '--local-dir', local, '--state', join(dir, 'redact.db'), '--redact', 'email,ip']);
    assert.equal(r.code, 0, r.stderr);
    const errors = readFileSync(join(local, 'errors', 'a.jsonl'), 'utf8');
    assert.doesNotMatch(errors, /jane@example|joe@example|10\.1\.2\.3/);
    const [first, second] = errors.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(JSON.parse(first.raw).email, '[REDACTED]');
    assert.equal(JSON.parse(first.raw).event_id, 'bad');
    assert.match(second.raw, /"email":\s*"\[REDACTED\]"/);
    assert.equal(({} as any).x, undefined);
  });

  test('off a terminal: plain progress lines and no escape codes; --log-format json is one object per line naming objects', async () => {
    // Progress every 20 ms: a run of 4 files of 10,000 lines on one thread prints several lines.
    const big = join(dir, 'big-src');
    mkdirSync(big, { recursive: true });
    for (let i = 0; i < 4; i++) writeFileSync(join(big, `p${i}.jsonl`), generateEvents({ seed: 50 + i, lines: 10_000 }).data);
    let r = await runCli(['run', '--source', big, '--local-dir', join(dir, 'prog'), '--state', join(dir, 'prog.db'), '--threads', '1'], { env: { CLEANER_PROGRESS_INTERVAL_MS: '20' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /progress: \d+\/4 objects cleaned/);
    assert.doesNotMatch(r.stderr, /\x1b\[/);
    r = await runCli(['run', '--source', big, '--local-dir', join(dir, 'prog2'), '--state', join(dir, 'prog2.db'), '--log-format', 'json', '-v', '--threads', '1'], {
      env: { CLEANER_PROGRESS_INTERVAL_MS: '20' },
    });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.every((l) => typeof l.level === 'string' && typeof l.msg === 'string' && typeof l.time === 'string'));
    const cleaned = lines.filter((l) => l.msg === 'cleaned');
    assert.deepEqual(cleaned.map((l) => l.object).sort(), ['p0.jsonl', 'p1.jsonl', 'p2.jsonl', 'p3.jsonl']);
    assert.ok(lines.some((l) => l.msg === 'progress' && typeof l.lines === 'number'));
    r = await runCli(['run', '--source', big, '--local-dir', join(dir, 'prog3'), '--state', join(dir, 'prog3.db'), '--quiet'], { env: { CLEANER_PROGRESS_INTERVAL_MS: '20' } });
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '', '--quiet prints nothing on success');
  });
});
