/**
 * `cleaner run --dry-run`: lists what a run would download and clean, and why (new, changed,
 * schema_changed, unfinished, retry), and what it would skip, without writing anything.
 */
import { existsSync } from 'node:fs';
import type { Settings } from '../settings.js';
import { openState, type Db } from '../state/db.js';
import { decideListing, findObject, type ListedObject, type ListingReason } from '../state/queries.js';
import { listLocal, toListed } from '../stages/manifest.js';
import { planRun } from './plan.js';
import type { Logger } from '../log.js';

export interface DryRunEntry {
  key: string;
  size: number;
  action: 'process' | 'skip';
  reason: ListingReason;
}

/** Decides, for every object of the source, what `run` would do; writes nothing. */
export async function dryRunCommand(settings: Settings, log: Logger): Promise<DryRunEntry[]> {
  const { src, rules, localDir, statePath, endpoint, target } = planRun(settings, log);
  const db: Db | undefined = existsSync(statePath) ? openState(statePath, { readonly: true }) : undefined;
  const entries: DryRunEntry[] = [];
  const decide = (o: ListedObject) => {
    const reason = decideListing(db ? findObject(db, target, o.key) : undefined, o, rules.hash);
    entries.push({ key: o.key, size: o.size, action: reason === 'unchanged' || reason === 'failed_before' ? 'skip' : 'process', reason });
  };
  try {
    if (src.kind === 'local') listLocal(src.path, localDir).forEach(decide);
    else {
      const [{ makeClient }, { listObjects }] = await Promise.all([import('../s3/client.js'), import('../s3/list.js')]);
      const client = makeClient({ endpoint, region: settings.region });
      try {
        for await (const page of listObjects(client, src.bucket, src.prefix)) for (const o of page) decide(toListed(o, src.prefix));
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
  const lines = entries.map((e) => `${e.action === 'process' ? 'would clean' : 'would skip '}  ${e.reason.padEnd(14)}  ${String(e.size).padStart(12)}  ${e.key}`);
  const count = (a: string) => entries.filter((e) => e.action === a).length;
  const bytes = entries.filter((e) => e.action === 'process').reduce((n, e) => n + e.size, 0);
  lines.push(`dry run: ${count('process')} object(s) to clean (${bytes.toLocaleString('en-US')} bytes), ${count('skip')} to skip; nothing was written`);
  return lines.join('\n') + '\n';
}
