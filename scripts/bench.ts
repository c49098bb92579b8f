/**
 * `npm run bench`: cleaner's throughput and memory against a straightforward Node cleaner, on the
 * same generated data, in one run.
 *
 *   npm run bench -- [--size 1GB] [--files 8] [--threads N] [--seed 1] [--runs 3] [--ascii]
 *                    [--skip-e2e] [--skip-baseline] [--data-only] [--dir /tmp/cleaner-bench]
 *                    [--cli path/to/bin/cleaner.js]   (another build of cleaner, e.g. an older commit's)
 *                    [--against path/to/bin/cleaner.js] (clean only, also with that build, in the same
 *                                      runs, the two alternating which goes first: the way to
 *                                      compare two builds on a machine whose speed drifts)
 *                    [--link-mbps N]  (e2e through a proxy that serves each connection at N MB/s, as S3 does)
 *                    [--part-bytes N] (e2e: the size of ranged GETs; 0 fetches every object whole)
 *                    [--dest]         (e2e also delivers to a destination bucket on the same s3rver:
 *                                      download, clean and upload in one peak RSS)
 *                    [--schema FILE]  (rules for cleaner and the baseline alike; default: the built-in ones)
 *                    [--objects N]    (another bench: N tiny objects, first and incremental runs
 *                                      next to `aws s3 sync`; see scripts/bench-objects.ts)
 *                    [--load]         (another bench: `cleaner load` next to `psql \copy`; see scripts/bench-load.ts)
 *                    [--data DIR]     (these JSON-lines files instead of generated ones; counts are
 *                                      then checked against the baseline's, not the generator's)
 *
 * 1. Generates deterministic web-event JSON lines (test/helpers/events.ts, about 4% rejects and 1%
 *    blank lines, some non-ASCII text; `--ascii` escapes it) into <dir>/data-…/events/, written in
 *    1 MB pieces by a few threads, never held whole; kept and reused by later runs with the same options.
 * 2. Measures, each as its own child process, `--runs` times (interleaved) and reports the median:
 *    - baseline: scripts/bench-baseline.ts (node:readline + JSON.parse + ajv with ajv-formats + write
 *      streams, one thread);
 *    - clean:    `cleaner run --source <dir>` on the local files (outputs and reject records written);
 *    - e2e:      `cleaner run --source s3://…` against a local s3rver holding the same files
 *      (download and clean overlapped; only the cleaner process is timed).
 *    Peak RSS is the whole process's (all threads), from /usr/bin/time, else VmHWM polled in /proc.
 * 3. Checks that cleaner's output files equal the baseline's accepted lines byte for byte, and that
 *    its counts equal the generator's.
 *
 * It prints figures; it never asserts a time.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { measure, median, type Measured } from './measure.js';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Piscina } from 'piscina';
import { startS3, type S3Server } from '../test/helpers/s3.js';
import { CLI, cliEnv } from '../test/helpers/cli.js';
import type { Piece, PieceTask } from './bench-gen.js';
import { startThrottleProxy, type ThrottleProxy } from '../test/helpers/throttle-proxy.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BASELINE = join(ROOT, 'scripts', 'bench-baseline.ts');
const GEN = new URL('./bench-gen.ts', import.meta.url).href;
/** Lines per generated piece: about 1 MB, so a file overshoots its share of --size by at most that. */
const PIECE_LINES = 2000;
const BUCKET = 'bench';
const DEST_BUCKET = 'bench-dest';

