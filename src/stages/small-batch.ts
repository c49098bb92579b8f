/**
 * Group commit for small objects: each is cleaned from memory on the main thread as its GET ends
 * (or, in a local run, as its file is read), its files written on the thread pool, and many such
 * objects become durable together: their partial outputs fsynced in parallel, one transaction marks
 * them all publishing, their renames made durable with one fsync per folder, and one more
 * transaction marks them all done. Per object that saves five commits (each an fsync of the WAL), a
 * folder fsync and a worker round trip, which were most of the cost of a one-line object.
 *
 * The crash promise is the one-object path's: until the publishing commit an object is still
 * 'listed' (a local file: 'downloaded') and is simply downloaded (read) again, its partial files
 * written anew; from that commit on its outputs are on disk, and resume only renames (clean-file.ts
 * publish).
 */
import { mkdir, open, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Db } from '../state/db.js';
import { markDoneMany, markFailed, publishSmallObjects, type ObjectRow, type SmallObjectCleaned } from '../state/queries.js';
import { objectPaths, type ObjectPaths } from '../keys/local-layout.js';
import type { CleanResult, CleanTask } from './clean-file.js';
import { cleanBytes, type CleanedBytes } from './clean-memory.js';
import { pathClash } from './path-clash.js';
import { SMALL_BYTES } from './small-size.js';

/**
 * Most objects in one group. Also the backlog at which a new object waits for the group being
 * committed: each waiting object holds up to two open files.
 */
const GROUP = 128;

interface Ready {
  row: ObjectRow;
  paths: ObjectPaths;
  quarantine: boolean;
  /**
   * The object's files, written on the thread pool (the main thread, which also runs the GETs,
   * spent most of its time in open(2) when it wrote them itself): the partial outputs, open for
   * the group's fsync.
   */
  files: Promise<FileHandle[]>;
  cleaned: SmallObjectCleaned;
  result: CleanResult;
}

/** What the group commit tells the pipeline. */
export interface SmallEvents {
  done(row: ObjectRow, r: CleanResult): void;
  failed(row: ObjectRow, why: string): void;
  /** A problem of the local disk or the state: the run stops. */
  fatal(err: Error): void;
}

/** The small objects of one run on their way to done, a group at a time. */
export class SmallObjects {
  private pending: Ready[] = [];
  private committing: Promise<void> = Promise.resolve();
  private busy = false;
  /** Folders made during this run: a small object costs no mkdir once its folder exists. */
  private readonly made = new Map<string, Promise<unknown>>();

  /**
   * `input`: what becomes of the input copy under the local dir: written (an S3 run that keeps its
   * inputs), removed (one that deletes them), or nothing (a local run reads its source in place).
   */
  constructor(
    private readonly db: Db,
    private readonly runId: number,
    private readonly localDir: string,
    private readonly input: 'write' | 'remove' | 'none',
    private readonly events: SmallEvents,
  ) {}

  /** Whether `row` can take the small path (a fresh download of a plain object of at most SMALL_BYTES). */
  static fits(row: ObjectRow): boolean {
    return row.gz === 0 && row.size <= SMALL_BYTES && row.downloaded_bytes === 0 && (row.state === 'listed' || row.state === 'downloading');
  }

  /** Whether the local file of `row` can take the small path (a plain file of at most SMALL_BYTES, not started). */
  static fitsLocal(row: ObjectRow): boolean {
    return row.gz === 0 && row.size <= SMALL_BYTES && row.state === 'downloaded' && row.clean_offset === 0;
  }

  /**
   * Cleans `body` (all of `row`), writes its files and queues it for the next group; resolves once
   * it is queued (waiting first while a full group is already queued).
   */
  async add(row: ObjectRow, body: Buffer, task: CleanTask, downloadMs: number): Promise<void> {
    while (this.pending.length >= GROUP) await this.committing;
    const started = Date.now();
    const paths = objectPaths(this.localDir, row.rel_path);
    const c = cleanBytes(task, row, body);
    const nonBlank = c.counts.valid + c.counts.rejected;
    const quarantine = task.maxErrorRate !== null && nonBlank > 0 && c.counts.rejected / nonBlank > task.maxErrorRate;
    const files = this.writeFiles(paths, body, c);
    // Its failure is met when the group is committed.
    files.catch(() => {});
    const cp = { ...c.counts, offset: body.length, outLen: c.out.length, errLen: c.errs.length };
    const cleanMs = Date.now() - started;
    const result: CleanResult = { objectId: row.id, outcome: 'done', lines: cp.lines, valid: cp.valid, rejected: cp.rejected, blank: cp.blank, bytes: body.length };
    this.pending.push({ row, paths, quarantine, files, result, cleaned: { id: row.id, size: body.length, downloadMs, cleanMs, schemaHash: c.rulesHash, cp } });
    this.kick();
  }

  /** Resolves once every object added has been committed (or the run stopped). */
  async drain(): Promise<void> {
    while (this.busy || this.pending.length > 0) {
      this.kick();
      await this.committing;
    }
  }

