/**
 * The deliver stage: once an object is published locally, its files go to the --dest bucket
 * (output/ or quarantine/, and errors/), the same bytes, each carrying the source key, source
 * ETag, rules hash, line counts and cleaner version as metadata. Deliveries are tracked in SQLite
 * (migrations/0005_deliveries.sql), so a crash resumes them; the main file goes last, so a
 * destination output that records an ETag and rules hash has its errors file beside it.
 *
 * Without a quality gate each object is delivered as soon as it is cleaned; with one, after the
 * gate has judged the run (a run-level breach moves every output to quarantine/, and a loader must
 * never have seen it in output/).
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Db } from '../state/db.js';
import {
  beginDelivery,
  findObject,
  getDelivery,
  markDelivered,
  keysetPages,
  markFoundAtDest,
  objectsNeverStartedBatch,
  objectsToDeliverBatch,
  type DeliveredFiles,
  type DeliveryKind,
  type ObjectRow,
  type RunRow,
} from '../state/queries.js';
import { parseRunOptions, type RunOptions } from '../settings.js';
import { objectPaths } from '../keys/local-layout.js';
import { makeClient } from '../s3/client.js';
import { destKey, parseDest, type DestLocation } from '../s3/dest.js';
import { abortUpload, anyUnder, deleteObject, headObject, probeWrite, type Target } from '../s3/upload.js';
import { deliverFile, partSizeFor, putFile } from './deliver-file.js';
import { VERSION } from '../version.js';
import { destRunName, writeLoaderManifest, type ManifestFigures } from './deliver-manifest.js';
import type { Logger } from '../log.js';

const KINDS: readonly DeliveryKind[] = ['output', 'quarantine', 'errors'];
/** Objects read from the state at a time: memory stays flat in the number of objects. */
const BATCH = 500;

/** Calls `each` on every row `batch(afterId)` pages through (by object id), a page at a time, at most `limit` at once; settles all, then throws the first failure. */
async function inBatches<T extends { id: number }>(batch: (afterId: number) => T[], limit: ReturnType<typeof pLimit>, each: (row: T) => Promise<void>): Promise<void> {
  let failure: { err: unknown } | undefined;
  for (const rows of keysetPages(batch, (row) => row.id)) {
    const results = await Promise.allSettled(rows.map((row) => limit(() => each(row))));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) failure ??= { err: failed.reason };
  }
  if (failure) throw failure.err;
}

/** A run's delivery to its destination: opened (and checked) before the run downloads anything. */
export class Delivery {
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly pending = new Set<Promise<void>>();
  private failure: Error | undefined;
  /** False once a listing showed no delivered files there: nothing stale can need deleting. */
  private destHasFiles: boolean | undefined;
  /** Objects delivered (uploaded) by this process. */
  delivered = 0;

  private constructor(
    private readonly db: Db,
    private readonly run: RunRow,
    readonly client: S3Client,
    readonly dest: DestLocation,
    private readonly opts: RunOptions,
    private readonly log: Logger,
  ) {
    this.limit = pLimit(opts.concurrency);
  }

  /**
   * The run's delivery, or undefined without --dest. Refuses a destination that cannot be written
   * (AccessDenied, no such bucket) now, before any download, with one typed error.
   */
  static async open(db: Db, run: RunRow, log: Logger): Promise<Delivery | undefined> {
    const opts = parseRunOptions(run.options);
    if (!opts.dest) return undefined;
    const dest = parseDest(opts.dest);
    const client = makeClient({ endpoint: opts.destEndpointUrl ?? run.endpoint, region: opts.destRegion ?? run.region });
    try {
      await probeWrite(client, { bucket: dest.bucket, key: destKey(dest, '_runs', `.write-check-${run.id}`) }, `cannot write to the destination ${dest.uri}`);
    } catch (err) {
      client.destroy();
      throw err;
    }
    return new Delivery(db, run, client, dest, opts, log);
  }

  /** Whether objects are delivered as soon as they are cleaned (no quality gate to wait for). */
  private get eager(): boolean {
    return this.opts.maxErrorRate === null && this.opts.maxRejects === null;
  }

