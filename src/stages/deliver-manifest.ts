/**
 * What a warehouse loader reads, written after every file of the run is at the destination:
 * `_runs/<name>.json` (the run report), then `_manifests/<name>.json` last, so a loader polling
 * `_manifests/` never sees a manifest naming a file that is not complete.
 *
 * The manifest is Redshift's COPY manifest, shaped as UNLOAD's `MANIFEST VERBOSE` writes it (which
 * COPY reads back): `entries` of {url, mandatory, meta: {content_length, record_count}}, a total
 * `meta`, plus a `cleaner` section (ignored by COPY) with the rules hash, the errors and
 * quarantined files, and files found already delivered when the state had been lost. It is
 * written to a local file a line at a time and uploaded from there: memory stays flat in the
 * number of objects.
 */
import type { Db } from '../state/db.js';
import { closeSync, openSync, writeSync } from 'node:fs';
import { eachDeliveredByRun, type DeliveredFiles, type DeliveredObject, type RunRow } from '../state/queries.js';
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

/**
 * The figures of a written manifest; its entries went to the file. Shaped as the manifest's own
 * `entries` (its length) and `meta`, so a caller reads them as it would the manifest.
 */
export interface ManifestFigures {
  entries: { length: number };
  meta: { content_length: number; record_count: number };
}

/**
 * Writes the manifest of the files run `run` delivered to `dest` into the local file `path`, an
 * entry at a time: it grows with the run's objects, and a run of millions must not hold it in
 * memory. The file is `{entries, meta, cleaner: {run_id, source, rules_hash, version, errors,
 * quarantined, already_delivered}}`: `cleaner.errors` are the reject records, one per object with
 * rejects (not for the warehouse table); `quarantined`, outputs held back by the quality gate;
 * `already_delivered`, outputs this run found at the destination from the same ETag and rules
 * (the state was lost: an earlier run's manifest may list them).
 */
export function writeLoaderManifest(db: Db, run: RunRow, dest: DestLocation, path: string): ManifestFigures {
  const out = new JsonWriter(path);
  try {
    const entry = (o: DeliveredObject, kind: keyof DeliveredFiles, bytes: number, records: number): ManifestEntry => ({
      url: `s3://${dest.bucket}/${destKey(dest, kind, o.rel_path)}`,
      mandatory: true,
      meta: { content_length: bytes, record_count: records },
    });
    /** Writes `"name": [...]` from the entries `pick` makes of each delivered object (one pass over them). */
    const list = (name: string, indent: string, pick: (o: DeliveredObject, files: DeliveredFiles) => ManifestEntry | undefined): number => {
      out.write(`${indent}${JSON.stringify(name)}: [`);
      let n = 0;
      for (const o of eachDeliveredByRun(db, run.id, dest.uri)) {
        const e = pick(o, JSON.parse(o.files) as DeliveredFiles);
        if (e) out.write(`${n++ === 0 ? '' : ','}\n${indent}  ${JSON.stringify(e)}`);
      }
      out.write(n === 0 ? ']' : `\n${indent}]`);
      return n;
    };
    const meta = { content_length: 0, record_count: 0 };
    out.write('{\n');
    const entries = list('entries', '  ', (o, files) => {
      if (files.output === undefined || o.how === 'found') return undefined;
      meta.content_length += files.output;
      meta.record_count += o.valid;
      return entry(o, 'output', files.output, o.valid);
    });
    out.write(`,\n  "meta": ${JSON.stringify(meta)},\n  "cleaner": {\n`);
    const head = { run_id: run.id, source: run.source, rules_hash: run.schema_hash, version: VERSION };
    for (const [k, v] of Object.entries(head)) out.write(`    ${JSON.stringify(k)}: ${JSON.stringify(v)},\n`);
    list('errors', '    ', (o, files) => (files.errors === undefined ? undefined : entry(o, 'errors', files.errors, o.rejected)));
    out.write(',\n');
    list('quarantined', '    ', (o, files) => (files.quarantine === undefined ? undefined : entry(o, 'quarantine', files.quarantine, o.valid)));
    out.write(',\n');
    list('already_delivered', '    ', (o, files) => (files.output === undefined || o.how !== 'found' ? undefined : entry(o, 'output', files.output, o.valid)));
    out.write('\n  }\n}\n');
    out.close();
    return { entries: { length: entries }, meta };
  } catch (err) {
    out.close();
    throw err;
  }
}

/** Appends text to a file through a 64 KiB buffer. */
class JsonWriter {
  private readonly fd: number;
  private pending: string[] = [];
  private size = 0;
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  write(s: string): void {
    this.pending.push(s);
    this.size += s.length;
    if (this.size >= 1 << 16) this.flush();
  }
  private flush(): void {
    if (this.pending.length) writeSync(this.fd, this.pending.join(''));
    this.pending = [];
    this.size = 0;
  }
  close(): void {
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
    }
  }
}