  /** Starts committing what is queued, unless a group is being committed: the next group then takes everything queued meanwhile. */
  private kick(): void {
    if (this.busy || this.pending.length === 0) return;
    this.busy = true;
    const group = this.pending.splice(0, GROUP);
    this.committing = this.commit(group)
      .catch((err: Error) => this.events.fatal(err))
      .finally(() => {
        this.busy = false;
        this.kick();
      });
  }

  private async commit(group: Ready[]): Promise<void> {
    const written = await Promise.allSettled(group.map((r) => r.files));
    const handles = written.flatMap((w) => (w.status === 'fulfilled' ? w.value : []));
    const ok: Ready[] = [];
    try {
      group.forEach((r, i) => {
        const w = written[i];
        if (w.status === 'fulfilled') return void ok.push(r);
        this.clash(r, w.reason);
      });
      await Promise.all(handles.map((h) => h.sync()));
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
    if (ok.length === 0) return;
    publishSmallObjects(this.db, ok.map((r) => r.cleaned));
    // From here on as clean-file.ts publish(), but each folder is fsynced once for the whole group.
    const folders = new Set<string>();
    const moved = await Promise.allSettled(ok.map((r) => this.publish(r, folders)));
    const published = ok.filter((r, i) => {
      const m = moved[i];
      if (m.status === 'rejected') this.clash(r, m.reason);
      return m.status === 'fulfilled';
    });
    await Promise.all([...folders].map(fsyncFolder));
    markDoneMany(this.db, this.runId, published.map((r) => ({ id: r.row.id, quarantined: r.quarantine })));
    for (const r of published) this.events.done(r.row, r.result);
  }

  /** Fails the object when `err` is a path clash (the group goes on); throws it otherwise (the run stops). */
  private clash(r: Ready, err: unknown): void {
    const why = pathClash(err);
    if (!why) throw err;
    markFailed(this.db, this.runId, r.row.id, why);
    this.events.failed(r.row, why);
  }

  /**
   * Writes the object's partial outputs, then its input copy (when kept); resolves with the partial
   * outputs, open. One after the other, partial output first: of two keys that clash ("a" and
   * "a/b"), the one that makes its partial output first wins every path, and only the other fails.
   * Written side by side, each could win one folder and both would fail.
   */
  private async writeFiles(paths: ObjectPaths, body: Buffer, c: CleanedBytes): Promise<FileHandle[]> {
    const handles: FileHandle[] = [];
    try {
      handles.push(await this.create(paths.partialOutput, c.out));
      if (c.errs.length > 0) handles.push(await this.create(paths.partialErrors, c.errs));
      // Not fsynced, as download.ts: an input copy can be fetched again.
      if (this.input === 'write') await this.mkdir(paths.input).then(() => writeFile(paths.input, body));
      else if (this.input === 'remove') await removeFile(paths.input);
    } catch (err) {
      await Promise.all(handles.map((h) => h.close()));
      throw err;
    }
    return handles;
  }

  /** Creates (or empties) `path` and writes `bytes` to it; resolves with it open, for the group's fsync. */
  private async create(path: string, bytes: Uint8Array): Promise<FileHandle> {
    await this.mkdir(path);
    const fh = await open(path, 'w');
    try {
      if (bytes.length > 0) await fh.writeFile(bytes);
    } catch (err) {
      await fh.close();
      throw err;
    }
    return fh;
  }

  /** Moves the object's partial outputs into place, noting the folders whose entries changed. */
  private async publish(r: Ready, folders: Set<string>): Promise<void> {
    const { paths } = r;
    const out = r.quarantine ? paths.quarantine : paths.output;
    await this.mkdir(out);
    await rename(paths.partialOutput, out);
    folders.add(dirname(out));
    await removeFile(r.quarantine ? paths.output : paths.quarantine);
    if (r.cleaned.cp.errLen > 0) {
      await this.mkdir(paths.errors);
      await rename(paths.partialErrors, paths.errors);
      folders.add(dirname(paths.errors));
    } else {
      await Promise.all([removeFile(paths.partialErrors), removeFile(paths.errors)]);
    }
  }

  /** Makes the folder of `path`, once per run. */
  private mkdir(path: string): Promise<unknown> {
    const dir = dirname(path);
    let made = this.made.get(dir);
    if (!made) {
      made = mkdir(dir, { recursive: true });
      // A failure is the caller's; a later object tries again.
      made.catch(() => this.made.delete(dir));
      this.made.set(dir, made);
    }
    return made;
  }
}

/**
 * Removes the file `path` if it is there. One unlink: `rm(path, { force: true })` costs two lstats
 * on the thread pool before it (Node 20), and with three of them per object those were about a
 * tenth of the main thread on tiny objects (each hand-off to the pool costs it, more so on a busy machine).
 */
async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Makes the renames in `dir` durable, on the thread pool. */
async function fsyncFolder(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