  /** Told when an object of the run is cleaned: delivers it now, unless the gate must judge the run first. */
  cleaned(key: string): void {
    if (!this.eager || this.failure) return;
    const row = findObject(this.db, this.run.target, key);
    if (row?.state !== 'done') return;
    const p = this.limit(() => this.deliverObject(row)).catch((err: Error) => void (this.failure ??= err));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /**
   * Where the state was lost (a container on an empty disk): objects this state never started
   * whose destination output records the same source ETag and rules hash are marked done and
   * skipped as `delivered`, without downloading them. Costs one listing when the destination holds
   * no delivered files, else up to two HEADs per such object.
   */
  async reconcile(): Promise<void> {
    const batch = (afterId: number) => objectsNeverStartedBatch(this.db, this.run.id, afterId, BATCH);
    if (batch(0).length === 0) return;
    const pre = this.dest.prefix;
    this.destHasFiles = (await anyUnder(this.client, this.dest.bucket, `${pre}output/`)) || (await anyUnder(this.client, this.dest.bucket, `${pre}quarantine/`));
    if (!this.destHasFiles) return;
    let found = 0;
    const look = async (row: ObjectRow) => {
      for (const kind of ['output', 'quarantine'] as const) {
        const there = await headObject(this.client, this.target(kind, row));
        if (!there || there.meta['source-etag'] !== row.etag || there.meta['rules-hash'] !== this.run.schema_hash) continue;
        const m = there.meta;
        const files: DeliveredFiles = { [kind]: there.size };
        if (m['errors-bytes']) files.errors = Number(m['errors-bytes']);
        const counts = { lines: Number(m.lines), valid: Number(m.valid), rejected: Number(m.rejected), blank: Number(m.blank) };
        markFoundAtDest(this.db, this.run.id, row, this.run.schema_hash, this.dest.uri, { ...counts, quarantined: kind === 'quarantine', files });
        found++;
        return;
      }
    };
    await inBatches(batch, this.limit, look);
    if (found > 0) this.log.info(`${found} object(s) already at ${this.dest.uri} from the same ETag and rules: not downloaded again`);
  }

  /** Delivers every finished object of the run not yet at the destination as it is now; throws the first failure. */
  async finish(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    if (this.failure) throw this.failure;
    await inBatches((afterId) => objectsToDeliverBatch(this.db, this.run.id, this.dest.uri, afterId, BATCH), this.limit, (row) => this.deliverObject(row));
  }

  /** Writes the run report to `_runs/<name>.json`, then the loader manifest to `_manifests/<name>.json`: last, so it names only complete files. */
  async publish(reportPath: string | null): Promise<ManifestFigures> {
    const name = destRunName(this.run);
    const at = (key: string): Target => ({ bucket: this.dest.bucket, key: `${this.dest.prefix}${key}` });
    // The report as written locally (its objects listed a page at a time), byte for byte.
    if (reportPath) await putFile(this.client, at(`_runs/${name}.json`), reportPath);
    // Both grow with the run's objects: written to disk and sent from there, never held whole.
    const local = join(this.run.local_dir, `.manifest-${name}.json`);
    try {
      const figures = writeLoaderManifest(this.db, this.run, this.dest, local);
      await putFile(this.client, at(this.manifestKey()), local);
      return figures;
    } finally {
      rmSync(local, { force: true });
    }
  }

  /** Where the loader manifest of this run goes, below the destination prefix. */
  manifestKey(): string {
    return `_manifests/${destRunName(this.run)}.json`;
  }

  close(): void {
    this.client.destroy();
  }

  private target(kind: string, row: Pick<ObjectRow, 'rel_path'>): Target {
    return { bucket: this.dest.bucket, key: destKey(this.dest, kind, row.rel_path) };
  }

  /** Puts one object's current files at the destination and removes stale ones; resumable at any point. */
  private async deliverObject(row: ObjectRow): Promise<void> {
    const paths = objectPaths(this.run.local_dir, row.rel_path);
    const local: Record<DeliveryKind, string> = { output: paths.output, quarantine: paths.quarantine, errors: paths.errors };
    const main: DeliveryKind = row.quarantined ? 'quarantine' : 'output';
    if (!existsSync(local[main])) {
      this.log.warn('not delivered: its local files are gone (clean it again: delete the state, or change the rules)', { object: row.key });
      return;
    }
    // The main file last: once it is there, so is everything it describes.
    const kinds: DeliveryKind[] = existsSync(local.errors) ? ['errors', main] : [main];
    const files: DeliveredFiles = Object.fromEntries(kinds.map((k) => [k, statSync(local[k]).size]));
    const prior = getDelivery(this.db, row.id, this.dest.uri);
    // What the destination may hold from before: known from a finished delivery; anything after an
    // unfinished one or a lost state, unless the destination was seen empty.
    const before: DeliveredFiles | readonly DeliveryKind[] =
      prior?.state === 'delivered' ? (JSON.parse(prior.files) as DeliveredFiles) : this.destHasFiles === false ? [] : KINDS;
    const held = (k: DeliveryKind) => (Array.isArray(before) ? before.includes(k) : k in before);
    const stale = beginDelivery(this.db, this.run.id, row, this.dest.uri, kinds.map((k) => ({ kind: k, size: files[k]!, partSize: partSizeFor(files[k]!) })));
    for (const s of stale) await abortUpload(this.client, this.target(s.kind, row), s.upload_id!);
    const meta = this.metadata(row, files);
    for (const kind of kinds) {
      if (kind === main) {
        for (const k of KINDS) if (!kinds.includes(k) && held(k)) await deleteObject(this.client, this.target(k, row));
      }
      await deliverFile({ db: this.db, client: this.client, objectId: row.id, dest: this.dest.uri, kind, path: local[kind], target: this.target(kind, row), meta });
    }
    markDelivered(this.db, row.id, this.dest.uri, files);
    this.delivered++;
    this.log.debug('delivered', { object: row.key, dest: this.dest.uri });
    if (this.opts.deleteLocal) {
      for (const p of [paths.output, paths.quarantine, paths.errors]) rmSync(p, { force: true });
      // A local source is the user's own file: only a download is ours to delete.
      if (this.run.kind === 's3') rmSync(paths.input, { force: true });
    }
  }

  /** The user metadata every delivered file of an object carries (S3 allows 2 KB of it in all). */
  private metadata(row: ObjectRow, files: DeliveredFiles): Record<string, string> {
    const key = encodeURIComponent(row.key);
    return {
      // A key is up to 1,024 bytes, 3 KB once escaped: past 1 KB, its ETag and path identify it.
      'source-key': key.length <= 1024 ? key : '(too long; see the path)',
      'source-etag': row.done_etag ?? row.etag,
      'rules-hash': row.done_schema_hash ?? this.run.schema_hash,
      lines: String(row.lines),
      valid: String(row.valid),
      rejected: String(row.rejected),
      blank: String(row.blank),
      ...(files.errors !== undefined ? { 'errors-bytes': String(files.errors) } : {}),
      'cleaner-version': VERSION,
    };
  }
}