// `--objects N` is another bench (many tiny objects through a generated lake): scripts/bench-objects.ts.
if (process.argv.slice(2).some((a) => a === '--objects' || a.startsWith('--objects='))) {
  await (await import('./bench-objects.js')).benchObjects(process.argv.slice(2));
  process.exit(0);
}
// `--load` is another bench (`cleaner load` next to `psql \copy`): scripts/bench-load.ts.
if (process.argv.slice(2).includes('--load')) {
  await (await import('./bench-load.js')).benchLoad(process.argv.slice(2).filter((a) => a !== '--load'));
  process.exit(0);
}

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1GB' },
    files: { type: 'string', default: '8' },
    threads: { type: 'string' },
    seed: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
    ascii: { type: 'boolean', default: false },
    'skip-e2e': { type: 'boolean', default: false },
    'link-mbps': { type: 'string' },
    'part-bytes': { type: 'string' },
    dest: { type: 'boolean', default: false },
    'skip-baseline': { type: 'boolean', default: false },
    'data-only': { type: 'boolean', default: false },
    dir: { type: 'string', default: '/tmp/cleaner-bench' },
    cli: { type: 'string' },
    against: { type: 'string' },
    schema: { type: 'string' },
    data: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0].replace(/^\/\*\*?\n?/, '').replace(/^ \* ?/gm, ''));
  process.exit(0);
}

const size = parseSize(values.size!);
const files = positiveInt('files', values.files!);
const seed = positiveInt('seed', values.seed!, 0);
const runs = positiveInt('runs', values.runs!);
const threads = values.threads === undefined ? availableParallelism() : positiveInt('threads', values.threads);
const dir = resolve(values.dir!);
const cli = values.cli === undefined ? CLI : resolve(values.cli);
const against = values.against === undefined ? undefined : resolve(values.against);
if (against !== undefined && !existsSync(against)) usage(`--against: no such file ${against}`);
const linkMbps = values['link-mbps'] === undefined ? undefined : positiveInt('link-mbps', values['link-mbps']);
const partBytes = values['part-bytes'] === undefined ? undefined : positiveInt('part-bytes', values['part-bytes'], 0);
const schemaFile = values.schema === undefined ? undefined : resolve(values.schema);
const dataDir = values.data === undefined ? undefined : resolve(values.data);
/** With other rules or other data, the generator's counts say nothing: the baseline's are the reference. */
const countsFromBaseline = schemaFile !== undefined || dataDir !== undefined;

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB)?$/i.exec(s.trim());
  if (!m) usage(`--size: expected a size such as 1GB, 500MB or 1GiB, got ${JSON.stringify(s)}`);
  const unit = (m[2] ?? 'B').toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1 << 10, mib: 1 << 20, gib: 1 << 30 };
  return Math.round(Number(m[1]) * mult[unit]);
}

function positiveInt(name: string, s: string, min = 1): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < min) usage(`--${name}: expected an integer >= ${min}, got ${JSON.stringify(s)}`);
  return n;
}

