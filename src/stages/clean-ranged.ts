/**
 * Cleans one large plain object on several threads: worker threads clean blocks of its bytes
 * (clean-block.ts) while this thread, in input order, copies the kept byte ranges they name from
 * the input to the output, writes their reject records with the line numbers made absolute, and
 * checkpoints exactly as a single thread would (the object's input offset, output lengths and
 * counters), so the files, the state and `resume` are the same either way.
 *
 * Why: with one thread per object, a run of one 1 GB file used one core of two. Blocks of 4 MiB
 * keep every thread busy; a result holds no output bytes and at most 3 blocks per thread are in
 * flight, so memory stays bounded whatever the object's size.
 */
import { statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Piscina } from 'piscina';
import type { Appender } from '../sinks/appender.js';
import { lineNumberAt } from '../validate/reject.js';
import { openFirst } from '../lines/read-chunks.js';
import type { Db } from '../state/db.js';
import { getObject, startClean, type Checkpoint, type ObjectRow } from '../state/queries.js';
import { objectPaths } from '../keys/local-layout.js';
import { failure, InputError, type CleanResult, type CleanTask } from './clean-file.js';
import { checkpointer, checkpointOf, openPartials, snapshotOf } from './checkpoint.js';
import { EXAMPLES_PER_RULE } from './clean-lines.js';
import type { BlockResult, BlockTask } from './clean-block.js';
import { noteBytesCleaned } from './heap.js';
import type { InputFeed } from './input-feed.js';

/**
 * Bytes of input per block: about 40 ms of a thread's work, so the per-task cost (a message each
 * way, well under 1 ms) is noise, and the last blocks leave no thread idle for long.
 * (CLEANER_BLOCK_BYTES and CLEANER_SPLIT_MIN_BYTES exist for tests, which need blocks on small files.)
 */
export const BLOCK_BYTES = Number(process.env.CLEANER_BLOCK_BYTES ?? 4 << 20);
/** Set for tests: split every object of at least this many bytes, on disk or arriving. */
const FORCED_SPLIT_BYTES = process.env.CLEANER_SPLIT_MIN_BYTES === undefined ? undefined : Number(process.env.CLEANER_SPLIT_MIN_BYTES);
/**
 * Below this, an object still arriving from S3 waits for its download and is cleaned by one
 * thread: splitting it would save little. Above, its blocks are cleaned as its parts arrive.
 */
const SPLIT_WHILE_DOWNLOADING = 64 << 20;
/**
 * An object already on disk is split only when each extra thread's warm-up is paid back. A thread
 * new to the block path runs it slowly until V8 has compiled it, on the cores the threads clean on:
 * splitting one local file over 2 threads of the Xeon VM cost 1.8-2.5 CPU-s more than one thread
 * cleaning it whole, and took (alternating, 3-4 rounds each) 3.29 s against 2.91 for 100 MB of the
 * built-in rules, 3.94 against 3.31 for 100 MB of the nested ones, about the same at 200 MB (4.29
 * against 4.38, 4.91 against 5.16), and 5.90 against 7.09 at 400 MB. The split gains
 * size·(1 - 1/threads) of one thread's time and costs about one warm-up, so the size it needs
 * falls as threads grow: this many bytes times threads/(threads - 1), 160 MB with 2 threads.
 */
const SPLIT_ON_DISK = 80 << 20;

/**
 * Whether an object is worth splitting over threads: plain (gzip cannot be entered mid-stream),
 * large, and more than one thread's share of the run's bytes, so objects alone would leave threads
 * idle. `downloading`: its blocks would be cleaned while it arrives, which pays off sooner.
 */
export function shouldSplit(row: { gz: number; size: number }, threads: number, runBytes: number, downloading = false): boolean {
  if (row.gz !== 0 || threads < 2 || row.size * threads <= runBytes) return false;
  const min = FORCED_SPLIT_BYTES ?? (downloading ? SPLIT_WHILE_DOWNLOADING : (SPLIT_ON_DISK * threads) / (threads - 1));
  return row.size >= min;
}

