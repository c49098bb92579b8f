/**
 * An object's checkpoints, for a clean on one thread (clean-file.ts) and on several (clean-ranged.ts)
 * alike: the last committed one, the partial output and errors files opened at its lengths, and
 * the commits of new ones.
 */
import { Appender } from '../sinks/appender.js';
import type { ObjectPaths } from '../keys/local-layout.js';
import type { Db } from '../state/db.js';
import { commitCheckpoint, markPublishing, type Checkpoint, type ObjectRow, type RuleFigures } from '../state/queries.js';

/** The counters and lengths of an object's last committed checkpoint. */
export function checkpointOf(row: ObjectRow): Checkpoint {
  return {
    offset: row.clean_offset,
    outLen: row.out_len,
    errLen: row.err_len,
    lines: row.lines,
    valid: row.valid,
    rejected: row.rejected,
    blank: row.blank,
    byReason: JSON.parse(row.by_reason) as Record<string, number>,
    byRule: JSON.parse(row.by_rule) as RuleFigures,
  };
}

/** A copy of `cp` that later counting does not change, at input offset `offset`. */
export function snapshotOf(cp: Checkpoint, offset = cp.offset): Checkpoint {
  return { ...cp, offset, byReason: { ...cp.byReason }, byRule: structuredClone(cp.byRule) };
}

/** The object's partial output and errors files, cut back to the lengths of its last checkpoint. */
export function openPartials(paths: ObjectPaths, row: ObjectRow, gzip: boolean): { out: Appender; errs: Appender } {
  const out = new Appender(paths.partialOutput, row.out_len, gzip);
  try {
    return { out, errs: new Appender(paths.partialErrors, row.err_len, gzip) };
  } catch (err) {
    out.close();
    throw err;
  }
}

/**
 * Commits an object's checkpoints. A checkpoint's fsyncs run on the thread pool while the next
 * lines are cleaned; its commit waits for them, so a committed checkpoint never names bytes that
 * are not on disk. One at a time: each call first waits for the previous commit. The final one is
 * synchronous and marks the object publishing. `snapshot` is taken after that wait. `close`
 * closes the files, which it then owns.
 */
export function checkpointer(db: Db, objectId: number, out: Appender, errs: Appender) {
  let started = Date.now();
  const ms = () => {
    const n = Date.now() - started;
    started = Date.now();
    return n;
  };
  let inFlight: Promise<void> | undefined;
  const commit = async (snapshot: () => Checkpoint, final: boolean): Promise<void> => {
    if (inFlight) await inFlight;
    inFlight = undefined;
    const snap = snapshot();
    if (final) {
      snap.outLen = out.sync();
      snap.errLen = errs.sync();
      markPublishing(db, objectId, snap, ms());
      return;
    }
    inFlight = Promise.all([out.syncAsync(), errs.syncAsync()]).then(([outLen, errLen]) => {
      commitCheckpoint(db, objectId, { ...snap, outLen, errLen }, ms());
    });
    // Surfaced by the next call's await; never an unhandled rejection meanwhile.
    inFlight.catch(() => {});
  };
  /** Closes both files, once a running fsync is over (its error ignored): no fsync may run on a descriptor being closed. */
  const close = async (): Promise<void> => {
    if (inFlight) await inFlight.catch(() => {});
    out.close();
    errs.close();
  };
  return { commit, close };
}
