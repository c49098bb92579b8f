/**
 * `cleaner run --dry-run`: lists what a run would download and clean, and why (new, changed,
 * schema_changed, unfinished, retry), and what it would skip, without writing anything.
 */
import { existsSync } from 'node:fs';
import type { Settings } from '../settings.js';
import { openState, type Db } from '../state/db.js';
import { decideListing, findObject, type ListedObject, type ListingReason } from '../state/queries.js';
import { listLocal, toListed } from '../stages/manifest.js';
import type { Exclusion } from '../keys/select.js';
import { relativeKey } from '../keys/local-path.js';
import { planRun } from './plan.js';
import type { Logger } from '../log.js';

export interface DryRunEntry {
  key: string;
  size: number;
  action: 'process' | 'skip';
  /** Why: a listing decision, or `excluded` (a filter) / `marker` (the marker rule) for objects the run leaves out. */
  reason: ListingReason | Exclusion;
}

/** Decides, for every object of the source, what `run` would do; writes nothing. */
export async function dryRunCommand(settings: Settings, log: Logger): Promise<DryRunEntry[]> {
  const { src, rules, localDir, statePath, endpoint, target, select } = planRun(settings, log);
  const db: Db | undefined = existsSync(statePath) ? openState(statePath, { readonly: true }) : undefined;
  const entries: DryRunEntry[] = [];
  const decide = (o: ListedObject, relKey: string) => {
    const excluded = select(relKey, o.size, o.key);
    if (excluded) return void entries.push({ key: o.key, size: o.size, action: 'skip', reason: excluded });
    const reason = decideListing(db ? findObject(db, target, o.key) : undefined, o, rules.hash);
    entries.push({ key: o.key, size: o.size, action: reason === 'unchanged' || reason === 'failed_before' ? 'skip' : 'process', reason });
  };
  try {
    if (src.kind === 'local') {
      for (const o of listLocal(src.path, localDir)) if (!settings.startAfter || o.key > settings.startAfter) decide(o, o.key);
    } else {
      const [{ makeClient }, { listObjects }] = await Promise.all([import('../s3/client.js'), import('../s3/list.js')]);
      const client = makeClient({ endpoint, region: settings.region });
      try {
        for await (const page of listObjects(client, src.bucket, src.prefix, settings.startAfter)) for (const o of page) decide(toListed(o, src.prefix), relativeKey(o.key, src.prefix));
      } finally {
        client.destroy();
      }
    }
  } finally {
    db?.close();
  }
  return entries;
}

/** The dry run as text: one line per object, then a summary. */
export function formatDryRun(entries: DryRunEntry[]): string {
  const why = (e: DryRunEntry) => (e.reason === 'marker' ? 'excluded (marker)' : e.reason === 'shard' ? 'other shard' : e.reason);
  const lines = entries.map((e) => `${e.action === 'process' ? 'would clean' : 'would skip '}  ${why(e).padEnd(17)}  ${String(e.size).padStart(12)}  ${e.key}`);
  const count = (a: string) => entries.filter((e) => e.action === a).length;
  const left = entries.filter((e) => e.reason === 'excluded' || e.reason === 'marker').length;
  const others = entries.filter((e) => e.reason === 'shard').length;
  const bytes = entries.filter((e) => e.action === 'process').reduce((n, e) => n + e.size, 0);
  lines.push(
    `dry run: ${count('process')} object(s) to clean (${bytes.toLocaleString('en-US')} bytes), ${count('skip')} to skip${left ? ` (${left} excluded)` : ''}${others ? `, ${others} in other shards` : ''}; nothing was written`,
  );
  return lines.join('\n') + '\n';
}
