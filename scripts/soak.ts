/**
 * `npm run soak`: proves that nothing is lost and nothing is duplicated under crashes.
 *
 * Generates a deterministic data set (test/helpers/dataset.ts), uploads it to a real s3rver, runs
 * an uninterrupted reference `cleaner run`, then runs the same job into a second local dir and
 * SIGKILLs it at seeded random instants, each time followed by `cleaner resume` (killed again in
 * turn), until the kill budget is spent; a last `resume` finishes the job. Every output, error and
 * input file is then compared byte for byte (gzip decompressed) with the reference, and so are the
 * `status --json` totals. If the job finishes by itself before the budget is spent, it is checked
 * and the job starts over in a fresh local dir (a new cycle), so every kill counts.
 *
 *   npm run soak -- [--size 200MB] [--objects 60] [--kills 30] [--seed 1] [--large | --no-large]
 *                   [--checkpoint-bytes 65536] [--keep] [--tmp DIR | --local-dir DIR]
 *
 * The seed fixes the data and the planned kill delays; the instant a kill lands still depends on
 * the machine's speed, so each kill's phase is recorded as it happens. The compiled CLI (bin/,
 * dist/, migrations/) is copied into the work dir first: a rebuild of dist/ during a long soak
 * cannot mix two builds.
 *
 * Exit codes: 0 no difference; 1 a difference, a cleaner command exited unexpectedly, or the soak
 * itself failed; 2 bad options.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { cliEnv } from '../test/helpers/cli.js';
import { planDataset, uploadDataset, type ObjectFigures } from '../test/helpers/dataset.js';
import { mulberry32 } from '../test/helpers/events.js';
import { classifyKill, PHASES, snapshotState, type Phase, type StateSnapshot } from '../test/helpers/kill-phase.js';
import { startS3, type S3Server } from '../test/helpers/s3.js';
import { diffTreesOnDisk, listFiles } from '../test/helpers/tree-files.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BUCKET = 'soak-bucket';
const PREFIX = 'data/';

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  size: number;
  objects: number;
  kills: number;
  seed: number;
  large: boolean;
  checkpointBytes: number;
  keep: boolean;
  /** Parent of a fresh work dir (--tmp), or the work dir itself (--local-dir). */
  tmp?: string;
  localDir?: string;
}

const HELP = `Usage: npm run soak -- [options]

Crash soak: random SIGKILLs of cleaner run/resume against a local S3 server, then a byte-for-byte
comparison with an uninterrupted run of the same data. Exits 0 when nothing differs.

Options:
  --size SIZE              total uncompressed data, e.g. 200MB, 1GB, 1.5GiB (default 200MB)
  --objects N              number of objects, at least 50 (default 60)
  --kills N                SIGKILLs to deliver (default 30)
  --seed N                 seed of the data and of the kill schedule (default 1)
  --large, --no-large      plan up to 3 objects of 110-135 MB (default: on when --size >= 1GB)
  --checkpoint-bytes N     cleaner --checkpoint-bytes for both runs (default 65536: many checkpoints)
  --keep                   keep the work dir (it is always kept when a difference is found)
  --tmp DIR                create the work dir inside DIR (default: the system temp dir)
  --local-dir DIR          use DIR (absent or empty) as the work dir
  -h, --help               this text
`;

function parseSize(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|m|mb|g|gb|t|tb|kib|mib|gib|tib)?\s*$/i.exec(s);
  if (!m) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult: Record<string, number> = { b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };
  return Math.round(Number(m[1]) * mult[unit]);
}

/** Parses argv; every problem is reported at once, each as `flag: message`. */
function parseOptions(argv: string[]): Options {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        size: { type: 'string' },
        objects: { type: 'string' },
        kills: { type: 'string' },
        seed: { type: 'string' },
        large: { type: 'boolean' },
        'no-large': { type: 'boolean' },
        'checkpoint-bytes': { type: 'string' },
        keep: { type: 'boolean' },
        tmp: { type: 'string' },
        'local-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    usageExit([(err as Error).message]);
  }
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const problems: string[] = [];
  const int = (flag: string, dflt: number, min: number): number => {
    const v = values[flag];
    if (v === undefined) return dflt;
    if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) < min) {
      problems.push(`--${flag}: expected an integer >= ${min}, got ${JSON.stringify(v)}`);
      return dflt;
    }
    return Number(v);
  };
  let size = 200e6;
  if (values.size !== undefined) {
    const s = parseSize(String(values.size));
    if (s === undefined || s < 1e6) problems.push(`--size: expected a size of at least 1MB such as 200MB or 1GB, got ${JSON.stringify(values.size)}`);
    else size = s;
  }
  const objects = int('objects', 60, 50);
  const kills = int('kills', 30, 0);
  const seed = int('seed', 1, 0);
  const checkpointBytes = int('checkpoint-bytes', 65536, 1);
  if (values.large && values['no-large']) problems.push('--large, --no-large: give one or the other');
  if (values.tmp !== undefined && values['local-dir'] !== undefined) problems.push('--tmp, --local-dir: give one or the other');
  const localDir = values['local-dir'] !== undefined ? resolve(String(values['local-dir'])) : undefined;
  if (localDir && existsSync(localDir) && readdirSync(localDir).length > 0) problems.push(`--local-dir: ${localDir} is not empty; pick an empty or new folder`);
  const tmp = values.tmp !== undefined ? resolve(String(values.tmp)) : undefined;
  if (tmp && !existsSync(tmp)) problems.push(`--tmp: ${tmp} does not exist`);
  if (problems.length) usageExit(problems);
  const large = values.large ? true : values['no-large'] ? false : size >= 1e9;
  return { size, objects, kills, seed, large, checkpointBytes, keep: Boolean(values.keep), tmp, localDir };
}