/** Cleans (or finishes publishing) one object with the pool's threads; never throws for a problem of the object itself. */
export async function cleanRanged(db: Db, pool: Piscina<any, any>, task: CleanTask, threads: number): Promise<CleanResult> {
  const row = getObject(db, task.objectId);
  if (row.state !== 'publishing') {
    try {
      await cleanBlocks(db, pool, task, row, threads);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return failure(db, task, row, e.code === 'ENOENT' && e.path === task.inputPath ? InputError.missing(task.inputPath) : err);
    }
  }
  // Publishing (renames, the quality gate) is the same as for any object: a worker does it.
  return (await pool.run(task)) as CleanResult;
}

/**
 * Cleans an object while it is being downloaded, block by block as its bytes arrive, so a large
 * object's clean does not wait for the end of its download. Nothing is committed before the
 * download is (the object is not `downloaded` until then): a crash before that starts the clean
 * over, never from bytes a restarted download replaced. Resolves to undefined when the download
 * was superseded or anything went wrong: the caller then cleans the object the ordinary way.
 */
export async function cleanWhileDownloading(db: Db, pool: Piscina<any, any>, task: CleanTask, threads: number, feed: InputFeed): Promise<CleanResult | undefined> {
  try {
    await cleanBlocks(db, pool, task, getObject(db, task.objectId), threads, feed);
    return (await pool.run(task)) as CleanResult;
  } catch {
    return undefined;
  }
}

/** The download started over or failed: what was read of it may be wrong. */
class Superseded extends Error {}

async function cleanBlocks(db: Db, pool: Piscina<any, any>, task: CleanTask, row: ObjectRow, threads: number, feed?: InputFeed): Promise<void> {
  const schemaHash = createHash('sha256').update(task.schemaText).digest('hex');
  // The same hash compileRules gives the rules (a worker compiles them; this thread need not).
  if (!feed) startClean(db, task.objectId, schemaHash);
  const paths = objectPaths(task.localDir, row.rel_path);
  const names = [paths.partialInput, task.inputPath];
  /** Waits for the feed to change; throws once the download is superseded. */
  const more = async () => {
    if (feed!.superseded) throw new Superseded();
    await feed!.changed();
    if (feed!.superseded) throw new Superseded();
  };
  // Commits wait for the download's: the object must be `downloaded` before it is `cleaning`.
  let started = !feed;
  const mayCommit = () => {
    if (!started && feed!.final) {
      startClean(db, task.objectId, schemaHash);
      started = true;
    }
    return started;
  };
  if (feed) while (feed.available === 0 && !feed.final) await more();
  const cp = checkpointOf(row);
  const size = feed ? row.size : statSync(task.inputPath).size;
  if (size < cp.offset) throw InputError.shorter(cp.offset);
  const handle = await openFirst(feed ? names : task.inputPath);
  const input = handle.fd;
  let partials: ReturnType<typeof openPartials>;
  try {
    partials = openPartials(paths, row, false);
  } catch (err) {
    await handle.close();
    throw err;
  }
  const { out, errs } = partials;
  const linePos = lineNumberAt(task.sourceName, row.etag);
  const { commit, close } = checkpointer(db, task.objectId, out, errs);
  const checkpoint = (final: boolean) => commit(() => snapshotOf(cp), final);

  // Blocks start every BLOCK_BYTES from the checkpoint (a line start); the last ends at the end.
  const starts: number[] = [];
  for (let a = cp.offset; a < size; a += BLOCK_BYTES) starts.push(a);
  // Enough blocks in flight that no thread waits for work while this one copies, syncs or waits
  // for an fsync; a result in flight holds no output bytes, only its reject records.
  const window = threads * 3;
  const pending: Array<{ k: number; result: Promise<BlockResult> }> = [];
  // Result buffers go back to the workers with later blocks, so a run circulates a fixed set of them.
  const spare: ArrayBuffer[] = [];
  const blockEnd = (k: number) => (k + 1 < starts.length ? starts[k + 1] : size);
  // While downloading, a block goes out once its bytes and a long line's worth beyond are there.
  const lookahead = task.maxLineBytes + (64 << 10);
  const ready = (k: number) => !feed || feed.final || feed.available >= Math.min(size, blockEnd(k) + lookahead);
  const run = (k: number): Promise<BlockResult> => {
    const give = spare.splice(0, 1);
    const block: BlockTask = { object: task, etag: row.etag, start: starts[k], startIsLine: k === 0, end: blockEnd(k), spare: give };
    if (feed) {
      block.paths = names;
      if (!feed.final) block.limit = feed.available;
    }
    const p = pool.run(block, { name: 'cleanBlock', transferList: give }) as Promise<BlockResult>;
    // Awaited in order below; a failure of a later block must not count as unhandled meanwhile.
    p.catch(() => {});
    return p;
  };
  let next = 0;
  const dispatch = () => {
    while (next < starts.length && pending.length < window && ready(next)) {
      const k = next++;
      pending.push({ k, result: run(k) });
    }
  };

  let lastCp = cp.offset;
  try {
    dispatch();
    while (pending.length > 0 || next < starts.length) {
      if (pending.length === 0) {
        await more();
        dispatch();
        continue;
      }
      const { k, result } = pending.shift()!;
      let r = await result;
      while (r.incomplete) {
        // Its last line runs past what had arrived: again, once more has.
        spare.push(r.errs.buffer as ArrayBuffer);
        const had = feed!.available;
        while (!feed!.final && feed!.available < had + lookahead) await more();
        r = await run(k);
      }
      dispatch();
      if (r.firstLine !== cp.offset) throw new Error(`internal error: block starts at ${r.firstLine}, expected ${cp.offset} (${task.inputPath})`);
      const base = cp.lines;
      const kept = r.kept;
      for (let i = 0; i < kept.length; i += 2) out.appendFromFile(input, kept[i], kept[i + 1] - kept[i]);
      writeRecords(errs, r, base, linePos);
      addCounts(cp, r, base);
      noteBytesCleaned(r.endOffset - cp.offset);
      cp.offset = r.endOffset;
      spare.push(r.errs.buffer as ArrayBuffer);
      if (cp.offset - lastCp >= task.checkpointBytes && mayCommit()) {
        await checkpoint(false);
        lastCp = cp.offset;
      }
      if (feed?.superseded) throw new Superseded();
    }
    if (feed) while (!mayCommit()) await more();
    await checkpoint(true);
  } finally {
    // Blocks still out (after a failure) must not be running when the files are closed.
    await Promise.all(pending.map((p) => p.result.catch(() => {})));
    await close();
    await handle.close();
  }
}

