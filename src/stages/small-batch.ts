/**
 * Group commit for small objects: each is cleaned from memory on the main thread as its GET ends,
 * its files written at once, and many such objects become durable together: their partial outputs
 * fsynced in parallel, one transaction marks them all publishing, their renames made durable with
 * one fsync per folder, and one more transaction marks them all done. Per object that saves five
 * commits (each an fsync of the WAL), a folder fsync and a worker round trip, which were most of
 * the cost of a one-line object.
 *
 * The crash promise is the one-object path's: until the publishing commit an object is still
 * 'listed' and is simply downloaded again (its partial files are cut back to the committed length,
 * zero); from that commit on its outputs are on disk, and resume only renames (clean-file.ts publish).
 */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Db } from '../state/db.js';
import { markDoneMany, markFailed, publishSmallObjects, type ObjectRow, type SmallObjectCleaned } from '../state/queries.js';
import { objectPaths, type ObjectPaths } from '../keys/local-layout.js';
import type { CleanResult, CleanTask } from './clean-file.js';
import { cleanBytes } from './clean-memory.js';
import { fsyncAsync } from './download-body.js';
import { pathClash } from './path-clash.js';

/** Objects of at most this many bytes take the small path: a GET read into memory, cleaned on the main thread. */
export const SMALL_BYTES = 256 << 10;

/**
 * Most objects in one group. Also the backlog at which a new object waits for the group being
 * committed: each waiting object holds up to two open files.
 */
const GROUP = 128;

interface Ready {
  row: ObjectRow;
  paths: ObjectPaths;
  quarantine: boolean;
  fds: number[];
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
  private readonly made = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly runId: number,
    private readonly localDir: string,
    private readonly keepInput: boolean,
    private readonly events: SmallEvents,
  ) {}

  /** Whether `row` can take the small path (a fresh download of a plain object of at most SMALL_BYTES). */
  static fits(row: ObjectRow): boolean {
    return row.gz === 0 && row.size <= SMALL_BYTES && row.downloaded_bytes === 0 && (row.state === 'listed' || row.state === 'downloading');
  }

  /**
   * Cleans `body` (all of `row`), writes its files and queues it for the next group; resolves once
   * it is queued (waiting first while a full group is already queued).
   */
  async add(row: ObjectRow, body: Buffer, task: CleanTask, downloadMs: number): Promise<void> {
    while (this.pending.length >= GROUP) await this.committing;
    const started = Date.now();
    const paths = objectPaths(this.localDir, row.rel_path);
    const fds: number[] = [];
    try {
      if (this.keepInput) {
        // Not fsynced, as download.ts: an input copy can be fetched again.
        this.mkdir(paths.input);
        writeFileSync(paths.input, body);
      } else rmSync(paths.input, { force: true });
      const c = cleanBytes(task, row, body);
      const nonBlank = c.counts.valid + c.counts.rejected;
      const quarantine = task.maxErrorRate !== null && nonBlank > 0 && c.counts.rejected / nonBlank > task.maxErrorRate;
      fds.push(this.write(paths.partialOutput, c.out));
      if (c.errs.length > 0) fds.push(this.write(paths.partialErrors, c.errs));
      const cp = { ...c.counts, offset: body.length, outLen: c.out.length, errLen: c.errs.length };
      const cleanMs = Date.now() - started;
      const result: CleanResult = { objectId: row.id, outcome: 'done', lines: cp.lines, valid: cp.valid, rejected: cp.rejected, blank: cp.blank, bytes: body.length };
      this.pending.push({ row, paths, quarantine, fds, result, cleaned: { id: row.id, size: body.length, downloadMs, cleanMs, schemaHash: c.rulesHash, cp } });
    } catch (err) {
      for (const fd of fds) closeSync(fd);
      const why = pathClash(err);
      if (!why) throw err;
      markFailed(this.db, this.runId, row.id, why);
      this.events.failed(row, why);
      return;
    }
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
      .catch((err: Error) => {
        for (const r of group) for (const fd of r.fds.splice(0)) closeSync(fd);
        this.events.fatal(err);
      })
      .finally(() => {
        this.busy = false;
        this.kick();
      });
  }

  private async commit(group: Ready[]): Promise<void> {
    await Promise.all(group.flatMap((r) => r.fds.map((fd) => fsyncAsync(fd))));
    for (const r of group) for (const fd of r.fds.splice(0)) closeSync(fd);
    publishSmallObjects(this.db, group.map((r) => r.cleaned));
    // From here on as clean-file.ts publish(), but each folder is fsynced once for the whole group.
    const folders = new Set<string>();
    const published: Ready[] = [];
    for (const r of group) {
      const { paths } = r;
      try {
        const out = r.quarantine ? paths.quarantine : paths.output;
        this.mkdir(out);
        renameSync(paths.partialOutput, out);
        folders.add(dirname(out));
        rmSync(r.quarantine ? paths.output : paths.quarantine, { force: true });
        if (r.cleaned.cp.errLen > 0) {
          this.mkdir(paths.errors);
          renameSync(paths.partialErrors, paths.errors);
          folders.add(dirname(paths.errors));
        } else {
          rmSync(paths.partialErrors, { force: true });
          rmSync(paths.errors, { force: true });
        }
        published.push(r);
      } catch (err) {
        const why = pathClash(err);
        if (!why) throw err;
        markFailed(this.db, this.runId, r.row.id, why);
        this.events.failed(r.row, why);
      }
    }
    await Promise.all([...folders].map(fsyncFolder));
    markDoneMany(this.db, this.runId, published.map((r) => ({ id: r.row.id, quarantined: r.quarantine })));
    for (const r of published) this.events.done(r.row, r.result);
  }

  /** Opens `path` afresh and writes `bytes` to it; returns the descriptor, left open for the group's fsync. */
  private write(path: string, bytes: Uint8Array): number {
    this.mkdir(path);
    const fd = openSync(path, 'w');
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return fd;
  }

  /** Makes the folder of `path`, once per run. */
  private mkdir(path: string): void {
    const dir = dirname(path);
    if (this.made.has(dir)) return;
    mkdirSync(dir, { recursive: true });
    this.made.add(dir);
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
