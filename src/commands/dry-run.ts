/**
 * `cleaner run --dry-run`: lists what a run would download and clean, and why (new, changed,
 * schema_changed, unfinished, retry), and what it would skip, without writing anything. Each
 * object's line is handed on as it is decided and only the totals are kept: a lake of millions of
 * keys costs the memory of one listing page.
 */
import { existsSync } from 'node:fs';
import type { Settings } from '../settings.js';
import { openState, type Db } from '../state/db.js';
import { decideListing, findObject, type ListedObject, type ListingReason } from '../state/queries.js';
import { eachLocalFile, toListed } from '../stages/manifest.js';
import type { Exclusion } from '../keys/select.js';
import { relativeKey } from '../keys/local-path.js';
import { planRun } from './plan.js';
import { sizeHeapsForMemory } from '../heap-sizing.js';
import type { Logger } from '../log.js';

export interface DryRunEntry {
  key: string;
  size: number;
  action: 'process' | 'skip';
  /** Why: a listing decision, or `excluded` (a filter) / `marker` (the marker rule) for objects the run leaves out. */
  reason: ListingReason | Exclusion;
}

/** What the dry run came to over all objects. */
export interface DryRunTotals {
  process: number;
  skip: number;
  /** Bytes of the objects it would clean. */
  bytes: number;
  /** Left out by a filter or as markers (counted in `skip`). */
  excluded: number;
  /** Belonging to other shards (counted in `skip`). */
  otherShards: number;
}

/**
 * Decides, for every object of the source, what `run` would do, and hands each decision to `emit`
 * a listing page at a time (awaited: the caller may wait for its output to drain); writes nothing.
 */
export async function dryRunCommand(settings: Settings, log: Logger, emit: (page: DryRunEntry[]) => void | Promise<void>): Promise<DryRunTotals> {
  const { src, rules, localDir, statePath, endpoint, target, select } = planRun(settings, log);
  // It lists and cleans nothing: no time to save, and a listing of millions of keys to keep small.
  sizeHeapsForMemory();
  const db: Db | undefined = existsSync(statePath) ? openState(statePath, { readonly: true }) : undefined;
  const totals: DryRunTotals = { process: 0, skip: 0, bytes: 0, excluded: 0, otherShards: 0 };
  const decide = (o: ListedObject, relKey: string): DryRunEntry => {
    const excluded = select(relKey, o.size, o.key);
    const reason = excluded ?? decideListing(db ? findObject(db, target, o.key) : undefined, o, rules.hash);
    const action = excluded || reason === 'unchanged' || reason === 'failed_before' ? 'skip' : 'process';
    totals[action]++;
    if (action === 'process') totals.bytes += o.size;
    if (reason === 'excluded' || reason === 'marker') totals.excluded++;
    if (reason === 'shard') totals.otherShards++;
    return { key: o.key, size: o.size, action, reason };
  };
  try {
    if (src.kind === 'local') {
      let page: DryRunEntry[] = [];
      for (const o of eachLocalFile(src.path, localDir)) {
        if (settings.startAfter && o.key <= settings.startAfter) continue;
        page.push(decide(o, o.key));
        // Pages as an S3 listing's, so a tree of millions of files is never held whole.
        if (page.length === 1000) {
          await emit(page);
          page = [];
        }
      }
      if (page.length > 0) await emit(page);
    } else {
      const [{ makeClient }, { listObjects }] = await Promise.all([import('../s3/client.js'), import('../s3/list.js')]);
      const client = makeClient({ endpoint, region: settings.region });
      try {
        for await (const page of listObjects(client, src.bucket, src.prefix, settings.startAfter)) {
          await emit(page.map((o) => decide(toListed(o, src.prefix), relativeKey(o.key, src.prefix))));
        }
      } finally {
        client.destroy();
      }
    }
  } finally {
    db?.close();
  }
  return totals;
}

/** Dry-run entries as text, one line per object. */
export function formatDryRunEntries(entries: DryRunEntry[]): string {
  const why = (e: DryRunEntry) => (e.reason === 'marker' ? 'excluded (marker)' : e.reason === 'shard' ? 'other shard' : e.reason);
  return entries.map((e) => `${e.action === 'process' ? 'would clean' : 'would skip '}  ${why(e).padEnd(17)}  ${String(e.size).padStart(12)}  ${e.key}\n`).join('');
}

/** The dry run's last line: what it came to. */
export function formatDryRunTotals(t: DryRunTotals): string {
  return `dry run: ${t.process} object(s) to clean (${t.bytes.toLocaleString('en-US')} bytes), ${t.skip} to skip${t.excluded ? ` (${t.excluded} excluded)` : ''}${t.otherShards ? `, ${t.otherShards} in other shards` : ''}; nothing was written\n`;
}
