/**
 * Settings resolution (src/config.ts) and the settings table (src/settings.ts): precedence, how
 * each kind is parsed and what it says when it cannot be, config files, and what a run stores.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveSettings, resolveSource, rewriteAliases } from '../../src/config.js';
import { DEFAULTS, SETTINGS, parseRunOptions, runOptionsOf, taskOptionsOf } from '../../src/settings.js';
import { UsageError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'cleaner-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Writes a config file and returns its path. */
function configFile(content: unknown, name = `c${++files}.json`): string {
  const p = join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

/** The UsageError message resolveSettings throws for these inputs. */
function problem(flags: Record<string, unknown>, from: Parameters<typeof resolveSettings>[1] = {}): string {
  try {
    resolveSettings(flags, { env: {}, ...from });
  } catch (err) {
    assert.ok(err instanceof UsageError, `expected a UsageError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected a problem');
}

describe('precedence: flag > environment > config file > default', () => {
  const cfg = configFile({ concurrency: 3, threads: 3, maxLineBytes: 3 });
  const env = { CLEANER_CONCURRENCY: '2', CLEANER_THREADS: '2' };
  const s = resolveSettings({ concurrency: '1' }, { config: cfg, env });

  test('each setting comes from the highest source that gives it', () => {
    assert.equal(s.concurrency, 1, 'flag');
    assert.equal(s.threads, 2, 'environment');
    assert.equal(s.maxLineBytes, 3, 'config file');
    assert.equal(s.checkpointBytes, DEFAULTS.checkpointBytes, 'default');
  });

  test('an empty environment variable counts as unset', () => {
    assert.equal(resolveSettings({}, { config: cfg, env: { CLEANER_THREADS: '' } }).threads, 3);
  });

  test('with nothing given, the defaults are those the README documents', () => {
    const d = resolveSettings({}, { env: {}, config: configFile({}) });
    assert.deepEqual(d, {
      localDir: '.',
      state: 'state/cleaner.db',
      concurrency: 8,
      threads: Math.max(1, availableParallelism()),
      maxLineBytes: 1048576,
      maxErrorsPerLine: 10,
      checkpointBytes: 8388608,
      redact: [],
      maxErrorRate: null,
      maxRejects: null,
      deleteInput: false,
      deleteLocal: false,
      filters: [],
      notify: [],
      notifyOn: ['breach', 'failed'],
      table: 'events',
      loadRejects: false,
    });
  });

  test('only: the other settings keep their defaults and their bad values are not read', () => {
    const s = resolveSettings({ state: 'x.db' }, { env: { CLEANER_THREADS: 'lots' }, config: configFile({ threads: 'lots', concurrency: 5 }), only: ['state'] });
    assert.equal(s.state, 'x.db');
    assert.equal(s.threads, DEFAULTS.threads);
    assert.equal(s.concurrency, DEFAULTS.concurrency);
  });
});

describe('every kind is parsed, and says what it wants when it cannot be', () => {
  test('int: a positive whole number, from a string or a number', () => {
    assert.equal(resolveSettings({ threads: ' 4 ' }, { env: {} }).threads, 4);
    assert.equal(resolveSettings({}, { env: {}, config: configFile({ threads: 6 }) }).threads, 6);
    for (const bad of ['0', '-1', '1.5', 'four', '']) assert.equal(problem({ threads: bad }), `--threads: must be a positive whole number, got ${JSON.stringify(bad)}`);
    assert.match(problem({}, { config: configFile({ threads: 2.5 }) }), /threads: must be a positive whole number, got 2\.5$/);
  });

  test('count: a whole number, 0 allowed', () => {
    assert.equal(resolveSettings({ maxRejects: '0' }, { env: {} }).maxRejects, 0);
    assert.equal(resolveSettings({}, { env: { CLEANER_MAX_REJECTS: '12' } }).maxRejects, 12);
    assert.equal(problem({ maxRejects: '-1' }), '--max-rejects: must be a whole number (0 or more), got "-1"');
  });

  test('rate: a fraction from 0 to 1, or a percentage', () => {
    const rate = (v: unknown) => resolveSettings({ maxErrorRate: v }, { env: {} }).maxErrorRate;
    assert.equal(rate('0.05'), 0.05);
    assert.equal(rate('5%'), 0.05);
    assert.equal(rate('.5'), 0.5);
    assert.equal(rate(' 1 '), 1);
    assert.equal(rate(0), 0);
    for (const bad of ['1.5', '150%', '-0.1', 'five', '5 %']) {
      assert.equal(problem({ maxErrorRate: bad }), `--max-error-rate: must be a fraction from 0 to 1 (or a percentage like 5%), got ${JSON.stringify(bad)}`);
    }
  });

  test('bool: true/false, 1/0, yes/no, on/off in any case', () => {
    const bool = (v: string) => resolveSettings({}, { env: { CLEANER_DELETE_INPUT: v } }).deleteInput;
    for (const t of ['1', 'true', 'YES', 'On']) assert.equal(bool(t), true, t);
    for (const f of ['0', 'false', 'No', 'OFF']) assert.equal(bool(f), false, f);
    assert.equal(resolveSettings({ deleteInput: true }, { env: {} }).deleteInput, true, 'the flag given bare');
    assert.equal(problem({}, { env: { CLEANER_DELETE_INPUT: 'maybe' } }), 'CLEANER_DELETE_INPUT: must be true or false, got "maybe"');
  });

  test('list: comma-separated (blanks dropped) or, in a config file, a list of strings', () => {
    assert.deepEqual(resolveSettings({ redact: ' email, ip,,' }, { env: {} }).redact, ['email', 'ip']);
    assert.deepEqual(resolveSettings({}, { env: {}, config: configFile({ redact: ['email', ' ip '] }) }).redact, ['email', 'ip']);
    assert.match(problem({}, { config: configFile({ redact: ['email', 1] }) }), /redact: must be a comma-separated string or a list of strings$/);
  });

  test('string and path: a non-empty string', () => {
    assert.equal(resolveSettings({ bucket: 'b' }, { env: {} }).bucket, 'b');
    assert.equal(resolveSettings({}, { env: {} }).bucket, undefined, 'unset optional settings stay undefined');
    assert.match(problem({}, { config: configFile({ bucket: '' }) }), /bucket: must be a non-empty string$/);
    assert.match(problem({}, { config: configFile({ state: 7 }) }), /state: must be a non-empty string$/);
  });
});

describe('problems are reported together, each as path: message', () => {
  test('from flags, environment and the config file at once', () => {
    const cfg = configFile({ concurrency: 'many', colour: 'blue' }, 'all.json');
    const msg = problem({ threads: 'x' }, { config: cfg, env: { CLEANER_MAX_ERROR_RATE: '2' } });
    assert.equal(
      msg,
      [
        '4 problems:',
        `  ${cfg}: concurrency: must be a positive whole number, got "many"`,
        `  ${cfg}: colour: unknown setting (known: ${SETTINGS.map((s) => s.key).join(', ')})`,
        '  --threads: must be a positive whole number, got "x"',
        '  CLEANER_MAX_ERROR_RATE: must be a fraction from 0 to 1 (or a percentage like 5%), got "2"',
      ].join('\n'),
    );
  });

  test('a bad value in a lower source is still reported when a higher one overrides it', () => {
    assert.match(problem({ threads: '2' }, { config: configFile({ threads: 0 }) }), /threads: must be a positive whole number, got 0$/);
  });

  test('unknown config keys are reported even when resolving only some settings', () => {
    assert.match(problem({}, { config: configFile({ stat: 'x.db' }), only: ['state'] }), /stat: unknown setting \(known: source, bucket/);
  });
});

describe('the config file', () => {
  test('its paths (state, schema, localDir) are relative to the file; source and flags are not', () => {
    mkdirSync(join(dir, 'sub'), { recursive: true });
    const cfg = configFile({ state: 'db/x.db', schema: 'rules.json', localDir: 'work', source: 'events' }, 'sub/rel.json');
    const s = resolveSettings({}, { config: cfg, env: {} });
    assert.equal(s.state, join(dir, 'sub', 'db', 'x.db'));
    assert.equal(s.schema, join(dir, 'sub', 'rules.json'));
    assert.equal(s.localDir, join(dir, 'sub', 'work'));
    assert.equal(s.source, 'events');
    assert.equal(resolveSettings({ state: 'flag.db' }, { config: cfg, env: { CLEANER_SCHEMA: 'env.json' } }).state, 'flag.db');
    assert.equal(resolveSettings({}, { config: cfg, env: { CLEANER_SCHEMA: 'env.json' } }).schema, 'env.json');
  });

  test('is --config, else CLEANER_CONFIG, else ./cleaner.config.json when present', () => {
    const cwd = process.cwd();
    const here = join(dir, 'cwd');
    mkdirSync(here, { recursive: true });
    process.chdir(here);
    try {
      assert.equal(resolveSettings({}, { env: {} }).threads, DEFAULTS.threads, 'no file: defaults');
      writeFileSync('cleaner.config.json', JSON.stringify({ threads: 5 }));
      assert.equal(resolveSettings({}, { env: {} }).threads, 5);
      const fromEnv = configFile({ threads: 6 });
      assert.equal(resolveSettings({}, { env: { CLEANER_CONFIG: fromEnv } }).threads, 6);
      assert.equal(resolveSettings({}, { env: { CLEANER_CONFIG: fromEnv }, config: configFile({ threads: 7 }) }).threads, 7);
    } finally {
      process.chdir(cwd);
    }
  });

  test('that is missing, not JSON, or not an object is one clear problem', () => {
    const missing = join(dir, 'missing.json');
    assert.equal(problem({}, { config: missing }), `config ${missing}: file not found`);
    const broken = configFile('{"threads": ');
    assert.match(problem({}, { config: broken }), new RegExp(`^config ${broken}: not valid JSON \\(`));
    const list = configFile([1, 2]);
    assert.equal(problem({}, { config: list }), `config ${list}: must be a JSON object`);
    assert.equal(problem({}, { config: dir }), `config ${dir}: cannot be read (EISDIR)`);
  });
});

describe('what a run stores', () => {
  const settings = resolveSettings({ threads: '3', redact: 'email', maxRejects: '4', bucket: 'b', state: 'x.db' }, { env: {} });

  test('a run stores its options and none of its places, nor where alerts go (URLs may hold secrets)', () => {
    assert.deepEqual(runOptionsOf(settings), {
      concurrency: 8,
      threads: 3,
      maxLineBytes: 1 << 20,
      maxErrorsPerLine: 10,
      checkpointBytes: 8 << 20,
      redact: ['email'],
      maxErrorRate: null,
      maxRejects: 4,
      deleteInput: false,
      // The destination is kept (unlike the source, which has its own columns): resume delivers where the run began to.
      dest: undefined,
      destEndpointUrl: undefined,
      destRegion: undefined,
      deleteLocal: false,
      filters: [],
      shard: undefined,
      load: undefined,
      table: 'events',
      loadRejects: false,
      startAfter: undefined,
    });
    assert.doesNotMatch(JSON.stringify(runOptionsOf({ ...settings, notify: ['https://hooks.example/T/secret'], pushgateway: 'http://u:pw@gw:9091' })), /secret|pw@/);
    // --load is stored (resume loads where the run did) but without its password.
    assert.equal(runOptionsOf({ ...settings, load: 'postgres://u:s3cret@db:5432/wh' }).load, 'postgres://u@db:5432/wh');
  });

  test('stored options read back the same; a run stored before a setting existed gets its default', () => {
    assert.deepEqual(parseRunOptions(JSON.stringify(runOptionsOf(settings))), runOptionsOf(settings));
    assert.deepEqual(parseRunOptions('{"threads":2}'), { ...runOptionsOf(DEFAULTS), threads: 2 });
  });

  test('a clean task carries only what the worker reads', () => {
    assert.deepEqual(taskOptionsOf(runOptionsOf(settings)), { maxLineBytes: 1 << 20, maxErrorsPerLine: 10, checkpointBytes: 8 << 20, redact: ['email'], maxErrorRate: null });
  });
});

describe('sources and aliases', () => {
  test("the original script's flags are rewritten, also in --flag=value form", () => {
    assert.deepEqual(rewriteAliases(['--remote_dir', 'a/', '--remote-dir=b/', '--local_dir=c', '--prefix', 'd']), ['--prefix', 'a/', '--prefix=b/', '--local-dir=c', '--prefix', 'd']);
  });

  test('an s3:// source or a bucket and prefix name an S3 source; a source with a bucket is a problem', () => {
    assert.deepEqual(resolveSource({ ...DEFAULTS, source: 's3://bkt/events/' }), { kind: 's3', bucket: 'bkt', prefix: 'events/' });
    assert.deepEqual(resolveSource({ ...DEFAULTS, bucket: 'bkt', prefix: 'p/' }), { kind: 's3', bucket: 'bkt', prefix: 'p/' });
    assert.deepEqual(resolveSource({ ...DEFAULTS, source: dir }), { kind: 'local', path: dir });
    assert.throws(() => resolveSource({ ...DEFAULTS, source: dir, bucket: 'bkt' }), /--source and --bucket: give one or the other/);
    // An s3:// source is no exception: the bucket was silently ignored before.
    assert.throws(() => resolveSource({ ...DEFAULTS, source: 's3://a-bucket/events/', bucket: 'bkt' }), /--source and --bucket: give one or the other/);
    assert.throws(() => resolveSource({ ...DEFAULTS, source: 'gs://bkt/' }), /only s3:\/\/ URLs and local paths are supported/);
    assert.throws(() => resolveSource({ ...DEFAULTS, bucket: 'B_ad' }), /--bucket: "B_ad" is not a valid bucket name/);
    assert.throws(() => resolveSource(DEFAULTS), /no source: pass --source/);
  });
});

describe('filters and alert settings', () => {
  test('filters keep their order from the config file, and CLEANER_FILTERS reads like the flags', () => {
    const fromFile = resolveSettings({}, { env: {}, config: configFile({ filters: [{ exclude: '*' }, { include: '*.json' }] }) });
    assert.deepEqual(fromFile.filters, [{ exclude: '*' }, { include: '*.json' }]);
    const fromEnv = resolveSettings({}, { env: { CLEANER_FILTERS: '--exclude * --include 2026/*.json' } });
    assert.deepEqual(fromEnv.filters, [{ exclude: '*' }, { include: '2026/*.json' }]);
  });

  test('a malformed filter is refused with the place it came from', () => {
    assert.throws(() => resolveSettings({}, { env: { CLEANER_FILTERS: '--exclude' } }), /CLEANER_FILTERS: expected pairs like "--exclude PATTERN --include PATTERN"/);
    assert.throws(() => resolveSettings({}, { env: {}, config: configFile({ filters: [{ exclude: '*', include: 'x' }] }) }), /filters: must be a list like/);
    assert.throws(() => resolveSettings({}, { env: {}, config: configFile({ filters: ['*.json'] }) }), /filters: must be a list like/);
  });

  test('notify-on takes only breach, failed and always', () => {
    assert.deepEqual(resolveSettings({ notifyOn: 'always' }, { env: {} }).notifyOn, ['always']);
    assert.throws(() => resolveSettings({ notifyOn: 'breach,sometimes' }, { env: {} }), /--notify-on: "sometimes" not one of breach, failed, always/);
  });

  test('repeated --notify URLs are kept whole, commas and all', () => {
    assert.deepEqual(resolveSettings({ notify: ['https://a.example/x?a=1,2', 'https://b.example/'] }, { env: {} }).notify, ['https://a.example/x?a=1,2', 'https://b.example/']);
  });
});
