/**
 * `npm run demo`: the main job on an embedded default. Starts a local S3 server (s3rver) on
 * loopback, uploads generated sample web events (plain and .gz, with some broken lines), runs
 * `cleaner run` against it exactly as a user would, delivering to a second bucket and loading into
 * an embedded DuckDB file (demo-work/warehouse.duckdb), then shows `cleaner status`, the loader
 * manifest the run wrote at the destination, and a query over the loaded table.
 *
 *   npm run demo [-- --objects N --lines N --keep-server]
 */
import { spawnSync } from 'node:child_process';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startS3 } from '../test/helpers/s3.js';
import { generateEvents, gzip } from '../test/helpers/events.js';
import { CLI } from '../test/helpers/cli.js';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '40' },
    lines: { type: 'string', default: '2000' },
    dir: { type: 'string', default: 'demo-work' },
  },
});

const objects = Number(values.objects);
const lines = Number(values.lines);
const local = resolve(values.dir!);
const bucket = 'demo-events';
const destBucket = 'demo-warehouse';

rmSync(local, { recursive: true, force: true });
mkdirSync(local, { recursive: true });
const s3 = await startS3();
try {
  await s3.createBucket(bucket);
  await s3.createBucket(destBucket);
  const entries: Array<[string, Buffer]> = [];
  let bytes = 0;
  for (let i = 0; i < objects; i++) {
    const ev = generateEvents({ seed: 1000 + i, lines, rejectRate: 0.04, blankRate: 0.01 });
    const day = String((i % 3) + 1).padStart(2, '0');
    const gz = i % 5 === 0;
    const body = gz ? gzip(ev.data) : ev.data;
    bytes += body.length;
    entries.push([`events/2026/11/${day}/part-${String(i).padStart(4, '0')}.jsonl${gz ? '.gz' : ''}`, body]);
  }
  await s3.putMany(bucket, entries);
  console.log(`demo: local S3 server at ${s3.endpoint}, bucket ${bucket}: ${objects} objects, ${(bytes / 1e6).toFixed(1)} MB under events/`);

  const env = { ...process.env, ...s3.env(), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const state = resolve(local, 'state.db');
  const warehouse = resolve(local, 'warehouse.duckdb');
  const args = ['run', '--source', `s3://${bucket}/events/`, '--local-dir', local, '--state', state, '--dest', `s3://${destBucket}/clean/`, '--load', `duckdb:${warehouse}`];
  console.log(`demo: cleaner ${args.join(' ')}\n`);
  const run = spawnSync(process.execPath, [CLI, ...args], { env, stdio: 'inherit' });
  console.log(`\ndemo: cleaner status --state ${state}\n`);
  spawnSync(process.execPath, [CLI, 'status', '--state', state], { env, stdio: 'inherit' });
  console.log(`demo: clean files in ${local}/output, reject records in ${local}/errors`);
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: destBucket, Prefix: 'clean/_manifests/' }));
  const manifestKey = listed.Contents?.[0]?.Key;
  const manifest = JSON.parse(manifestKey ? (await s3.get(destBucket, manifestKey)).toString() : 'null') as {
    entries: Array<{ url: string; meta: { content_length: number; record_count: number } }>;
    meta: { record_count: number };
  } | null;
  if (manifest) {
    console.log(`\ndemo: delivered to s3://${destBucket}/clean/; its loader manifest s3://${destBucket}/${manifestKey} names ${manifest.entries.length} files, ${manifest.meta.record_count} rows:`);
    for (const e of manifest.entries.slice(0, 3)) console.log(`  ${e.url}  ${e.meta.content_length} bytes, ${e.meta.record_count} rows`);
    if (manifest.entries.length > 3) console.log(`  ... (${manifest.entries.length - 3} more)`);
  }
  if (run.status === 0) await showWarehouse(warehouse);
  process.exitCode = run.status ?? 1;
} finally {
  await s3.stop();
}

/** Reads the loaded table back: events per type and day, as an analyst's first query would. */
async function showWarehouse(file: string): Promise<void> {
  const sql = `SELECT event_type ->> '$' AS event_type, CAST("timestamp" AS DATE) AS day, count(*) AS events FROM events GROUP BY ALL ORDER BY day, events DESC`;
  const instance = await DuckDBInstance.create(file);
  const c = await instance.connect();
  try {
    const rows = (await c.runAndReadAll(sql)).getRows();
    const [[total, objects]] = (await c.runAndReadAll('SELECT count(*), count(DISTINCT _source) FROM events')).getRows();
    console.log(`\ndemo: loaded ${total} rows from ${objects} objects into ${file} (table events, ledger cleaner_loads); ${sql}:`);
    console.log(`  ${'day'.padEnd(10)}  ${'event_type'.padEnd(14)}  events`);
    for (const [type, day, n] of rows) console.log(`  ${String(day).padEnd(10)}  ${String(type).padEnd(14)}  ${String(n).padStart(6)}`);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}