function usageExit(problems: string[]): never {
  for (const p of problems) process.stderr.write(`soak: error: ${p}\n`);
  process.stderr.write('soak: run with --help for usage\n');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Small utilities

const t0 = performance.now();
function log(msg: string): void {
  process.stdout.write(`[soak ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const n = (x: number) => x.toLocaleString('en-US');
const mb = (x: number) => `${(x / 1e6).toFixed(1)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Copies the compiled CLI, so a rebuild of dist/ by someone else during the soak cannot mix two builds. */
function snapshotCli(into: string): string {
  for (const d of ['bin', 'dist', 'migrations']) cpSync(join(REPO, d), join(into, d), { recursive: true });
  copyFileSync(join(REPO, 'package.json'), join(into, 'package.json'));
  symlinkSync(join(REPO, 'node_modules'), join(into, 'node_modules'), 'dir');
  return join(into, 'bin', 'cleaner.js');
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

interface Proc {
  child: ChildProcess;
  started: number;
  done: Promise<Exit>;
}

// Enough stderr to quote an error and its stack, not a chatty log.
const STDERR_KEEP = 16 * 1024;

let active: ChildProcess | undefined;

function startCli(cli: string, cwd: string, env: Record<string, string>, args: string[]): Proc {
  const started = performance.now();
  const child = spawn(process.execPath, [cli, ...args], { cwd, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  active = child;
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-STDERR_KEEP)));
  const done = new Promise<Exit>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code, signal) => {
      if (active === child) active = undefined;
      res({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
  return { child, started, done };
}

async function runToEnd(cli: string, cwd: string, env: Record<string, string>, args: string[], timeoutMs: number): Promise<Exit & { timedOut: boolean }> {
  const p = startCli(cli, cwd, env, args);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.child.kill('SIGKILL');
  }, timeoutMs);
  const exit = await p.done;
  clearTimeout(timer);
  return { ...exit, timedOut };
}

function tail(s: string, lines = 6): string {
  return s.trim().split('\n').slice(-lines).join(' | ');
}

// ---------------------------------------------------------------------------------------------
// Kill plans: when to SIGKILL, seeded.

/**
 * `early` counts from the spawn; the others count from the boot, the moment the process first
 * writes its state (opening it and taking the lock), because boot time swings with the load of the
 * machine and a delay counted from the spawn would often end before any work began.
 */
type Plan =
  | { kind: 'early'; delayMs: number }
  | { kind: 'timed' | 'listing'; afterBootMs: number }
  | { kind: 'event'; event: 'checkpoint' | 'publish' | 'download'; armAfterBootMs: number; deadlineAfterBootMs: number };

function planLabel(p: Plan): string {
  return p.kind === 'event' ? `event:${p.event}` : p.kind;
}

/** What the schedule needs to know about the job when it plans the next kill. */
interface ScheduleContext {
  listed: boolean;
  /** Mean time the process should live after booting, so the kills spread over the whole job. */
  meanMs: number;
  /** Recent boot times, smoothed. */
  bootMs: number;
  /** From boot to the end of the listing, as the reference run showed. */
  listingMs: number;
  downloadsLeft: boolean;
  cleansLeft: boolean;
}

/** Exponential with this mean, cut at four means (the cut tail is under 2%): one very long round would end the job. */
function exp(rand: () => number, mean: number): number {
  return Math.min(4 * mean, -Math.log(1 - rand()) * mean);
}

/**
 * Mixes four kinds of kill: `early` (uniform from the spawn over boot and listing; on a resume,
 * over boot and recovery), `listing` (uniform over the listing, while it is not committed),
 * `timed` (exponential after boot, its mean set so the budget lasts the whole job), and `event`
 * (armed after a timed delay, fired at the next checkpoint flush, publish rename or finished
 * download seen on disk, so kills land in those short windows far more often than by chance).
 */
function choosePlan(rand: () => number, c: ScheduleContext): Plan {
  const early = (): Plan => ({ kind: 'early', delayMs: rand() * (c.bootMs + c.listingMs + 40) });
  const timed = (): Plan => ({ kind: 'timed', afterBootMs: exp(rand, c.meanMs) });
  const event = (e: 'checkpoint' | 'publish' | 'download'): Plan => {
    const armAfterBootMs = exp(rand, c.meanMs / 2);
    return { kind: 'event', event: e, armAfterBootMs, deadlineAfterBootMs: armAfterBootMs + Math.max(2000, 4 * c.meanMs) };
  };
  const r = rand();
  // The listing happens only until it is committed once, and lasts a fraction of a second: aim
  // at it while it is not (it starts when the run is recorded, just after boot).
  if (!c.listed) return r < 0.5 ? { kind: 'listing', afterBootMs: rand() * c.listingMs } : r < 0.75 ? early() : timed();
  if (r < 0.1) return early();
  // 40% go to the events that can still happen; downloads end early in the job, so while they
  // last they get their full share.
  const events = [...(c.downloadsLeft ? (['download'] as const) : []), ...(c.cleansLeft ? (['checkpoint', 'publish'] as const) : [])];
  if (r < 0.5 && events.length > 0) return event(events[Math.floor(((r - 0.1) / 0.4) * events.length)]);
  return timed();
}

/** A cheap fingerprint of what an event watches on disk. */
function watchSignature(local: string, e: 'checkpoint' | 'publish' | 'download'): Map<string, number> | number {
  if (e === 'publish') return listFiles(join(local, 'output')).length;
  if (e === 'download') return listFiles(join(local, 'input')).length;
  const sizes = new Map<string, number>();
  for (const sub of ['output', 'errors']) {
    const d = join(local, '.cleaner', 'partial', sub);
    for (const rel of listFiles(d)) sizes.set(`${sub}/${rel}`, statSize(join(d, rel)));
  }
  return sizes;
}

function statSize(p: string): number {
  return statSync(p, { throwIfNoEntry: false })?.size ?? -1;
}

/** True when the watched event happened between two fingerprints. */
function fired(prev: Map<string, number> | number, next: Map<string, number> | number): boolean {
  if (typeof prev === 'number' || typeof next === 'number') return (next as number) > (prev as number);
  // A checkpoint flush: a partial output or errors file grew.
  for (const [k, v] of next) if ((prev.get(k) ?? Infinity) < v) return true;
  return false;
}

interface Round {
  killed: boolean;
  exit: Exit;
  /** ms from spawn to SIGKILL (or to the exit). */
  liveMs: number;
  /** ms from spawn to the first write of the state, when seen. */
  bootMs?: number;
  plan: Plan;
  /** For event plans: whether the event was seen (else the deadline killed it). */
  eventSeen: boolean;
}

// A process that has not touched its state after this long is stuck booting: time its kill from now.
const BOOT_LIMIT_MS = 60_000;

/** Size and modification time of the state and its WAL: any write by the process changes them. */
function stateSignature(state: string): string {
  return [state, `${state}-wal`]
    .map((f) => {
      const st = statSync(f, { throwIfNoEntry: false });
      return st ? `${st.size}:${st.mtimeMs}` : '-';
    })
    .join('|');
}

/** Starts the CLI and SIGKILLs it as `plan` says, unless it exits first. */
async function killRound(cli: string, cwd: string, env: Record<string, string>, args: string[], plan: Plan, local: string, state: string): Promise<Round> {
  const sig0 = stateSignature(state);
  const p = startCli(cli, cwd, env, args);
  let killedAt: number | undefined;
  let exited = false;
  let eventSeen = false;
  let bootAt: number | undefined;
  const kill = () => {
    if (killedAt !== undefined || exited) return;
    killedAt = performance.now();
    p.child.kill('SIGKILL');
  };
  const over = () => exited || killedAt !== undefined;
  const waitUntil = (t: number) => Promise.race([sleep(Math.max(0, t - performance.now())), p.done]);
  const timer = plan.kind === 'early' ? setTimeout(kill, plan.delayMs) : undefined;
  const watching = (async () => {
    while (!over() && bootAt === undefined && performance.now() - p.started < BOOT_LIMIT_MS) {
      if (stateSignature(state) !== sig0) bootAt = performance.now();
      else await sleep(2);
    }
    if (plan.kind === 'early' || over()) return;
    const base = bootAt ?? performance.now();
    if (plan.kind !== 'event') {
      await waitUntil(base + plan.afterBootMs);
      kill();
      return;
    }
    await waitUntil(base + plan.armAfterBootMs);
    let prev = watchSignature(local, plan.event);
    while (!over()) {
      await sleep(1);
      if (over()) return;
      const next = watchSignature(local, plan.event);
      if (fired(prev, next)) {
        eventSeen = true;
        kill();
        return;
      }
      prev = next;
      if (performance.now() - base > plan.deadlineAfterBootMs) {
        kill();
        return;
      }
    }
  })();
  const exit = await p.done;
  exited = true;
  clearTimeout(timer);
  await watching;
  const killed = killedAt !== undefined && exit.signal === 'SIGKILL';
  return { killed, exit, liveMs: (killedAt ?? performance.now()) - p.started, bootMs: bootAt !== undefined ? bootAt - p.started : undefined, plan, eventSeen };
}

// ---------------------------------------------------------------------------------------------
// Progress, for spreading the kills over the whole job.

/** Share of the job done (0 to 1), weighting each object by its uncompressed bytes. */
function progress(snap: StateSnapshot, bytesOf: Map<string, number>): number {
  if (!snap.run || !snap.run.listed) return 0;
  let total = 0;
  let done = 0;
  for (const o of snap.objects.values()) {
    const bytes = bytesOf.get(o.key) ?? o.size;
    // A fixed cost per object, so empty and tiny ones still count.
    const w = bytes + 65536;
    total += w;
    const dl = ['downloaded', 'cleaning', 'publishing', 'done'].includes(o.state) ? 1 : o.state === 'downloading' ? Math.max(0, o.files.partialInput) / Math.max(1, o.size) : 0;
    const cl = o.state === 'done' || o.state === 'publishing' ? 1 : o.state === 'cleaning' ? o.cleanOffset / Math.max(1, bytes) : 0;
    // Cleaning is most of the work: downloads from a loopback server are fast.
    done += w * (0.15 * dl + 0.85 * cl);
  }
  return total ? done / total : 0;
}

// ---------------------------------------------------------------------------------------------
// Checks

/** A kill and what it interrupted. */
interface KillRecord {
  index: number;
  cycle: number;
  command: 'run' | 'resume';
  plan: string;
  liveMs: number;
  primary: Phase;
  phases: Phase[];
  stages: string;
}

interface CycleResult {
  cycle: number;
  kills: number;
  diffs: string[];
  warnings: string[];
  compared: { output: number; errors: number; input: number; bytes: number };
}

/** The figures of `status --json` that must equal the reference's, as `path: value` pairs. */
function statusFigures(s: any): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(s.totals ?? {})) out.set(`totals.${k}`, v);
  for (const [k, v] of Object.entries(s.stages ?? {})) out.set(`stages.${k}`, v);
  for (const [k, v] of Object.entries(s.rejected_by_reason ?? {})) out.set(`rejected_by_reason.${k}`, v);
  return out;
}

function compareStatus(ref: any, got: any): string[] {
  const a = statusFigures(ref);
  const b = statusFigures(got);
  const diffs: string[] = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(k) !== b.get(k)) diffs.push(`status --json ${k}: reference ${JSON.stringify(a.get(k))}, soak ${JSON.stringify(b.get(k))}`);
  }
  return diffs;
}