function usage(msg: string): never {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Data

interface DataSet {
  dir: string;
  /** The folder given to --source: holds the files, named part-NNNN.jsonl. */
  source: string;
  files: Array<{ name: string; bytes: number }>;
  bytes: number;
  lines: number;
  valid: number;
  rejected: number;
  blank: number;
}

async function dataSet(): Promise<DataSet> {
  if (dataDir !== undefined) return givenData(dataDir);
  const id = `data-${size}-${files}f-s${seed}${values.ascii ? '-ascii' : ''}`;
  const home = join(dir, id);
  const manifest = join(home, 'manifest.json');
  if (existsSync(manifest)) {
    const ds = JSON.parse(readFileSync(manifest, 'utf8')) as DataSet;
    if (ds.files.every((f) => existsSync(join(ds.source, f.name)) && statSync(join(ds.source, f.name)).size === f.bytes)) {
      log(`data: reusing ${home}`);
      return ds;
    }
  }
  rmSync(home, { recursive: true, force: true });
  const source = join(home, 'events');
  mkdirSync(source, { recursive: true });
  const ds: DataSet = { dir: home, source, files: [], bytes: 0, lines: 0, valid: 0, rejected: 0, blank: 0 };
  const started = Date.now();
  const pool = new Piscina<PieceTask, Piece>({ filename: GEN, maxThreads: availableParallelism(), minThreads: availableParallelism() });
  const window = availableParallelism() * 2;
  const target = Math.ceil(size / files);
  try {
    for (let f = 0; f < files; f++) {
      const name = `part-${String(f).padStart(4, '0')}.jsonl`;
      const fd = openSync(join(source, name), 'w');
      let bytes = 0;
      let next = 0;
      const pending: Array<Promise<Piece>> = [];
      try {
        // Pieces are made ahead by the pool and written strictly in order; the file stops at the
        // first piece that reaches its share, so the bytes do not depend on timing.
        while (bytes < target) {
          while (pending.length < window) pending.push(pool.run({ seed, file: f, piece: next++, lines: PIECE_LINES, ascii: values.ascii! }));
          const p = await pending.shift()!;
          writeSync(fd, p.data);
          bytes += p.data.length;
          ds.lines += p.lines;
          ds.valid += p.valid;
          ds.rejected += p.rejected;
          ds.blank += p.blank;
        }
        await Promise.all(pending);
      } finally {
        closeSync(fd);
      }
      ds.files.push({ name, bytes });
      ds.bytes += bytes;
      progress(`data: generated ${mb(ds.bytes)} MB of ${mb(size)} MB`);
    }
  } finally {
    await pool.destroy();
  }
  progress('');
  writeFileSync(manifest, JSON.stringify(ds, null, 2));
  log(`data: generated ${home} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return ds;
}

/** The files of `--data` (flat), with their sizes and line counts; valid/rejected come from the baseline. */
async function givenData(source: string): Promise<DataSet> {
  const ds: DataSet = { dir: source, source, files: [], bytes: 0, lines: 0, valid: 0, rejected: 0, blank: 0 };
  for (const name of readdirSync(source).sort()) {
    const path = join(source, name);
    if (!statSync(path).isFile()) continue;
    const bytes = statSync(path).size;
    ds.files.push({ name, bytes });
    ds.bytes += bytes;
    ds.lines += await countLines(path);
  }
  if (ds.files.length === 0) usage(`--data: no files in ${source}`);
  return ds;
}

// ---------------------------------------------------------------------------------------------
// Measuring a child process

/** Runs `node args…` to completion; times it and takes its peak RSS (scripts/measure.ts). Fails on a non-zero exit. */
async function measureNode(what: string, args: string[], env: NodeJS.ProcessEnv): Promise<Measured> {
  await syncDisks();
  return measure(what, process.execPath, args, env);
}

/** Writes back what earlier steps left dirty, so it is not flushed inside the next measurement. */
function syncDisks(): Promise<void> {
  return new Promise((res) => spawn('sync', { stdio: 'ignore' }).on('close', () => res()).on('error', () => res()));
}

// ---------------------------------------------------------------------------------------------
// The three contestants

interface Counts {
  lines: number;
  valid: number;
  rejected: number;
  blank: number;
}

/**
 * The baseline as plain JavaScript, so it pays neither the TypeScript loader's start-up time nor its
 * memory: bundled by esbuild (which tsx brings along) into one file under --dir. Without esbuild it
 * runs through tsx, which costs it about half a second and 30 MB.
 */
async function baselineCommand(): Promise<string[]> {
  try {
    const esbuild = await import('esbuild');
    const outfile = join(dir, 'bench-baseline.mjs');
    await esbuild.build({ entryPoints: [BASELINE], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, logLevel: 'error',
      // ajv is CommonJS: give the bundle a require() for what it pulls in at run time.
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" } });
    return [outfile];
  } catch (err) {
    log(`baseline: running through tsx (esbuild unavailable: ${(err as Error).message})`);
    return ['--import', 'tsx', BASELINE];
  }
}

async function runBaseline(ds: DataSet, out: string, cmd: string[]): Promise<Measured & { counts: Counts }> {
  rmSync(out, { recursive: true, force: true });
  const m = await measureNode('baseline', [...cmd, ds.source, out, ...(schemaFile ? [schemaFile] : [])], { ...process.env, NODE_OPTIONS: '' });
  return { ...m, counts: JSON.parse(m.stdout) as Counts };
}

async function runCleaner(what: string, source: string, work: string, extraEnv: Record<string, string> = {}, extraArgs: string[] = [], build = cli): Promise<Measured & { counts: Counts }> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const state = join(work, 'state.db');
  const args = [build, 'run', '--source', source, '--local-dir', work, '--state', state, '--threads', String(threads), '-q', ...(schemaFile ? ['--schema', schemaFile] : []), ...extraArgs];
  const m = await measureNode(what, args, cliEnv(extraEnv));
  const st = await new Promise<string>((res, rej) => {
    const c = spawn(process.execPath, [build, 'status', '--json', '--state', state], { env: cliEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (s += d));
    c.on('close', (code) => (code === 0 ? res(s) : rej(new Error(`cleaner status exited ${code}`))));
  });
  const t = (JSON.parse(st) as { totals: Counts }).totals;
  return { ...m, counts: { lines: t.lines, valid: t.valid, rejected: t.rejected, blank: t.blank } };
}

async function startServer(ds: DataSet): Promise<S3Server> {
  const s3 = await startS3({ dir: join(dir, 's3rver') });
  await s3.createBucket(BUCKET);
  if (values.dest) await s3.createBucket(DEST_BUCKET);
  const started = Date.now();
  for (const f of ds.files) {
    const body = createReadStream(join(ds.source, f.name), { highWaterMark: 1 << 20 });
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `events/${f.name}`, Body: body, ContentLength: f.bytes }));
  }
  log(`e2e: uploaded ${ds.files.length} objects (${mb(ds.bytes)} MB) to s3rver at ${s3.endpoint} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return s3;
}

/** User + system CPU seconds of a running process so far (Linux; NaN elsewhere). */
function processCpu(pid: number): number {
  try {
    // Fields 14 and 15 of /proc/<pid>/stat, counted after the command name's closing parenthesis.
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------------------------------------
// Checks

function sha256(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (d) => h.update(d))
      .on('end', () => res(h.digest('hex')))
      .on('error', rej);
  });
}

async function hashes(outputDir: string, ds: DataSet): Promise<string[]> {
  const out: string[] = [];
  for (const f of ds.files) out.push(existsSync(join(outputDir, f.name)) ? await sha256(join(outputDir, f.name)) : 'missing');
  return out;
}

function countLines(path: string): Promise<number> {
  return new Promise((res, rej) => {
    let n = 0;
    if (!existsSync(path)) return res(0);
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (d) => {
        const b = d as Buffer;
        for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
      })
      .on('end', () => res(n))
      .on('error', rej);
  });
}

