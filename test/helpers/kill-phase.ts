/**
 * Tells, after a SIGKILL, which step of its work the cleaner was in: compares what the state
 * database and the local dir held before the process started with what they hold after it died.
 * Reads the state read-only and never fails: an unreadable state gives the phase `unknown`.
 *
 * This reads cleaner's own tables (runs, objects), not a public contract; when their shape changes,
 * phases become `unknown` and nothing else breaks.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** Phases from the most delicate to the least; a kill's primary phase is the first of its phases in this list. */
export const PHASES = [
  'startup',
  'listing',
  'exiting (run recorded done)',
  'finishing (all objects done, run not yet done)',
  'publish: renamed, not marked done',
  'publish: between output and errors renames',
  'publish: before renames',
  'download: renamed, not committed',
  'checkpoint: flushed, not committed',
  'cleaning',
  'downloading',
  'download done, waiting to clean',
  'listed, waiting to download',
  'published',
  'recovery (no visible progress)',
  'unknown',
] as const;
export type Phase = (typeof PHASES)[number];

const FILES = ['partialInput', 'input', 'partialOutput', 'output', 'partialErrors', 'errors'] as const;

/** One object as the state and the disk show it; file sizes are -1 when the file is absent. */
export interface ObjectSnapshot {
  key: string;
  rel: string;
  state: string;
  size: number;
  gz: boolean;
  downloadedBytes: number;
  cleanOffset: number;
  outLen: number;
  errLen: number;
  files: Record<(typeof FILES)[number], number>;
}

/** The newest run and every object of a state, with their files. */
export interface StateSnapshot {
  /** Why the state could not be read, if it could not. */
  error?: string;
  run?: { id: number; state: string; listed: boolean };
  objects: Map<string, ObjectSnapshot>;
}

/** What a kill interrupted. */
export interface KillPhase {
  primary: Phase;
  /** Every phase seen, in PHASES order. */
  phases: Phase[];
  /** Objects whose state or files changed while the process lived, with the phase each was in. */
  objects: Array<{ key: string; rel: string; phase: Phase }>;
}

function sizeOf(p: string): number {
  return statSync(p, { throwIfNoEntry: false })?.size ?? -1;
}

/** Reads the newest run and every object of the state at `statePath`, and the sizes of their files under `localDir`. */
export function snapshotState(localDir: string, statePath: string): StateSnapshot {
  const snap: StateSnapshot = { objects: new Map() };
  if (sizeOf(statePath) < 0) return snap;
  let db: Database.Database | undefined;
  try {
    db = new Database(statePath, { readonly: true, fileMustExist: true });
    const hasRuns = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'").get();
    if (!hasRuns) return snap;
    const run = db.prepare('SELECT id, state, listed FROM runs ORDER BY id DESC LIMIT 1').get() as { id: number; state: string; listed: number } | undefined;
    if (!run) return snap;
    snap.run = { id: run.id, state: run.state, listed: run.listed === 1 };
    const rows = db
      .prepare(
        `SELECT o.key, o.rel_path, o.state, o.size, o.gz, o.downloaded_bytes, o.clean_offset, o.out_len, o.err_len
         FROM objects o JOIN run_objects r ON r.object_id = o.id WHERE r.run_id = ? ORDER BY o.key`,
      )
      .all(run.id) as Array<Record<string, unknown>>;
    for (const r of rows) {
      const rel = String(r.rel_path);
      const p = {
        partialInput: join(localDir, '.cleaner', 'partial', 'input', rel),
        input: join(localDir, 'input', rel),
        partialOutput: join(localDir, '.cleaner', 'partial', 'output', rel),
        output: join(localDir, 'output', rel),
        partialErrors: join(localDir, '.cleaner', 'partial', 'errors', rel),
        errors: join(localDir, 'errors', rel),
      };
      const files = Object.fromEntries(FILES.map((f) => [f, sizeOf(p[f])])) as ObjectSnapshot['files'];
      snap.objects.set(String(r.key), {
        key: String(r.key),
        rel,
        state: String(r.state),
        size: Number(r.size),
        gz: Number(r.gz) === 1,
        downloadedBytes: Number(r.downloaded_bytes),
        cleanOffset: Number(r.clean_offset),
        outLen: Number(r.out_len),
        errLen: Number(r.err_len),
        files,
      });
    }
  } catch (err) {
    snap.error = (err as Error).message;
  } finally {
    db?.close();
  }
  return snap;
}

function changed(a: ObjectSnapshot | undefined, b: ObjectSnapshot): boolean {
  if (!a) return true;
  if (a.state !== b.state || a.downloadedBytes !== b.downloadedBytes || a.cleanOffset !== b.cleanOffset || a.outLen !== b.outLen || a.errLen !== b.errLen) return true;
  return FILES.some((f) => a.files[f] !== b.files[f]);
}

/** The phase of one object that the killed process was working on. */
function objectPhase(o: ObjectSnapshot): Phase {
  switch (o.state) {
    case 'listed':
      return 'listed, waiting to download';
    case 'downloading':
      return o.files.input >= 0 && o.files.partialInput < 0 ? 'download: renamed, not committed' : 'downloading';
    case 'downloaded':
      return 'download done, waiting to clean';
    case 'cleaning':
      // Between a checkpoint's flush and its commit the partial files are longer than the committed lengths.
      return o.files.partialOutput > o.outLen || o.files.partialErrors > o.errLen ? 'checkpoint: flushed, not committed' : 'cleaning';
    case 'publishing':
      if (o.files.partialOutput >= 0) return 'publish: before renames';
      if (o.files.partialErrors >= 0) return 'publish: between output and errors renames';
      return 'publish: renamed, not marked done';
    case 'done':
      return 'published';
    default:
      return 'unknown';
  }
}

const FINISHED = new Set(['done', 'failed', 'gone']);

/**
 * Classifies a kill from the snapshots taken before the process started and after it died.
 * `stateWritten` tells whether the process wrote its state at all (it does so first thing, taking
 * its lock); when it did not, the kill landed in startup whatever the state holds.
 */
export function classifyKill(before: StateSnapshot, after: StateSnapshot, stateWritten = true): KillPhase {
  const phases = new Set<Phase>();
  const objects: KillPhase['objects'] = [];
  if (after.error) phases.add('unknown');
  else if (!after.run || !stateWritten) phases.add('startup');
  // The run row is written just before the listing starts, and the listing is committed as a whole.
  else if (!after.run.listed) phases.add('listing');
  else {
    for (const o of after.objects.values()) {
      if (!changed(before.objects.get(o.key), o)) continue;
      const phase = objectPhase(o);
      phases.add(phase);
      objects.push({ key: o.key, rel: o.rel, phase });
    }
    const all = [...after.objects.values()];
    if (all.length > 0 && all.every((o) => FINISHED.has(o.state))) {
      phases.add(after.run.state === 'done' ? 'exiting (run recorded done)' : 'finishing (all objects done, run not yet done)');
    }
    if (phases.size === 0) phases.add(before.run?.listed ? 'recovery (no visible progress)' : 'listing');
  }
  const ordered = PHASES.filter((p) => phases.has(p));
  return { primary: ordered[0], phases: ordered, objects };
}