/** The reference's totals must be exactly what the generator wrote. */
function checkReference(status: any, figures: ObjectFigures[]): string[] {
  const sum = (f: (o: ObjectFigures) => number) => figures.reduce((a, o) => a + f(o), 0);
  // Zero-byte objects are markers: listed, never cleaned, counted apart.
  const data = figures.filter((o) => o.storedBytes > 0).length;
  const expected: Record<string, number> = {
    objects: data,
    objects_done: data,
    objects_markers: figures.length - data,
    objects_failed: 0,
    lines: sum((o) => o.lines),
    valid: sum((o) => o.valid),
    rejected: sum((o) => o.rejected),
    blank: sum((o) => o.blank),
    bytes: sum((o) => o.storedBytes),
  };
  const diffs: string[] = [];
  for (const [k, v] of Object.entries(expected)) {
    if (status.totals?.[k] !== v) diffs.push(`reference status --json totals.${k} is ${JSON.stringify(status.totals?.[k])}, the generator wrote ${v}`);
  }
  if (status.run?.state !== 'done' || status.run?.exit_code !== 0) diffs.push(`reference run ended ${status.run?.state} (exit ${status.run?.exit_code})`);
  return diffs;
}

// ---------------------------------------------------------------------------------------------
// Phases: data, reference, crash cycles (kill rounds, final resume, comparison), summary.

