/**
 * Runs the stages of one run: manifest (unless already complete), then downloads and cleans
 * overlapped: each object is handed to the clean pool as soon as its download finishes.
 */
import { accessSync, constants, existsSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import pLimit from 'p-limit';
import type { S3Client } from '@aws-sdk/client-s3';
import { LocalIoError, S3PermanentError } from '../errors.js';
import type { Db } from '../state/db.js';
import { bytesToProcess, cacheStatements, downloadAgain, eachObjectToDo, getObject, markFailed, type ObjectRow, type RunRow } from '../state/queries.js';
import type { CleanResult, CleanTask } from './clean-file.js';
import { manifestLocal, manifestS3, type ManifestSummary } from './manifest.js';
import { objectPaths, objectSource } from '../keys/local-layout.js';
import { openCleanPool, type CleanPool } from './clean-pool.js';
import { pathClash } from './path-clash.js';
import { cleanRanged, cleanWhileDownloading, shouldSplit } from './clean-ranged.js';
import { InputFeed } from './input-feed.js';
import { parseRunOptions, taskOptionsOf } from '../settings.js';
import { Bounded } from './bounded.js';
import { SmallObjects } from './small-batch.js';
import { readExactly } from '../lines/read-chunks.js';

/** What the pipeline tells the outside while it works (progress bars, logs). */
export interface PipelineEvents {
  listed?(s: ManifestSummary): void;
  downloadedBytes?(n: number): void;
  objectDownloaded?(row: ObjectRow): void;
  objectCleaned?(key: string, r: CleanResult): void;
  objectGone?(key: string): void;
  objectFailed?(key: string, error: string): void;
  /** Awaited once the listing is complete, before any download: may finish objects without downloading them (deliver.ts). */
  listingDone?(): Promise<void>;
}

export interface PipelineResult {
  manifest?: ManifestSummary;
  failed: number;
  gone: number;
  done: number;
}

/**
 * Executes (or continues) `run` until every object it lists is done, failed or gone. `warmed`: a
 * clean pool already started for this run's rules (clean-pool.ts), used instead of opening one;
 * its owner closes it.
 */
export async function executeRun(db: Db, statePath: string, run: RunRow, client: S3Client | undefined, events: PipelineEvents = {}, warmed?: CleanPool): Promise<PipelineResult> {
  const opts = parseRunOptions(run.options);
  cacheStatements(db);
  const result: PipelineResult = { failed: 0, gone: 0, done: 0 };
  if (!run.listed) {
    result.manifest = run.kind === 's3' ? await manifestS3(db, run, client!, events.listed) : manifestLocal(db, run);
    events.listed?.(result.manifest);
  }
  await events.listingDone?.();

  // Imported here: a run on local files never loads the AWS SDK (about 20 MB of the main thread).
  const { downloadObject, PART_BYTES } = run.kind === 's3' ? await import('./download.js') : ({} as typeof import('./download.js'));
  const fetchSmall = run.kind === 's3' ? await (await import('./download-small.js')).smallFetcher(client!, run.bucket!, opts.concurrency) : undefined;
  // Opened on first use: a run of small objects only (cleaned on this thread) starts no worker,
  // each of which has its own V8 heap, rules and state connection.
  let openedPool: CleanPool | undefined = warmed;
  const pool = () => (openedPool ??= openCleanPool(opts.threads, { schemaText: run.schema_text, schemaOrigin: run.schema_origin, maxErrorsPerLine: opts.maxErrorsPerLine }, run.kind === 'local'));
  const sourceIsFile = run.kind === 'local' && statSync(run.source).isFile();
  let fatal: Error | undefined;

  const taskFor = (row: ObjectRow): CleanTask => ({
    statePath,
    runId: run.id,
    objectId: row.id,
    ...objectSource(run, row, sourceIsFile),
    localDir: run.local_dir,
    schemaText: run.schema_text,
    schemaOrigin: run.schema_origin,
    ...taskOptionsOf(opts),
  });

  /** Counts a failed object and says so; `record` marks it failed in the state first (a clean worker has already). */
  const failed = (row: ObjectRow, why: string, record: boolean): void => {
    if (record) markFailed(db, run.id, row.id, why);
    result.failed++;
    events.objectFailed?.(row.key, why);
  };

  const cleaned = (row: ObjectRow, task: CleanTask, r: CleanResult): void => {
    if (r.outcome === 'fatal') {
      fatal ??= r.code ? localFailure(r, run.local_dir) : new Error(`cleaning ${row.key}: ${r.error}`);
      return;
    }
    if (r.outcome === 'failed') failed(row, r.error ?? 'failed', false);
    else {
      result.done++;
      if (opts.deleteInput && run.kind === 's3') rmSync(task.inputPath, { force: true });
    }
    events.objectCleaned?.(row.key, r);
  };

  const clean = async (row: ObjectRow): Promise<void> => {
    if (fatal) return;
    const task = taskFor(row);
    // A large plain object that would leave threads idle is cleaned in blocks by all of them.
    const r = shouldSplit(row, opts.threads, runBytes) ? await cleanRanged(db, pool(), task, opts.threads) : await pool().run(task);
    cleaned(row, task, r);
  };

  /**
   * Such an object, when it is fetched in parts, is cleaned while it downloads; undefined when
   * that was given up (the download failed or started over), and the object is cleaned as usual.
   */
  const cleanAlongside = (row: ObjectRow): { feed: InputFeed; task: CleanTask; done: Promise<CleanResult | undefined> } | undefined => {
    if (!shouldSplit(row, opts.threads, runBytes, true) || row.size - row.downloaded_bytes <= PART_BYTES) return undefined;
    const feed = new InputFeed();
    const task = taskFor(row);
    return { feed, task, done: cleanWhileDownloading(db, pool(), task, opts.threads, feed) };
  };

  /** Whether a downloaded object's input copy is all there (it is not fsynced: a power loss can cut it short). */
  const inputWhole = (row: ObjectRow): boolean => statSync(objectPaths(run.local_dir, row.rel_path).input, { throwIfNoEntry: false })?.size === row.size;

  // Small objects are cleaned from memory as their GET ends (small local files as they are read)
  // and committed a group at a time.
  const small = new SmallObjects(db, run.id, run.local_dir, run.kind === 'local' ? 'none' : opts.deleteInput ? 'remove' : 'write', {
    done: (row, r) => {
      result.done++;
      events.objectCleaned?.(row.key, r);
    },
    failed: (row, why) => failed(row, why, false),
    fatal: (err) => void (fatal ??= asFatal(err)),
  });
  const asFatal = (err: Error): Error => {
    const e = err as NodeJS.ErrnoException;
    return isLocalIo(e) ? localFailure({ error: e.message, code: e.code }, run.local_dir) : err;
  };
  /** Takes `row` the small way; false when it must take the usual one (its GET was not the happy case). */
  const downloadSmall = async (row: ObjectRow): Promise<boolean> => {
    const started = Date.now();
    const body = await fetchSmall!(row);
    if (fatal) return true;
    if (!body) return false;
    events.downloadedBytes?.(body.length);
    events.objectDownloaded?.(row);
    try {
      await small.add(row, body, taskFor(row), Date.now() - started);
    } catch (err) {
      fatal ??= asFatal(err as Error);
    }
    return true;
  };

  /** Cleans a small local file on this thread, as a small GET's body; the usual way when it is not as listed. */
  const cleanSmallLocal = async (row: ObjectRow): Promise<void> => {
    if (fatal) return;
    const task = taskFor(row);
    // A file that changed since it was listed goes the usual way, which reads it as it is now.
    const body = await readExactly(task.inputPath, row.size);
    if (body === undefined) return clean(row);
    try {
      await small.add(row, body, task, 0);
    } catch (err) {
      fatal ??= asFatal(err as Error);
    }
  };

  // Ranged parts of every object share the connections, first object first (download-parts.ts).
  const parts = pLimit(opts.concurrency);
  const download = async (row: ObjectRow): Promise<void> => {
    if (fatal) return;
    if (SmallObjects.fits(row) && (await downloadSmall(row))) return;
    const alongside = cleanAlongside(row);
    // The download will not be cleaned alongside after all: stop that clean before going on.
    const dropAlongside = async () => {
      alongside?.feed.supersede();
      await alongside?.done;
    };
    let outcome;
    try {
      outcome = await downloadObject(db, run, client!, row.id, events.downloadedBytes, parts, alongside?.feed);
    } catch (err) {
      await dropAlongside();
      if (err instanceof S3PermanentError) {
        fatal ??= err;
        return;
      }
      const e = err as NodeJS.ErrnoException;
      const clash = pathClash(e);
      if (!clash && isLocalIo(e)) {
        fatal ??= asFatal(e);
        return;
      }
      // DownloadFailed, a path clash, or another problem of this object alone.
      failed(row, clash ?? e.message, true);
      return;
    }
    if (outcome === 'gone') {
      await dropAlongside();
      result.gone++;
      events.objectGone?.(row.key);
      return;
    }
    events.objectDownloaded?.(row);
    if (alongside) {
      alongside.feed.finish();
      cleans.start(() => alongside.done.then((r) => (r ? cleaned(row, alongside.task, r) : clean(getObject(db, row.id)))));
      return;
    }
    // Do not hold the download slot while the object waits for a clean thread.
    cleans.start(() => clean(row));
  };

  // Work is read from the state a batch at a time and held only while in flight: at most
  // `concurrency` downloads, and a few cleans per thread queued (more would only hold rows and
  // promises; fewer would leave a thread idle between tasks). Cleans first: what a crash left
  // downloaded (or all of a local run) is finished before new downloads queue behind it.
  const stop = (err: unknown) => void (fatal ??= err as Error);
  const cleans = new Bounded(opts.threads * 4, stop);
  const downloads = new Bounded(opts.concurrency, stop);
  const runBytes = bytesToProcess(db, run.id);
  try {
    for (const state of ['publishing', 'cleaning', 'downloaded'] as const) {
      for (const row of eachObjectToDo(db, run.id, state)) {
        if (fatal) break;
        if (state === 'downloaded' && run.kind === 's3' && !inputWhole(row)) {
          downloadAgain(db, row.id);
          continue;
        }
        await cleans.slot();
        cleans.start(() => (run.kind === 'local' && SmallObjects.fitsLocal(row) ? cleanSmallLocal(row) : clean(row)));
      }
    }
    for (const state of ['downloading', 'listed'] as const) {
      for (const row of eachObjectToDo(db, run.id, state)) {
        if (fatal) break;
        // Downloads wait for a clean slot too: objects downloaded faster than they are cleaned would pile up.
        await cleans.slot();
        await downloads.slot();
        downloads.start(() => download(row));
      }
    }
    await downloads.drain();
    // Cleans are started by downloads as they finish: all started once the downloads are drained.
    // Small objects are added by downloads and by cleans (a local run's small files): all added
    // once both are drained.
    await cleans.drain();
    await small.drain();
  } finally {
    if (openedPool !== warmed) await openedPool?.destroy();
  }
  if (fatal) throw fatal;
  return result;
}

/** Whether `e` is a file-system error (an errno code that is not the network's): it stops the run. */
function isLocalIo(e: NodeJS.ErrnoException): boolean {
  return e.code !== undefined && /^E[A-Z]+$/.test(e.code) && !/^E(CONNRESET|PIPE|TIMEDOUT|CONNREFUSED)$/.test(e.code);
}

function localFailure(r: { error?: string; code?: string }, localDir: string): Error {
  // A recursive mkdir on a read-only file system reports ENOENT; ask the folder itself.
  if (r.code === 'ENOENT') {
    let dir = localDir;
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    try {
      accessSync(dir, constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code) r = { code, error: `${code}: ${dir} is not writable` };
    }
  }
  const what =
    r.code === 'ENOSPC' ? 'the disk is full'
    : r.code === 'EACCES' || r.code === 'EPERM' ? 'permission denied'
    : r.code === 'EROFS' ? 'the file system is read-only'
    : r.code === 'EDQUOT' ? 'the disk quota is exceeded'
    : r.code === 'EIO' ? 'an I/O error'
    : 'a file-system error';
  // Node's messages read "ENOSPC: no space left on device, write": keep the part after the code.
  const detail = (r.error ?? '').replace(new RegExp(`^${r.code ?? ''}:\\s*`), '');
  return new LocalIoError(`cannot write under ${localDir}: ${what} (${r.code ?? 'error'}: ${detail}); fix it and run \`cleaner resume\``);
}