const problems: string[] = [];

function sameCounts(what: string, got: Counts, want: Counts): void {
  for (const k of ['lines', 'valid', 'rejected', 'blank'] as const) {
    if (got[k] !== want[k]) problems.push(`${what}: ${k} ${got[k]}, expected ${want[k]}`);
  }
}

async function checkCleaner(what: string, work: string, ds: DataSet, counts: Counts, baselineHashes: string[] | undefined): Promise<void> {
  sameCounts(what, counts, ds);
  let records = 0;
  for (const f of ds.files) records += await countLines(join(work, 'errors', f.name));
  if (records !== ds.rejected) problems.push(`${what}: ${records} reject records, expected ${ds.rejected}`);
  if (!baselineHashes) return;
  const got = await hashes(join(work, 'output'), ds);
  got.forEach((h, i) => {
    if (h !== baselineHashes[i]) problems.push(`${what}: output/${ds.files[i].name} differs from the baseline's accepted lines`);
  });
}

// ---------------------------------------------------------------------------------------------
// Report

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(0);
}

function log(s: string): void {
  process.stderr.write(s + '\n');
}

function progress(s: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${s}\x1b[K`);
}

interface Row {
  what: string;
  seconds: number[];
  rss: number[];
  cpu: number[];
}

function table(rows: Row[], ds: DataSet): string {
  const base = rows.find((r) => r.what.startsWith('baseline'));
  const head = ['what', 'size MB', 'seconds', 'MB/s', 'lines/s', 'CPU s', 'peak RSS MB', 'vs baseline'];
  const body = rows.map((r) => {
    const s = median(r.seconds);
    return [
      r.what,
      mb(ds.bytes),
      s.toFixed(2),
      (ds.bytes / 1e6 / s).toFixed(1),
      Math.round(ds.lines / s).toLocaleString('en-US'),
      Number.isNaN(median(r.cpu)) ? '-' : median(r.cpu).toFixed(1),
      (Math.max(...r.rss) / 1e6).toFixed(0),
      base ? `${(median(base.seconds) / s).toFixed(2)}x` : '-',
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const fmt = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
  return [fmt(head), '|' + widths.map((w, i) => (i === 0 ? ':' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':')).join('|') + '|', ...body.map(fmt)].join('\n');
}

// ---------------------------------------------------------------------------------------------

mkdirSync(dir, { recursive: true });
const ds = await dataSet();
log(`data: ${ds.files.length} file(s), ${mb(ds.bytes)} MB, ${ds.lines.toLocaleString('en-US')} lines (${ds.valid} valid, ${ds.rejected} rejected, ${ds.blank} blank)`);
if (values['data-only']) process.exit(0);
const loadBefore = loadavg()[0];

const rows: Row[] = [];
const baseline: Row = { what: 'baseline (readline + JSON.parse + ajv, 1 thread)', seconds: [], rss: [], cpu: [] };
const clean: Row = { what: `cleaner, clean only (local files, ${threads} threads)`, seconds: [], rss: [], cpu: [] };
const other: Row = { what: `--against build, clean only (local files, ${threads} threads)`, seconds: [], rss: [], cpu: [] };
const e2e: Row = { what: `cleaner, end to end from s3rver${values.dest ? ' and back to it (--dest)' : ''} (${threads} threads)`, seconds: [], rss: [], cpu: [] };
if (!values['skip-baseline']) rows.push(baseline);
rows.push(clean);
if (against !== undefined) rows.push(other);
if (!values['skip-e2e']) rows.push(e2e);

let s3: S3Server | undefined;
let link: ThrottleProxy | undefined;
/** CPU seconds s3rver spent serving each e2e run: on a machine this size it competes with cleaner. */
const serverCpu: number[] = [];
let baselineHashes: string[] | undefined;
const stopServer = () => void s3?.stop();
process.once('SIGINT', () => {
  stopServer();
  process.exit(130);
});
try {
  const baselineCmd = values['skip-baseline'] ? [] : await baselineCommand();
  if (!values['skip-e2e']) s3 = await startServer(ds);
  if (s3 && linkMbps !== undefined) link = await startThrottleProxy(s3.endpoint, linkMbps);
  for (let r = 1; r <= runs; r++) {
    if (!values['skip-baseline']) {
      const out = join(dir, 'work-baseline');
      const m = await runBaseline(ds, out, baselineCmd);
      baseline.seconds.push(m.seconds);
      baseline.rss.push(m.peakRss);
      baseline.cpu.push(m.cpu);
      log(`run ${r}/${runs}: baseline ${m.seconds.toFixed(2)} s, peak RSS ${mb(m.peakRss)} MB`);
      if (r === 1) {
        if (countsFromBaseline) Object.assign(ds, { valid: m.counts.valid, rejected: m.counts.rejected, blank: m.counts.blank, lines: m.counts.lines });
        sameCounts('baseline', m.counts, ds);
        baselineHashes = await hashes(join(out, 'output'), ds);
      }
    }
    const work = join(dir, 'work-clean');
    // With --against, the builds take turns going first, so neither always meets the machine as the other left it.
    const order: Array<[Row, string]> = [[clean, cli], ...(against === undefined ? [] : [[other, against] as [Row, string]])];
    if (r % 2 === 0) order.reverse();
    for (const [row, build] of order) {
      const what = row === clean ? 'clean' : 'against';
      const c = await runCleaner(what, ds.source, work, {}, [], build);
      row.seconds.push(c.seconds);
      row.rss.push(c.peakRss);
      row.cpu.push(c.cpu);
      log(`run ${r}/${runs}: ${what} ${c.seconds.toFixed(2)} s, ${c.cpu.toFixed(2)} CPU s, peak RSS ${mb(c.peakRss)} MB`);
      await checkCleaner(`${what} run ${r}`, work, ds, c.counts, baselineHashes);
    }
    if (s3) {
      const w = join(dir, 'work-e2e');
      const env: Record<string, string> = s3.env();
      // 0 fetches every object whole (download-parts.ts).
      if (partBytes !== undefined) env.CLEANER_PART_BYTES = String(partBytes);
      const serverBefore = processCpu(s3.pid);
      // Each run delivers under its own prefix: a destination that already holds this output is
      // reconciled (nothing downloaded), which would make every run after the first measure nothing.
      const dest = values.dest ? ['--dest', `s3://${DEST_BUCKET}/clean-run-${r}/`, '--dest-endpoint-url', s3.endpoint] : [];
      const e = await runCleaner('e2e', `s3://${BUCKET}/events/`, w, env, ['--endpoint-url', link?.endpoint ?? s3.endpoint, ...dest]);
      serverCpu.push(processCpu(s3.pid) - serverBefore);
      e2e.seconds.push(e.seconds);
      e2e.rss.push(e.peakRss);
      e2e.cpu.push(e.cpu);
      log(`run ${r}/${runs}: e2e ${e.seconds.toFixed(2)} s, peak RSS ${mb(e.peakRss)} MB`);
      await checkCleaner(`e2e run ${r}`, w, ds, e.counts, baselineHashes);
    }
  }
} finally {
  await link?.stop();
  await s3?.stop();
  for (const w of ['work-baseline', 'work-clean', 'work-e2e', 's3rver', 'bench-baseline.mjs']) rmSync(join(dir, w), { recursive: true, force: true });
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`\ncleaner bench: ${mb(ds.bytes)} MB in ${ds.files.length} file(s), ${ds.lines.toLocaleString('en-US')} lines ` +
  `(${((ds.rejected / ds.lines) * 100).toFixed(1)}% rejected, ${((ds.blank / ds.lines) * 100).toFixed(1)}% blank), seed ${seed}${values.ascii ? ', ASCII only' : ', with non-ASCII text'}`);