/** What every phase needs: the options, the work dir, the CLI snapshot and the S3 server's env. */
interface Soak {
  opts: Options;
  work: string;
  cli: string;
  env: Record<string, string>;
  /** How long each phase took, in order, for the summary. */
  durations: Array<[string, number]>;
  /** Generous: a slow disk, or a resume re-reading large gzip objects from their start. */
  longTimeout: number;
}

async function timed<T>(soak: Soak, what: string, f: () => Promise<T>): Promise<T> {
  const s = performance.now();
  try {
    return await f();
  } finally {
    soak.durations.push([what, performance.now() - s]);
  }
}

function runArgs(soak: Soak, local: string): string[] {
  return [
    'run', '--source', `s3://${BUCKET}/${PREFIX}`, '--local-dir', local, '--state', join(local, 'state.db'),
    '--checkpoint-bytes', String(soak.opts.checkpointBytes), '--quiet',
  ];
}

function resumeArgs(local: string): string[] {
  return ['resume', '--state', join(local, 'state.db'), '--quiet'];
}

async function statusOf(soak: Soak, local: string): Promise<any> {
  const r = await runToEnd(soak.cli, soak.work, soak.env, ['status', '--json', '--state', join(local, 'state.db')], 60_000);
  if (r.code !== 0) throw new Error(`cleaner status failed (exit ${r.code ?? r.signal}): ${tail(r.stderr)}`);
  return JSON.parse(r.stdout);
}

/** The work dir: --local-dir itself, or a fresh one. */
function makeWorkDir(opts: Options): string {
  if (opts.localDir) {
    mkdirSync(opts.localDir, { recursive: true });
    return opts.localDir;
  }
  return mkdtempSync(join(opts.tmp ?? tmpdir(), `cleaner-soak-${opts.seed}-`));
}

/** The generated data set, as uploaded. */
interface Data {
  figures: ObjectFigures[];
  /** Uncompressed bytes of each key, to weigh progress. */
  bytesOf: Map<string, number>;
  objects: number;
  gz: number;
  large: number;
  bytes: number;
  stored: number;
  largest: number;
}

