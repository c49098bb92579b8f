/**
 * Cleans one downloaded object: streams its input from the committed offset, sends every line to
 * exactly one place (output, errors, or the blank count), checkpoints every few MB, and publishes
 * the finished files with a rename. Runs inside a worker thread (for a local source, on the main
 * thread too: clean-pool.ts) with its own state connection.
 */
import { createReadStream, existsSync, rmSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { createGunzip } from 'node:zlib';
import { LineSplitter } from '../lines/splitter.js';
import type { Redactor } from '../validate/reject.js';
import { compileRules, type Rules } from '../validate/schema.js';
import { openState, type Db } from '../state/db.js';
import { cacheStatements, getObject, markDone, markFailed, startClean, type ObjectRow } from '../state/queries.js';
import { objectPaths, type ObjectPaths } from '../keys/local-layout.js';
import { renameDurably } from '../sinks/fsync-dir.js';
import { makeRedactor } from '../validate/redact.js';
import { LineCleaner } from './clean-lines.js';
import { readChunks } from '../lines/read-chunks.js';
import { noteBytesCleaned } from './heap.js';
import type { TaskOptions } from '../settings.js';
import { checkpointer, checkpointOf, openPartials, snapshotOf } from './checkpoint.js';
import { pathClash } from './path-clash.js';
import { firstChunkBytes, letLoopTurn } from './event-loop.js';
import { explainerAt } from './explain-desk.js';
import type { CleanWorkerData } from './clean-pool.js';

/** What the orchestrator sends a worker. */
export interface CleanTask extends TaskOptions {
  statePath: string;
  runId: number;
  objectId: number;
  /** The file to read: <local-dir>/input/<rel> or the local source file. */
  inputPath: string;
  /** How reject records name the source: an s3:// URL or a file path. */
  sourceName: string;
  localDir: string;
  schemaText: string;
  schemaOrigin: string;
}

/** What a worker reports back. */
export interface CleanResult {
  objectId: number;
  outcome: 'done' | 'failed' | 'fatal';
  error?: string;
  /** For 'fatal': the errno code, so the orchestrator can stop the run with a clear message. */
  code?: string;
  lines: number;
  valid: number;
  rejected: number;
  blank: number;
  bytes: number;
}

let db: Db | undefined;
let dbPath: string | undefined;
const rulesCache = new Map<string, Rules>();
const redactors = new Map<string, Redactor | undefined>();

function stateFor(path: string): Db {
  if (!db || dbPath !== path) {
    db?.close();
    db = openState(path, { migrate: false });
    cacheStatements(db);
    dbPath = path;
  }
  return db;
}

/** Closes this thread's state connection, if cleanFile opened one (the main thread's, at a pool's end). */
export function closeThreadState(): void {
  db?.close();
  db = undefined;
  dbPath = undefined;
}

/** What a thread compiles its rules from: the fields of a task the compiled rules are cached by. */
export type RulesSpec = Pick<CleanTask, 'schemaText' | 'schemaOrigin' | 'maxErrorsPerLine'>;

/** The object's rules, compiled once per thread. */
export function rulesFor(task: RulesSpec): Rules {
  const key = `${task.maxErrorsPerLine}\0${task.schemaOrigin}\0${task.schemaText}`;
  let r = rulesCache.get(key);
  if (!r) {
    // `checked`: the run's rules were checked against their meta-schema when the run was planned
    // (planRun), and its text stored with the run, so no thread checks them again; the deciding
    // validator is compiled when a line first needs it.
    r = compileRules(task.schemaOrigin, task.schemaText, { maxErrorsPerLine: task.maxErrorsPerLine, checked: true });
    // A pool that explains these rules' rejects on the main thread (clean-pool.ts) says so in
    // workerData (null on the main thread, which therefore never waits on the desk).
    const link = (workerData as CleanWorkerData | null)?.explainLink;
    if (link !== undefined) r.explainLater = explainerAt(link, r);
    rulesCache.set(key, r);
  }
  return r;
}

/** The `--redact` masker, made once per thread. */
export function redactorFor(task: CleanTask): Redactor | undefined {
  const key = task.redact.join(',');
  if (!redactors.has(key)) redactors.set(key, makeRedactor(task.redact));
  return redactors.get(key);
}

/** Cleans (or finishes publishing) one object; never throws for a problem of the object itself. */
export async function cleanFile(task: CleanTask): Promise<CleanResult> {
  const state = stateFor(task.statePath);
  const row = getObject(state, task.objectId);
  const paths = objectPaths(task.localDir, row.rel_path);
  try {
    if (row.state !== 'publishing') await cleanLines(state, task, row, paths);
    publish(state, task, paths);
    return result(task, getObject(state, task.objectId), 'done');
  } catch (err) {
    return failure(state, task, row, err);
  }
}

/**
 * The result for an error met while cleaning `row` (as read before the attempt), with the object
 * marked failed when the problem is the object's own: bad input, or a path this file system cannot hold.
 */
export function failure(state: Db, task: CleanTask, row: ObjectRow, err: unknown): CleanResult {
  const e = err as NodeJS.ErrnoException;
  const paths = objectPaths(task.localDir, row.rel_path);
  if (e instanceof InputError) {
    markFailed(state, task.runId, task.objectId, e.message);
    rmSync(paths.partialOutput, { force: true });
    rmSync(paths.partialErrors, { force: true });
    return { ...result(task, getObject(state, task.objectId), 'failed'), error: e.message };
  }
  const why = pathClash(e);
  if (why) {
    markFailed(state, task.runId, task.objectId, why);
    return { ...result(task, getObject(state, task.objectId), 'failed'), error: why };
  }
  // Local trouble (disk full, permissions): the run stops; the last checkpoint stands for resume.
  return { ...result(task, row, 'fatal'), error: e.message, code: e.code };
}

function result(task: CleanTask, row: ObjectRow, outcome: CleanResult['outcome']): CleanResult {
  return { objectId: task.objectId, outcome, lines: row.lines, valid: row.valid, rejected: row.rejected, blank: row.blank, bytes: row.input_bytes };
}

/** A problem with the object's bytes (corrupt gzip, unreadable input): the object fails, the run goes on. */
export class InputError extends Error {
  /** The input file is not there. */
  static missing(path: string): InputError {
    return new InputError(`input file ${path} is missing`);
  }

  /** The input has fewer bytes than its last checkpoint read. */
  static shorter(offset: number): InputError {
    return new InputError(`input is shorter than its checkpoint (${offset} bytes): it changed on disk`);
  }
}

/** Bytes per read of the input (README: "files are read in 1 MiB chunks"). */
export const CHUNK_BYTES = 1 << 20;

async function cleanLines(state: Db, task: CleanTask, row: ObjectRow, paths: ObjectPaths): Promise<void> {
  const rules = rulesFor(task);
  const redact = redactorFor(task);
  startClean(state, task.objectId, rules.hash);
  const gz = row.gz === 1;
  const { out, errs } = openPartials(paths, row, gz);
  const cp = checkpointOf(row);
  const cleaner = new LineCleaner(cp, out, errs, { rules, redact, source: task.sourceName, etag: row.etag, maxLineBytes: task.maxLineBytes });
  const splitter = new LineSplitter(cleaner, { maxLineBytes: task.maxLineBytes, startOffset: cp.offset });

  const { commit, close } = checkpointer(state, task.objectId, out, errs);
  const checkpoint = (final: boolean) => {
    // A checkpoint counts only lines placed: the held ones are placed first.
    cleaner.drain();
    return commit(() => snapshotOf(cp, splitter.offset), final);
  };

  let source: AsyncIterable<Buffer>;
  if (gz) {
    const file = createReadStream(task.inputPath, { highWaterMark: CHUNK_BYTES });
    const gunzip = createGunzip({ chunkSize: CHUNK_BYTES });
    file.on('error', (e) => gunzip.destroy(e));
    source = file.pipe(gunzip);
  } else source = readChunks(task.inputPath, cp.offset, CHUNK_BYTES, Infinity, firstChunkBytes(CHUNK_BYTES));

  // A gzip input cannot be entered mid-stream: decompress from the start and drop what was done.
  let skip = gz ? cp.offset : 0;
  let lastCp = cp.offset;
  try {
    try {
      for await (const chunk of source) {
        let data = chunk;
        if (skip > 0) {
          if (data.length <= skip) {
            skip -= data.length;
            continue;
          }
          data = data.subarray(skip);
          skip = 0;
        }
        splitter.push(data);
        // The chunk's buffer is reused for a later read: its kept lines must be copied out now.
        cleaner.flush();
        noteBytesCleaned(data.length);
        if (splitter.offset - lastCp >= task.checkpointBytes) {
          await checkpoint(false);
          lastCp = splitter.offset;
        } else await letLoopTurn();
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (gz && (e.code?.startsWith('Z_') || /incorrect header|unexpected end|invalid/.test(e.message))) {
        throw new InputError(`corrupt gzip after ${splitter.offset} decompressed bytes (${e.message})`);
      }
      if (e.code === 'ENOENT') throw InputError.missing(task.inputPath);
      throw err;
    }
    if (skip > 0) throw InputError.shorter(cp.offset);
    splitter.end();
    await checkpoint(true);
  } finally {
    cleaner.release();
    await close();
  }
}

/** Moves finished files into output/ and errors/; safe to repeat after a crash at any point. */
function publish(state: Db, task: CleanTask, paths: ObjectPaths): void {
  const row = getObject(state, task.objectId);
  if (row.state !== 'publishing') throw new Error(`object ${row.key} is ${row.state}, expected publishing`);
  const nonBlank = row.valid + row.rejected;
  const quarantine = task.maxErrorRate !== null && nonBlank > 0 && row.rejected / nonBlank > task.maxErrorRate;
  // A breaching object never appears in output/, where a loader would take it.
  moveInto(paths.partialOutput, quarantine ? paths.quarantine : paths.output);
  // Whichever place it went, a copy of an older version in the other place must not linger.
  rmSync(quarantine ? paths.output : paths.quarantine, { force: true });
  if (row.err_len > 0) moveInto(paths.partialErrors, paths.errors);
  else {
    // No rejects this time: an errors file from an older version of the object must not linger.
    rmSync(paths.partialErrors, { force: true });
    rmSync(paths.errors, { force: true });
  }
  markDone(state, task.runId, task.objectId, quarantine);
}

function moveInto(partial: string, final: string): void {
  if (!existsSync(partial)) {
    if (existsSync(final)) return; // renamed before a crash
    throw new Error(`${partial} vanished before it was published`);
  }
  renameDurably(partial, final);
}
