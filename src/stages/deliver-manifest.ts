/**
 * What a warehouse loader reads, written after every file of the run is at the destination:
 * `_runs/<name>.json` (the run report), then `_manifests/<name>.json` last, so a loader polling
 * `_manifests/` never sees a manifest naming a file that is not complete.
 *
 * The manifest is Redshift's COPY manifest, shaped as UNLOAD's `MANIFEST VERBOSE` writes it (which
 * COPY reads back): `entries` of {url, mandatory, meta: {content_length, record_count}}, a total
 * `meta`, plus a `cleaner` section (ignored by COPY) with the rules hash, the errors and
 * quarantined files, and files found already delivered when the state had been lost.
 */
import type { Db } from '../state/db.js';
import { deliveredByRun, type DeliveredFiles, type DeliveredObject, type RunRow } from '../state/queries.js';
import { destKey, type DestLocation } from '../s3/dest.js';
import { VERSION } from '../version.js';
import { parseRunOptions } from '../settings.js';

/**
 * A run's name at the destination: `20261130T104033123Z-run-7[-shard-2-of-4]`. Run ids alone
 * repeat: a container on an empty disk starts at run 1 again, and every shard has its own state.
 * The start time first makes names sort in the order the runs began.
 */
export function destRunName(run: RunRow): string {
  const at = run.started_at.replace(/[-:.]/g, '');
  const shard = parseRunOptions(run.options).shard;
  return `${at}-run-${run.id}${shard ? `-shard-${shard.replace('/', '-of-')}` : ''}`;
}

/** One file in a manifest. */
export interface ManifestEntry {
  url: string;
  mandatory: true;
  meta: { content_length: number; record_count: number };
}

/** The loader manifest of one run. */
export interface LoaderManifest {
  entries: ManifestEntry[];
  meta: { content_length: number; record_count: number };
  cleaner: {
    run_id: number;
    source: string;
    rules_hash: string;
    version: string;
    /** Reject records (errors/), one per object with rejects: not for the warehouse table. */
    errors: ManifestEntry[];
    /** Outputs held back by the quality gate (quarantine/). */
    quarantined: ManifestEntry[];
    /** Outputs this run found already delivered from the same ETag and rules (the state was lost): an earlier run's manifest may list them. */
    already_delivered: ManifestEntry[];
  };
}

/** Builds the manifest of the files run `run` delivered to `dest`. */
export function loaderManifest(db: Db, run: RunRow, dest: DestLocation): LoaderManifest {
  const m: LoaderManifest = {
    entries: [],
    meta: { content_length: 0, record_count: 0 },
    cleaner: { run_id: run.id, source: run.source, rules_hash: run.schema_hash, version: VERSION, errors: [], quarantined: [], already_delivered: [] },
  };
  const entry = (o: DeliveredObject, kind: keyof DeliveredFiles, bytes: number, records: number): ManifestEntry => ({
    url: `s3://${dest.bucket}/${destKey(dest, kind, o.rel_path)}`,
    mandatory: true,
    meta: { content_length: bytes, record_count: records },
  });
  for (const o of deliveredByRun(db, run.id, dest.uri)) {
    const files = JSON.parse(o.files) as DeliveredFiles;
    if (files.errors !== undefined) m.cleaner.errors.push(entry(o, 'errors', files.errors, o.rejected));
    if (files.quarantine !== undefined) m.cleaner.quarantined.push(entry(o, 'quarantine', files.quarantine, o.valid));
    if (files.output === undefined) continue;
    const e = entry(o, 'output', files.output, o.valid);
    if (o.how === 'found') {
      m.cleaner.already_delivered.push(e);
      continue;
    }
    m.entries.push(e);
    m.meta.content_length += e.meta.content_length;
    m.meta.record_count += e.meta.record_count;
  }
  return m;
}