/** Generates the seeded data set and uploads it to the bucket. */
async function generateData(soak: Soak, s3: S3Server): Promise<Data> {
  const { opts } = soak;
  const plan = planDataset({ seed: opts.seed, targetBytes: opts.size, objects: opts.objects, large: opts.large, prefix: PREFIX });
  if (plan.note) log(`note: ${plan.note}`);
  log(`generating and uploading ${plan.objects.length} objects, about ${mb(opts.size)} uncompressed (seed ${opts.seed})`);
  let uploadedBytes = 0;
  let nextReport = 0.1;
  const figures = await timed(soak, 'generate + upload', () =>
    uploadDataset(s3, BUCKET, plan, (f) => {
      uploadedBytes += f.bytes;
      if (uploadedBytes / opts.size >= nextReport) {
        log(`  ${mb(uploadedBytes)} generated and uploaded`);
        while (uploadedBytes / opts.size >= nextReport) nextReport += 0.1;
      }
    }),
  );
  const data: Data = {
    figures,
    bytesOf: new Map(figures.map((f) => [f.key, f.bytes])),
    objects: figures.length,
    gz: figures.filter((f) => f.gz).length,
    large: figures.filter((f) => f.bytes > 100e6).length,
    bytes: figures.reduce((a, f) => a + f.bytes, 0),
    stored: figures.reduce((a, f) => a + f.storedBytes, 0),
    largest: Math.max(...figures.map((f) => f.bytes)),
  };
  log(`data: ${data.objects} objects (${data.gz} gz, ${data.large} above 100 MB, largest ${mb(data.largest)}), ${mb(data.bytes)} uncompressed, ${mb(data.stored)} stored`);
  return data;
}

/** The uninterrupted run every crash cycle is compared with. */
interface Reference {
  dir: string;
  status: any;
  ms: number;
  /** From spawn to the state's creation, and to the first download: where the early kills aim. */
  bootMs: number;
  listedMs: number;
  /** Where its totals disagree with what the generator wrote. */
  diffs: string[];
  relOfKey: Map<string, string>;
}

/** Runs the job once without kills, timing its boot and listing, and checks it against the generator. */
async function runReference(soak: Soak, data: Data): Promise<Reference> {
  const dir = join(soak.work, 'reference');
  const args = runArgs(soak, dir);
  log(`reference: cleaner ${args.join(' ')}`);
  let bootMs = 0;
  let listedMs = 0;
  const refExit = await timed(soak, 'reference run', async () => {
    const p = startCli(soak.cli, soak.work, soak.env, args);
    let exited = false;
    // Learn how long the CLI takes to boot and to finish listing, to aim the early kills.
    const watch = (async () => {
      while (!exited) {
        const t = performance.now() - p.started;
        if (!bootMs && existsSync(join(dir, 'state.db'))) bootMs = t;
        if (!listedMs && (listFiles(join(dir, '.cleaner', 'partial', 'input')).length > 0 || listFiles(join(dir, 'input')).length > 0)) listedMs = t;
        if (bootMs && listedMs) return;
        await sleep(2);
      }
    })();
    const timer = setTimeout(() => p.child.kill('SIGKILL'), soak.longTimeout);
    const e = await p.done;
    exited = true;
    clearTimeout(timer);
    await watch;
    return e;
  });
  if (refExit.code !== 0) throw new Error(`the reference run exited ${refExit.code ?? refExit.signal}: ${tail(refExit.stderr)}`);
  bootMs ||= 300;
  listedMs ||= bootMs + 100;
  const status = await statusOf(soak, dir);
  log(`reference: done in ${secs(refExit.ms)} (boot ${bootMs.toFixed(0)} ms, listed at ${listedMs.toFixed(0)} ms); ${n(status.totals.lines)} lines, ${n(status.totals.valid)} valid, ${n(status.totals.rejected)} rejected, ${n(status.totals.blank)} blank`);
  const diffs = checkReference(status, data.figures);
  for (const d of diffs) log(`REFERENCE DISAGREES WITH THE GENERATOR: ${d}`);
  const relOfKey = new Map<string, string>();
  for (const o of snapshotState(dir, join(dir, 'state.db')).objects.values()) relOfKey.set(o.key, o.rel);
  return { dir, status, ms: refExit.ms, bootMs, listedMs, diffs, relOfKey };
}

/**
 * How the kills are paced, learnt as they land: the seeded schedule, the smoothed boot time, and
 * how much slower than the reference a killed job progresses (each resume redoes some work).
 */
class Pacing {
  readonly rand: () => number;
  readonly workMs: number;
  readonly listingMs: number;
  bootEstimate: number;
  /** Time lived after boot by the rounds after the listing, and the reference time their progress was worth. */
  private livedAfterBoot = 0;
  private progressWorth = 0;

  constructor(seed: number, ref: Reference) {
    this.rand = mulberry32(seed * 2654435761 + 1);
    this.workMs = Math.max(200, ref.ms - ref.bootMs);
    this.listingMs = Math.max(20, ref.listedMs - ref.bootMs);
    this.bootEstimate = ref.bootMs;
  }

  /** Between 1 and 3, once rounds after the listing have lived a tenth of the reference's work time. */
  slowdown(): number {
    return this.livedAfterBoot > 0.1 * this.workMs && this.progressWorth > 0 ? Math.min(3, Math.max(1, this.livedAfterBoot / this.progressWorth)) : 1;
  }

  /** Learns from one round: its boot time, and (after the listing) its progress for the time it lived. */
  learn(round: Round, before: StateSnapshot, after: StateSnapshot, bytesOf: Map<string, number>): void {
    if (round.bootMs !== undefined) this.bootEstimate = 0.7 * this.bootEstimate + 0.3 * round.bootMs;
    if (before.run?.listed && round.bootMs !== undefined) {
      this.livedAfterBoot += round.liveMs - round.bootMs;
      this.progressWorth += Math.max(0, progress(after, bytesOf) - progress(before, bytesOf)) * this.workMs;
    }
  }
}

/** Everything the crash cycles found, across cycles. */
interface Tally {
  kills: KillRecord[];
  cycles: CycleResult[];
  unexpected: string[];
  /** Differences of objects checked as soon as they were published. */
  publishedDiffs: string[];
  rounds: number;
  liveTotal: number;
  finalResumeMs: number;
}