/** Appends a block's reject records with their line numbers made absolute (`base` lines before the block). */
function writeRecords(errs: Appender, r: BlockResult, base: number, linePos: number): void {
  const buf = Buffer.from(r.errs.buffer, r.errs.byteOffset, r.errs.length);
  if (base === 0) {
    if (buf.length > 0) errs.append(buf);
    return;
  }
  const starts = r.recordStarts;
  for (let i = 0; i < starts.length; i++) {
    const from = starts[i];
    const to = i + 1 < starts.length ? starts[i + 1] : buf.length;
    const digits = from + linePos;
    let end = digits;
    let rel = 0;
    while (buf[end] >= 0x30 && buf[end] <= 0x39) rel = rel * 10 + buf[end++] - 0x30;
    if (end === digits || buf[end] !== 0x2c) throw new Error('internal error: a reject record without its line number where expected');
    errs.append(buf, from, digits);
    errs.appendAscii(String(base + rel));
    errs.append(buf, end, to);
  }
}

/** Adds a block's counters to the object's; example line numbers become absolute. */
function addCounts(cp: Checkpoint, r: BlockResult, base: number): void {
  const c = r.counts;
  cp.lines += c.lines;
  cp.valid += c.valid;
  cp.rejected += c.rejected;
  cp.blank += c.blank;
  for (const [k, n] of Object.entries(c.byReason)) cp.byReason[k] = (cp.byReason[k] ?? 0) + n;
  for (const [rule, f] of Object.entries(c.byRule)) {
    const g = (cp.byRule[rule] ??= { count: 0, examples: [] });
    g.count += f.count;
    for (const ex of f.examples) if (g.examples.length < EXAMPLES_PER_RULE) g.examples.push({ line: base + ex.line, offset: ex.offset });
  }
}