if (cli !== CLI) console.log(`cleaner: ${cli}`);
console.log(`machine: ${availableParallelism()} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, node ${process.version}, ${process.platform}; median of ${runs} run(s) (seconds, CPU = user + system of the measured process); peak RSS is the highest run's`);
// Other work on the machine skews every figure: say how busy it was.
console.log(`load average (1 min): ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after\n`);
console.log(table(rows, ds));
if (rows.includes(e2e) && e2e.seconds.length) {
  const ratio = median(e2e.seconds) / median(clean.seconds);
  console.log(`\nend to end / clean only: ${ratio.toFixed(2)}x` + (linkMbps ? ` (each S3 connection capped at ${linkMbps} MB/s)` : ''));
  // Both processes share the machine's cores: their CPU time over the cores bounds the run from below.
  const floor = (median(e2e.cpu) + median(serverCpu)) / availableParallelism();
  console.log(`s3rver used ${median(serverCpu).toFixed(1)} CPU s serving it; cleaner + s3rver CPU over ${availableParallelism()} cores = ${floor.toFixed(2)} s, ` +
    `${(floor / median(clean.seconds)).toFixed(2)}x clean only: no end-to-end run on this machine can be faster`);
}
if (against !== undefined && other.seconds.length) {
  // Each run's pair was measured minutes apart at most: their ratio is steadier than either time.
  const ratios = clean.seconds.map((x, i) => x / other.seconds[i]);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`\n--against ${against}: this build / that one, clean only, per run: ${ratios.map((x) => x.toFixed(3)).join(', ')}; ` +
    `mean ${mean(ratios).toFixed(3)} (mean s ${mean(clean.seconds).toFixed(2)} against ${mean(other.seconds).toFixed(2)}, ` +
    `CPU s ${mean(clean.cpu).toFixed(2)} against ${mean(other.cpu).toFixed(2)})`);
}
if (problems.length) {
  console.log(`\nCHECK FAILED:\n  ${problems.join('\n  ')}`);
  process.exitCode = 1;
} else {
  console.log(`\ncheck: ${baselineHashes ? "cleaner's output files equal the baseline's accepted lines byte for byte; " : ''}counts and reject records match the generator's`);
}