/** One crash cycle in progress: its folder, and which kills touched which object. */
interface Cycle {
  index: number;
  local: string;
  state: string;
  touched: Map<string, string[]>;
  verified: Set<string>;
  kills: number;
}

/** Kills run/resume in `cycle` until the budget is spent or the job ends by itself; `stop` after an unexpected exit. */
async function killRounds(soak: Soak, ref: Reference, data: Data, pacing: Pacing, tally: Tally, cycle: Cycle): Promise<{ finished: boolean; stop: boolean }> {
  const { opts } = soak;
  const { local, state } = cycle;
  let args = runArgs(soak, local);
  let before = snapshotState(local, state);
  log(`cycle ${cycle.index}: cleaner ${args.join(' ')}`);
  while (tally.kills.length < opts.kills) {
    const killsLeft = opts.kills - tally.kills.length;
    const remaining = 1 - progress(before, data.bytesOf);
    const ctx: ScheduleContext = {
      listed: Boolean(before.run?.listed),
      // A little under the even share, so the end of the job is not left to the final resume alone.
      meanMs: Math.max(40, (0.8 * remaining * pacing.workMs * pacing.slowdown()) / killsLeft),
      bootMs: pacing.bootEstimate,
      listingMs: pacing.listingMs,
      downloadsLeft: !before.run?.listed || [...before.objects.values()].some((o) => o.state === 'listed' || o.state === 'downloading'),
      cleansLeft: [...before.objects.values()].some((o) => o.state !== 'done') || !before.run?.listed,
    };
    const plan = choosePlan(pacing.rand, ctx);
    const command = args[0] as 'run' | 'resume';
    const round = await killRound(soak.cli, soak.work, soak.env, args, plan, local, state);
    tally.rounds++;
    tally.liveTotal += round.liveMs;
    const after = snapshotState(local, state);
    pacing.learn(round, before, after, data.bytesOf);
    if (!round.killed) {
      let stop = false;
      if (round.exit.code !== 0) {
        tally.unexpected.push(`cycle ${cycle.index}: cleaner ${command} exited ${round.exit.code ?? round.exit.signal} by itself: ${tail(round.exit.stderr)}`);
        log(`UNEXPECTED: ${tally.unexpected[tally.unexpected.length - 1]}`);
        stop = true;
      } else log(`cycle ${cycle.index}: cleaner ${command} finished by itself after ${secs(round.liveMs)} before its ${planLabel(plan)} kill`);
      return { finished: round.exit.code === 0, stop };
    }
    cycle.kills++;
    const k = classifyKill(before, after, round.bootMs !== undefined);
    let stages = '';
    try {
      const st = await statusOf(soak, local);
      stages = `listed ${st.stages.listed}, downloaded ${st.stages.downloaded}, cleaned ${st.stages.cleaned}`;
    } catch (err) {
      tally.unexpected.push(`cycle ${cycle.index}: after kill ${tally.kills.length + 1}: ${(err as Error).message}`);
      stages = 'status failed';
    }
    const rec: KillRecord = { index: tally.kills.length + 1, cycle: cycle.index, command, plan: planLabel(plan) + (plan.kind === 'event' && !round.eventSeen ? '(deadline)' : ''), liveMs: round.liveMs, primary: k.primary, phases: k.phases, stages };
    tally.kills.push(rec);
    for (const o of k.objects) {
      const list = cycle.touched.get(o.key) ?? [];
      list.push(`kill ${rec.index} (${o.phase})`);
      cycle.touched.set(o.key, list);
    }
    log(
      `kill ${String(rec.index).padStart(3)}/${opts.kills}  ${command.padEnd(6)} ${rec.plan.padEnd(26)} at ${String(Math.round(rec.liveMs)).padStart(5)} ms (boot ${round.bootMs !== undefined ? Math.round(round.bootMs) : '-'})  ${rec.primary}` +
        `${k.phases.length > 1 ? ` [+ ${k.phases.slice(1).join(', ')}]` : ''}  (${stages}; ${(100 * progress(after, data.bytesOf)).toFixed(0)}% done)`,
    );
    checkPublished(ref, tally, cycle, after, rec.index);
    before = after;
    // A run killed before it recorded itself has nothing to resume: start it again.
    args = after.run ? resumeArgs(local) : runArgs(soak, local);
  }
  return { finished: false, stop: false };
}

/** Checks each object as soon as it is published, so a difference is tied to the kills that touched it. */
function checkPublished(ref: Reference, tally: Tally, cycle: Cycle, after: StateSnapshot, killIndex: number): void {
  const newlyDone = [...after.objects.values()].filter((o) => o.state === 'done' && !cycle.verified.has(o.key));
  for (const o of newlyDone) {
    cycle.verified.add(o.key);
    for (const sub of ['output', 'errors']) {
      const c = diffTreesOnDisk(join(ref.dir, sub), join(cycle.local, sub), [o.rel]);
      for (const d of c.diffs) {
        const msg = `after kill ${killIndex}: ${sub}/${d}; touched by ${(cycle.touched.get(o.key) ?? ['no recorded kill']).join(', ')}`;
        tally.publishedDiffs.push(msg);
        log(`DIFFERENCE ${msg}`);
      }
    }
  }
}

