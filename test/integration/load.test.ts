/**
 * Loads into a real PostgreSQL server (started here, in a temp dir) and a real DuckDB file, through
 * the real CLI: every valid line lands exactly once, whatever crashes in between.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { runCli, spawnCli } from '../helpers/cli.js';
import { generateEvents, gzip } from '../helpers/events.js';
import { expectedFor } from '../helpers/oracle.js';
import { postgresMissing, startPostgres, type Postgres } from '../helpers/postgres.js';

let dir: string;
let pg: Postgres | undefined;
const skipPg = postgresMissing();

/** A fresh source folder with these files. */
function source(name: string, files: Record<string, Buffer | string>): string {
  const src = join(dir, name, 'src');
  mkdirSync(src, { recursive: true });
  for (const [f, body] of Object.entries(files)) writeFileSync(join(src, f), body);
  return src;
}

/** Every file under `root`, recursively. */
function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((f) => join(root, f))
    .filter((f) => statSync(f).isFile());
}

/** Rows per source and the duplicates among them (same source and output line). */
async function pgCounts(table: string): Promise<{ bySource: Record<string, number>; dups: number }> {
  const rows = await pg!.query<{ s: string; n: string }>(`SELECT _source AS s, count(*) AS n FROM ${table} GROUP BY 1`);
  const [d] = await pg!.query<{ n: string }>(`SELECT count(*) - count(DISTINCT (_source, _line)) AS n FROM ${table}`);
  return { bySource: Object.fromEntries(rows.map((r) => [r.s, Number(r.n)])), dups: Number(d.n) };
}

/**
 * Waits until a COPY into `table` is running after at least one object was committed, then calls
 * `act` (kill the loader, stop the server). False when the child ended first.
 */