/**
 * The budget is spent (or the job ended by itself): one more resume must finish it, or say there
 * is nothing to do. Tried after an unexpected exit too, to see what it left behind.
 */
async function finalResume(soak: Soak, tally: Tally, cycle: Cycle, finished: boolean): Promise<void> {
  // A run killed before it recorded itself (possible on the very last kill) is started again with run.
  const finalArgs = snapshotState(cycle.local, cycle.state).run ? resumeArgs(cycle.local) : runArgs(soak, cycle.local);
  const fin = await timed(soak, `final resume (cycle ${cycle.index})`, () => runToEnd(soak.cli, soak.work, soak.env, finalArgs, soak.longTimeout));
  tally.finalResumeMs += fin.ms;
  if (fin.code !== 0) {
    tally.unexpected.push(`cycle ${cycle.index}: final cleaner resume exited ${fin.code ?? fin.signal}${fin.timedOut ? ' (timed out)' : ''}: ${tail(fin.stderr)}`);
    log(`UNEXPECTED: ${tally.unexpected[tally.unexpected.length - 1]}`);
  } else if (!finished) log(`cycle ${cycle.index}: final resume finished the job in ${secs(fin.ms)}`);
}

/** Compares the cycle's folder with the reference: every file byte for byte, leftovers, and the status figures. */
async function compareCycle(soak: Soak, ref: Reference, cycle: Cycle): Promise<CycleResult> {
  const { local } = cycle;
  const cmpStarted = performance.now();
  const result: CycleResult = { cycle: cycle.index, kills: cycle.kills, diffs: [], warnings: [], compared: { output: 0, errors: 0, input: 0, bytes: 0 } };
  const keyOfRel = new Map([...ref.relOfKey].map(([k, r]) => [r, k]));
  for (const sub of ['output', 'errors', 'input'] as const) {
    const c = diffTreesOnDisk(join(ref.dir, sub), join(local, sub));
    result.compared[sub] = c.files;
    result.compared.bytes += c.bytes;
    for (const d of c.diffs) {
      const rel = c.differing.find((r) => d.includes(r));
      const key = rel ? keyOfRel.get(rel) : undefined;
      result.diffs.push(`${sub}/${d}${key ? `; object ${key} was touched by ${(cycle.touched.get(key) ?? ['no recorded kill']).join(', ')}` : ''}`);
    }
  }
  for (const sub of ['output', 'errors']) {
    for (const rel of listFiles(join(local, '.cleaner', 'partial', sub))) result.diffs.push(`leftover partial file: .cleaner/partial/${sub}/${rel}`);
  }
  for (const rel of listFiles(join(local, '.cleaner', 'partial', 'input'))) result.warnings.push(`leftover partial download: .cleaner/partial/input/${rel}`);
  for (const rel of listFiles(join(local, 'quarantine'))) result.diffs.push(`unexpected file in quarantine/: ${rel}`);
  try {
    const st = await statusOf(soak, local);
    result.diffs.push(...compareStatus(ref.status, st));
    if (st.run?.state !== 'done' || st.run?.exit_code !== 0) result.diffs.push(`the soak's run ended ${st.run?.state} (exit ${st.run?.exit_code}): ${st.run?.message}`);
  } catch (err) {
    result.diffs.push(`status after the final resume: ${(err as Error).message}`);
  }
  soak.durations.push([`compare (cycle ${cycle.index})`, performance.now() - cmpStarted]);
  log(
    `cycle ${cycle.index}: ${cycle.kills} kills; compared ${result.compared.output} output, ${result.compared.errors} errors and ${result.compared.input} input files (${mb(result.compared.bytes)}): ` +
      `${result.diffs.length} difference(s)`,
  );
  for (const d of result.diffs) log(`DIFFERENCE cycle ${cycle.index}: ${d}`);
  for (const w of result.warnings) log(`warning cycle ${cycle.index}: ${w}`);
  return result;
}

/** Crash cycles until the kill budget is spent; a job that finishes early is checked and started over. */
async function crashLoop(soak: Soak, ref: Reference, data: Data): Promise<Tally> {
  const pacing = new Pacing(soak.opts.seed, ref);
  const tally: Tally = { kills: [], cycles: [], unexpected: [], publishedDiffs: [], rounds: 0, liveTotal: 0, finalResumeMs: 0 };
  const loopStarted = performance.now();
  for (let index = 1; ; index++) {
    const local = join(soak.work, `crash-${index}`);
    const cycle: Cycle = { index, local, state: join(local, 'state.db'), touched: new Map(), verified: new Set(), kills: 0 };
    const { finished, stop } = await killRounds(soak, ref, data, pacing, tally, cycle);
    await finalResume(soak, tally, cycle, finished);
    const result = await compareCycle(soak, ref, cycle);
    tally.cycles.push(result);
    if (stop || tally.kills.length >= soak.opts.kills) break;
    // Finished by itself with kills to spare: start the job over, and keep this cycle's folder only when it differed.
    if (!soak.opts.keep && result.diffs.length === 0) rmSync(local, { recursive: true, force: true });
  }
  soak.durations.push(['crash loop (all cycles, with checks)', performance.now() - loopStarted]);
  return tally;
}