async function whileCopying(child: { exitCode: number | null }, table: string, act: () => void): Promise<boolean> {
  for (let i = 0; i < 600 && child.exitCode === null; i++) {
    const [a] = await pg!.query<{ copying: string; loaded: string }>(
      `SELECT (SELECT count(*) FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active') AS copying,
              (SELECT count(*) FROM pg_tables WHERE tablename = 'cleaner_loads') AS loaded`,
      [`COPY%${table}%`],
    );
    if (Number(a.copying) > 0) {
      const [l] = Number(a.loaded) ? await pg!.query<{ n: string }>('SELECT count(*) AS n FROM cleaner_loads WHERE table_name = $1', [table]) : [{ n: '0' }];
      if (Number(l.n) >= 1) {
        act();
        return true;
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

describe('loads into PostgreSQL', { skip: skipPg }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cleaner-load-'));
    pg = await startPostgres();
  });
  after(() => {
    pg?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every valid line is loaded once; a second run and cleaner load skip what the ledger holds', async () => {
    const data = [1, 2, 3].map((i) => generateEvents({ seed: 300 + i, lines: 1000 }).data);
    const src = source('once', Object.fromEntries(data.map((d, i) => [`f${i}.jsonl`, d])));
    const state = join(dir, 'once', 'state.db');
    const args = ['--source', src, '--local-dir', join(dir, 'once', 'work'), '--state', state, '--load', pg!.url, '--table', 'once_events'];
    const r = await runCli(['run', ...args]);
    assert.equal(r.code, 0, r.stderr);
    const want = Object.fromEntries(data.map((d, i) => [join(src, `f${i}.jsonl`), expectedFor(d).valid]));
    assert.deepEqual(await pgCounts('once_events'), { bySource: want, dups: 0 });
    const again = await runCli(['run', ...args]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /loaded 0 object\(s\).*3 already loaded/);
    const load = await runCli(['load', '--state', state, '--load', pg!.url, '--table', 'once_events']);
    assert.equal(load.code, 0, load.stderr);
    assert.deepEqual(await pgCounts('once_events'), { bySource: want, dups: 0 });
    const [typed] = await pg!.query<{ n: string }>("SELECT count(*) AS n FROM once_events WHERE event_id::text = data->>'event_id' AND timestamp IS NOT NULL");
    assert.equal(Number(typed.n), Object.values(want).reduce((a, b) => a + b));
    const ledger = await pg!.query<{ rows: string }>("SELECT rows FROM cleaner_loads WHERE table_name = 'once_events' ORDER BY source");
    assert.deepEqual(ledger.map((l) => Number(l.rows)), Object.values(want));
  });

  test('a SIGKILL during COPY, then resume: nothing duplicated, nothing missing, and the password is nowhere on disk', async () => {
    const data = [1, 2, 3, 4, 5, 6].map((i) => generateEvents({ seed: 400 + i, lines: 8000 }).data);
    const src = source('kill', Object.fromEntries(data.map((d, i) => [`f${i}.jsonl`, d])));
    const state = join(dir, 'kill', 'state.db');
    const child = spawnCli(['run', '--source', src, '--local-dir', join(dir, 'kill', 'work'), '--state', state, '--load', pg!.url, '--table', 'kill_events', '--threads', '1']);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = new Promise((r) => child.on('close', r));
    const killed = await whileCopying(child, 'kill_events', () => child.kill('SIGKILL'));
    await exited;
    assert.ok(killed, `the run ended before a COPY could be killed: ${stderr}`);
    const partial = await pgCounts('kill_events');
    assert.ok(Object.keys(partial.bySource).length < 6, 'some objects were still to load');
    // Resume without the password in the URL: it comes from PGPASSWORD.
    const r = await runCli(['resume', '--state', state], { env: { PGPASSWORD: pg!.password } });
    assert.equal(r.code, 0, r.stderr);
    const want = Object.fromEntries(data.map((d, i) => [join(src, `f${i}.jsonl`), expectedFor(d).valid]));
    assert.deepEqual(await pgCounts('kill_events'), { bySource: want, dups: 0 });
    for (const f of [...filesUnder(join(dir, 'kill')), ...filesUnder(join(dir, 'once'))]) {
      assert.equal(readFileSync(f).includes(pg!.password), false, `the password is in ${f}`);
    }
    assert.equal(stderr.includes(pg!.password) || r.stderr.includes(pg!.password), false, 'the password is in a log');
  });

  test('PostgreSQL stopped during a COPY and started again: the run retries with backoff and loads every object exactly once', async () => {
    const data = [1, 2, 3, 4].map((i) => generateEvents({ seed: 450 + i, lines: 3000 }).data);
    const src = source('restart', Object.fromEntries(data.map((d, i) => [`f${i}.jsonl`, d])));
    const state = join(dir, 'restart', 'state.db');
    const child = spawnCli(['run', '--source', src, '--local-dir', join(dir, 'restart', 'work'), '--state', state, '--load', pg!.url, '--table', 'restart_events', '--threads', '1']);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    const stopped = await whileCopying(child, 'restart_events', () => pg!.stop());
    assert.ok(stopped, `the run ended before the server could be stopped: ${stderr}`);
    // Down long enough that the first try (after 0.5 s) finds nobody listening.
    await new Promise((r) => setTimeout(r, 800));
    pg!.start();
    const code = await exited;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /lost the database connection; trying again/);
    const want = Object.fromEntries(data.map((d, i) => [join(src, `f${i}.jsonl`), expectedFor(d).valid]));
    assert.deepEqual(await pgCounts('restart_events'), { bySource: want, dups: 0 });
    const ledger = await pg!.query<{ rows: string }>("SELECT rows FROM cleaner_loads WHERE table_name = 'restart_events' ORDER BY source");
    assert.deepEqual(ledger.map((l) => Number(l.rows)), Object.values(want));
  });

  test('a changed object replaces its rows', async () => {
    const first = generateEvents({ seed: 501, lines: 800 }).data;
    const src = source('changed', { 'a.jsonl': first, 'b.jsonl': generateEvents({ seed: 502, lines: 500 }).data });
    const args = ['run', '--source', src, '--local-dir', join(dir, 'changed', 'work'), '--state', join(dir, 'changed', 'state.db'), '--load', pg!.url, '--table', 'changed_events'];
    assert.equal((await runCli(args)).code, 0);
    const second = generateEvents({ seed: 503, lines: 300 }).data;
    writeFileSync(join(src, 'a.jsonl'), second);
    const r = await runCli(args);
    assert.equal(r.code, 0, r.stderr);
    const counts = await pgCounts('changed_events');
    assert.equal(counts.bySource[join(src, 'a.jsonl')], expectedFor(second).valid);
    assert.equal(counts.dups, 0);
    const [id] = await pg!.query<{ n: string }>(`SELECT count(*) AS n FROM changed_events WHERE _source = $1 AND _run_id = 2`, [join(src, 'a.jsonl')]);
    assert.equal(Number(id.n), expectedFor(second).valid);
  });

  test('\\u0000 and out-of-range values become load_refused rejects; the rest of the object loads', async () => {
    const schema = {
      type: 'object',
      required: ['id'],
      properties: { id: { type: 'integer' }, at: { type: 'string', format: 'date-time' }, amount: { type: 'number' }, note: { type: 'string' } },
    };
    const lines = [
      '{"id": 1, "at": "2024-05-01T10:00:00Z", "amount": 1.5, "note": "fine"}',
      '{"id": 2, "note": "nul \\u0000 here"}',
      '{"id": 3, "at": "0000-01-01T00:00:00Z"}',
      '{"id": 4, "amount": 1e400}',
      '{"id": 99999999999999999999}',
      '{"id": 6, "note": "tab\\tand \\\\ backslash"}',
    ];
    const src = source('refused', { 'r.jsonl': lines.join('\n') + '\n' });
    writeFileSync(join(dir, 'refused', 'rules.json'), JSON.stringify(schema));
    const work = join(dir, 'refused', 'work');
    const r = await runCli(['run', '--source', src, '--local-dir', work, '--state', join(dir, 'refused', 'state.db'), '--schema', join(dir, 'refused', 'rules.json'), '--load', pg!.url, '--table', 'refused_events', '--load-rejects']);
    assert.equal(r.code, 0, r.stderr);
    const rows = await pg!.query<{ id: string; _line: string; note: unknown }>('SELECT id, _line, note FROM refused_events ORDER BY _line');
    assert.deepEqual(rows.map((x) => Number(x.id)), [1, 6]);
    assert.equal(rows[1].note, 'tab\tand \\ backslash');
    const records = readFileSync(join(work, 'load-refused', 'r.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(records.map((x) => [x.output_line, x.reason]), [[2, 'load_refused'], [3, 'load_refused'], [4, 'load_refused'], [5, 'load_refused']]);
    assert.match(records[0].message, /Unicode|\\u0000/);
    assert.match(records[1].message, /out of range/);
    assert.match(records[2].message, /out of range/);
    assert.match(records[3].message, /out of range/);
    assert.equal(records[0].raw, lines[1]);
    const rejects = await pg!.query<{ reason: string; n: string }>("SELECT reason, count(*) AS n FROM refused_events_rejects GROUP BY 1");
    assert.deepEqual(rejects.map((x) => [x.reason, Number(x.n)]), [['load_refused', 4]]);
    const [led] = await pg!.query<{ rows: string; refused: string }>("SELECT rows, refused FROM cleaner_loads WHERE table_name = 'refused_events'");
    assert.deepEqual([Number(led.rows), Number(led.refused)], [2, 4]);
  });

  test('an existing table that does not fit is refused, listing the differences', async () => {
    await pg!.query('CREATE TABLE odd_events (event_id text, data jsonb, extra int NOT NULL)');
    const src = source('odd', { 'a.jsonl': generateEvents({ seed: 601, lines: 50 }).data });
    const r = await runCli(['run', '--source', src, '--local-dir', join(dir, 'odd', 'work'), '--state', join(dir, 'odd', 'state.db'), '--load', pg!.url, '--table', 'odd_events']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /table odd_events exists and does not fit the rules: column event_id is text, expected uuid; column session_id is missing \(expected uuid\);.*column extra is NOT NULL without a default/);
    assert.equal(r.stderr.includes(pg!.password), false);
  });
});

describe('loads into DuckDB', () => {
  let ddir: string;
  before(() => (ddir = mkdtempSync(join(tmpdir(), 'cleaner-duck-'))));
  after(() => rmSync(ddir, { recursive: true, force: true }));

  async function query(file: string, sql: string): Promise<unknown[][]> {
    const inst = await DuckDBInstance.create(file);
    const c = await inst.connect();
    try {
      return (await c.runAndReadAll(sql)).getRows();
    } finally {
      c.closeSync();
      inst.closeSync();
    }
  }

  test('every valid line (of plain and .gz objects) is loaded once into a DuckDB file, with its typed columns; a changed object replaces its rows', async () => {
    const src = join(ddir, 'src');
    mkdirSync(src);
    const a = generateEvents({ seed: 701, lines: 800 }).data;
    const b = generateEvents({ seed: 702, lines: 900 }).data;
    const c = generateEvents({ seed: 704, lines: 700 }).data;
    writeFileSync(join(src, 'a.jsonl'), a);
    writeFileSync(join(src, 'b.jsonl'), b);
    // A .gz object's outputs are gzip: loaded as their lines, not refused as bytes.
    writeFileSync(join(src, 'c.jsonl.gz'), gzip(c));
    const file = join(ddir, 'warehouse.duckdb');
    const args = ['run', '--source', src, '--local-dir', join(ddir, 'work'), '--state', join(ddir, 'state.db'), '--load', `duckdb:${file}`];
    const first = await runCli(args);
    assert.equal(first.code, 0, first.stderr);
    assert.doesNotMatch(first.stderr, /refused/);
    const count = async () => Object.fromEntries((await query(file, 'SELECT _source, count(*) FROM events GROUP BY 1')).map(([s, n]) => [s, Number(n)]));
    const cWant = { [join(src, 'c.jsonl.gz')]: expectedFor(c).valid };
    assert.deepEqual(await count(), { [join(src, 'a.jsonl')]: expectedFor(a).valid, [join(src, 'b.jsonl')]: expectedFor(b).valid, ...cWant });
    const [[typed]] = await query(
      file,
      `SELECT count(*) FROM events WHERE CAST(event_id AS VARCHAR) = (data->>'event_id') AND session_id IS NOT NULL AND "timestamp" IS NOT NULL
         AND CAST(event_type AS VARCHAR) = CAST((data->'event_type') AS VARCHAR)`,
    );
    assert.equal(Number(typed), expectedFor(a).valid + expectedFor(b).valid + expectedFor(c).valid);
    const a2 = generateEvents({ seed: 703, lines: 400 }).data;
    writeFileSync(join(src, 'a.jsonl'), a2);
    const r = await runCli(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /loaded 1 object\(s\).*2 already loaded/);
    assert.deepEqual(await count(), { [join(src, 'a.jsonl')]: expectedFor(a2).valid, [join(src, 'b.jsonl')]: expectedFor(b).valid, ...cWant });
    const [[dups]] = await query(file, 'SELECT count(*) - count(DISTINCT (_source, _line)) FROM events');
    assert.equal(Number(dups), 0);
  });

  test('a value DuckDB cannot store becomes a load_refused reject', async () => {
    const src = join(ddir, 'src2');
    mkdirSync(src);
    writeFileSync(join(src, 'n.jsonl'), '{"id": 1, "tag": null}\n{"id": 99999999999999999999}\n{"id": 3.0, "tag": {"a": [1]}, "at": "2024-05-01T10:00:00Z"}\n{"id": 4, "at": "0000-01-01T00:00:00Z"}\n');
    writeFileSync(join(ddir, 'rules.json'), JSON.stringify({ type: 'object', properties: { id: { type: 'integer' }, tag: {}, 'a/b~c': { type: 'integer' }, at: { type: 'string', format: 'date-time' } } }));
    const file = join(ddir, 'n.duckdb');
    const work = join(ddir, 'work2');
    const r = await runCli(['run', '--source', src, '--local-dir', work, '--state', join(ddir, 'state2.db'), '--schema', join(ddir, 'rules.json'), '--load', `duckdb:${file}`]);
    assert.equal(r.code, 0, r.stderr);
    // JSON null is SQL NULL; 3.0 is the integer 3; any JSON goes into a JSON column; DuckDB stores year 0.
    assert.deepEqual(
      (await query(file, 'SELECT id, CAST(tag AS VARCHAR), CAST("at" AS VARCHAR) IS NOT NULL FROM events ORDER BY id')).map(([x, t, at]) => [Number(x), t, at]),
      [[1, null, false], [3, '{"a":[1]}', true], [4, null, true]],
    );
    const recs = readFileSync(join(work, 'load-refused', 'n.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(recs.map((x) => [x.output_line, x.reason]), [[2, 'load_refused']]);
    assert.match(recs[0].message, /INT64|out of range/);
    assert.match(recs[0].message, /column id/);
    // status counts them beside the rules' rejects.
    const st = await runCli(['status', '--json', '--state', join(ddir, 'state2.db')]);
    assert.equal(JSON.parse(st.stdout).load_refused, 1);
    assert.match((await runCli(['status', '--state', join(ddir, 'state2.db')])).stdout, /load +1 valid line\(s\) refused by the database/);
  });

  test('status takes the refused count from the state (kept by each load), not by reading load-refused/ again', async () => {
    const src = join(ddir, 'src3');
    mkdirSync(src);
    writeFileSync(join(src, 'n.jsonl'), '{"id": 1}\n{"id": 99999999999999999999}\n{"id": 3}\n{"id": 99999999999999999998}\n');
    writeFileSync(join(ddir, 'rules3.json'), JSON.stringify({ type: 'object', properties: { id: { type: 'integer' } } }));
    const state = join(ddir, 'state3.db');
    const work = join(ddir, 'work3');
    const args = ['run', '--source', src, '--local-dir', work, '--state', state, '--schema', join(ddir, 'rules3.json'), '--load', `duckdb:${join(ddir, 'n3.duckdb')}`];
    assert.equal((await runCli(args)).code, 0);
    const refused = async () => JSON.parse((await runCli(['status', '--json', '--state', state])).stdout).load_refused as number;
    assert.equal(await refused(), 2);
    // status no longer reads the files (a lake's thousands of them, on every call).
    rmSync(join(work, 'load-refused'), { recursive: true });
    assert.equal(await refused(), 2);
    // A load of the object's new version that the database takes whole clears its count.
    writeFileSync(join(src, 'n.jsonl'), '{"id": 1}\n{"id": 2}\n');
    assert.equal((await runCli(args)).code, 0);
    assert.equal(await refused(), 0);
  });
});