/** The summary printed at the end, and whether the soak failed. */
function summarize(soak: Soak, data: Data, ref: Reference, tally: Tally, started: number): { text: string; failed: boolean } {
  const { opts } = soak;
  const { kills, cycles, unexpected } = tally;
  const differences = ref.diffs.length + tally.publishedDiffs.length + cycles.reduce((a, c) => a + c.diffs.length, 0);
  const failed = differences > 0 || unexpected.length > 0;
  const totals = ref.status.totals;
  const out: string[] = [];
  out.push('');
  out.push(`==== soak summary (seed ${opts.seed}) ====`);
  out.push(`data          ${data.objects} objects (${data.gz} gz, ${data.large} above 100 MB, largest ${mb(data.largest)})`);
  out.push(`bytes         ${n(data.bytes)} uncompressed, ${n(data.stored)} stored (status --json totals.bytes ${n(totals.bytes)})`);
  out.push(`lines         ${n(totals.lines)}: ${n(totals.valid)} valid, ${n(totals.rejected)} rejected, ${n(totals.blank)} blank`);
  out.push(`reference     ${secs(ref.ms)} uninterrupted (${(data.bytes / 1e6 / (ref.ms / 1000)).toFixed(1)} MB/s uncompressed); counts ${ref.diffs.length ? 'DISAGREE' : 'agree'} with the generator`);
  out.push(
    `kills         ${kills.length} survived (budget ${opts.kills}) in ${tally.rounds} run/resume process(es) over ${cycles.length} cycle(s); ` +
      `--checkpoint-bytes ${opts.checkpointBytes}; processes lived ${secs(tally.liveTotal)} in all, final resume(s) ${secs(tally.finalResumeMs)}`,
  );
  const strategies = new Map<string, number>();
  for (const k of kills) strategies.set(k.plan, (strategies.get(k.plan) ?? 0) + 1);
  out.push(`kill plans    ${[...strategies].sort((a, b) => b[1] - a[1]).map(([p, c]) => `${p} ${c}`).join(', ')}`);
  out.push(`phases        primary = the most delicate step caught; active = kills during which that step was in flight`);
  const width = Math.max(...PHASES.map((p) => p.length));
  for (const p of PHASES) {
    const primary = kills.filter((k) => k.primary === p).length;
    const activeN = kills.filter((k) => k.phases.includes(p)).length;
    if (primary || activeN) out.push(`  ${p.padEnd(width)}  ${String(primary).padStart(4)}  ${String(activeN).padStart(4)}  ${'#'.repeat(primary)}`);
  }
  const cmp = cycles.reduce((a, c) => ({ o: a.o + c.compared.output, e: a.e + c.compared.errors, i: a.i + c.compared.input, b: a.b + c.compared.bytes }), { o: 0, e: 0, i: 0, b: 0 });
  out.push(`compared      ${cmp.o} output, ${cmp.e} errors, ${cmp.i} input files, ${mb(cmp.b)} of content, byte for byte (gzip decompressed); status --json totals, stages, rejects by reason`);
  out.push(`leftovers     ${cycles.some((c) => c.diffs.some((d) => d.startsWith('leftover'))) ? 'partial output/errors files LEFT' : 'no partial output or errors files'}; ${cycles.reduce((a, c) => a + c.warnings.length, 0)} partial download(s) left`);
  out.push(`unexpected    ${unexpected.length} cleaner exit(s) with an unexpected code${unexpected.length ? ':' : ''}`);
  for (const u of unexpected) out.push(`  ${u}`);
  out.push(`differences   ${differences}`);
  for (const d of [...ref.diffs, ...tally.publishedDiffs, ...cycles.flatMap((c) => c.diffs.map((x) => `cycle ${c.cycle}: ${x}`))].slice(0, 40)) out.push(`  ${d}`);
  out.push(`durations     ${soak.durations.map(([w, ms]) => `${w} ${secs(ms)}`).join(', ')}; total ${secs(performance.now() - started)}`);
  out.push(`result        ${failed ? 'FAIL' : 'PASS'}${failed || opts.keep ? ` (work dir kept: ${soak.work})` : ''}`);
  return { text: out.join('\n') + '\n', failed };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const started = performance.now();
  const work = makeWorkDir(opts);
  log(`work dir ${work}`);
  log(`machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown cpu'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, node ${process.version}, ${process.platform}`);

  let keepBecauseFailed = false;
  let s3: S3Server | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`soak: ${sig}: stopping; work dir kept at ${work}\n`);
    active?.kill('SIGKILL');
    void s3?.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const cli = snapshotCli(join(work, 'cli'));
    s3 = await startS3({ dir: join(work, 's3') });
    const soak: Soak = { opts, work, cli, env: s3.env(), durations: [], longTimeout: 600_000 + opts.size / 1e3 };
    await s3.createBucket(BUCKET);
    const data = await generateData(soak, s3);
    const ref = await runReference(soak, data);
    const tally = await crashLoop(soak, ref, data);
    const { text, failed } = summarize(soak, data, ref, tally, started);
    keepBecauseFailed = failed;
    process.stdout.write(text);
    return failed ? 1 : 0;
  } catch (err) {
    keepBecauseFailed = true;
    process.stderr.write(`soak: error: ${(err as Error)?.stack ?? err}\nsoak: work dir kept at ${work}\n`);
    return 1;
  } finally {
    active?.kill('SIGKILL');
    await s3?.stop();
    if (!opts.keep && !keepBecauseFailed) {
      if (opts.localDir) for (const name of readdirSync(work)) rmSync(join(work, name), { recursive: true, force: true });
      else rmSync(work, { recursive: true, force: true });
    }
  }
}

process.exitCode = await main();
