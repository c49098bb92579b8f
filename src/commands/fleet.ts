/**
 * The whole job at a glance, from the destination alone (no state file, from any laptop): every
 * shard's latest run report under `<dest>/_runs/`, their union, and a quality gate over it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand, ListObjectsV2Command } from '../s3/sdk.js';
import { CleanerError, ExitCode, S3PermanentError } from '../errors.js';
import { parseDest, type DestLocation } from '../s3/dest.js';
import { makeClient } from '../s3/client.js';

/** One shard's latest run, as its report at the destination tells it. */
export interface ShardView {
  /** `I/N`, or null for a run without shards. */
  shard: string | null;
  /** The report's name under `_runs/`. */
  name: string;
  run_id: number;
  state: string;
  exit_code: number | null;
  started_at: string;
  finished_at: string | null;
  objects: number;
  objects_failed: number;
  lines: number;
  valid: number;
  rejected: number;
  blank: number;
  error_rate: number;
  gate_breached: boolean | null;
  failed_objects: string[];
}

/** The job: its shards, the shards it expected and has not heard from, and the union of their figures. */
export interface FleetView {
  dest: string;
  shards: ShardView[];
  /** Shard indexes of N that have no report (only when the reports say there are N). */
  missing: number[];
  totals: { objects: number; objects_failed: number; lines: number; valid: number; rejected: number; blank: number; error_rate: number };
}

const NAME = /^(\d{8}T\d{9}Z)-run-(\d+)(?:-shard-(\d+)-of-(\d+))?\.json$/;

/** Reads every run report under `<dest>/_runs/` and keeps each shard's latest. */
export async function fleetView(dest: string, s3: { endpoint?: string; region?: string }): Promise<FleetView> {
  const where = parseDest(dest);
  const client = makeClient({ endpoint: s3.endpoint, region: s3.region });
  try {
    const latest = new Map<string, { key: string; name: string; shard: string | null; count: number | null }>();
    for (const key of await listRuns(client, where)) {
      const name = key.slice(`${where.prefix}_runs/`.length);
      const m = NAME.exec(name);
      if (!m) continue;
      const shard = m[3] !== undefined ? `${m[3]}/${m[4]}` : null;
      // Names start with the run's start time, so the last in key order is the newest.
      const id = shard ?? '';
      const prev = latest.get(id);
      if (!prev || prev.name < name) latest.set(id, { key, name, shard, count: m[4] !== undefined ? Number(m[4]) : null });
    }
    const shards: ShardView[] = [];
    for (const l of [...latest.values()].sort((a, b) => shardIndex(a.shard) - shardIndex(b.shard))) shards.push(viewOf(l.name, l.shard, await getJson(client, where.bucket, l.key)));
    // A job split N ways is complete only when every shard has reported under the latest N.
    const counts = [...latest.values()].map((l) => l.count).filter((c): c is number => c !== null);
    const n = counts.length ? Math.max(...counts) : 0;
    const seen = new Set(shards.filter((s) => s.shard?.endsWith(`/${n}`)).map((s) => shardIndex(s.shard)));
    const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !seen.has(i));
    const sum = (f: (s: ShardView) => number) => shards.reduce((a, s) => a + f(s), 0);
    const valid = sum((s) => s.valid);
    const rejected = sum((s) => s.rejected);
    return {
      dest: where.uri,
      shards,
      missing,
      totals: { objects: sum((s) => s.objects), objects_failed: sum((s) => s.objects_failed), lines: sum((s) => s.lines), valid, rejected, blank: sum((s) => s.blank), error_rate: valid + rejected > 0 ? rejected / (valid + rejected) : 0 },
    };
  } finally {
    client.destroy();
  }
}

function shardIndex(shard: string | null): number {
  return shard === null ? -1 : Number(shard.split('/')[0]);
}

async function listRuns(client: S3Client, where: DestLocation): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: where.bucket, Prefix: `${where.prefix}_runs/`, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (err) {
    throw new S3PermanentError(`cannot list ${where.uri}_runs/: ${(err as Error).name}: ${(err as Error).message}`);
  }
  return keys;
}

async function getJson(client: S3Client, bucket: string, key: string): Promise<any> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await res.Body!.transformToString('utf8'));
}

function viewOf(name: string, shard: string | null, r: any): ShardView {
  const t = r.totals ?? {};
  return {
    shard,
    name,
    run_id: r.run?.id,
    state: r.run?.state,
    exit_code: r.run?.exit_code ?? null,
    started_at: r.run?.started_at,
    finished_at: r.run?.finished_at ?? null,
    objects: t.objects ?? 0,
    objects_failed: t.objects_failed ?? 0,
    lines: t.lines ?? 0,
    valid: t.valid ?? 0,
    rejected: t.rejected ?? 0,
    blank: t.blank ?? 0,
    error_rate: t.error_rate ?? 0,
    gate_breached: r.gate ? Boolean(r.gate.breached) : null,
    failed_objects: (r.objects ?? []).filter((o: any) => o.outcome === 'failed').map((o: any) => o.key),
  };
}

/** The fleet as text. */
export function formatFleet(v: FleetView): string {
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const out = [`destination ${v.dest}`];
  if (!v.shards.length) out.push('no run reports under _runs/ yet');
  for (const s of v.shards) {
    out.push(
      `${(s.shard ? `shard ${s.shard}` : 'run').padEnd(12)} run ${s.run_id} ${s.state} (exit ${s.exit_code ?? '-'})  ${s.objects} objects, ${s.objects_failed} failed  ${s.lines} lines, ${s.rejected} rejected (${pct(s.error_rate)})${s.gate_breached ? '  GATE BREACHED' : ''}`,
    );
    for (const k of s.failed_objects.slice(0, 5)) out.push(`  failed: ${k}`);
  }
  if (v.missing.length) out.push(`missing      no report from shard(s) ${v.missing.join(', ')}`);
  const t = v.totals;
  out.push(`total        ${t.objects} objects, ${t.objects_failed} failed, ${t.lines} lines: ${t.valid} valid, ${t.rejected} rejected, ${t.blank} blank; error rate ${pct(t.error_rate)}`);
  return out.join('\n') + '\n';
}

/** The run-level gate over every shard: throws (exit 5, or 4 when shards are missing or failed) when the union must not be loaded. */
export function judgeFleet(v: FleetView, limits: { maxErrorRate: number | null; maxRejects: number | null }): string {
  const problems: string[] = [];
  if (!v.shards.length) throw new CleanerError(`no run reports under ${v.dest}_runs/: nothing to judge`, ExitCode.objectsFailed);
  if (v.missing.length) throw new CleanerError(`shard(s) ${v.missing.join(', ')} have not reported: the job is not complete`, ExitCode.objectsFailed);
  const unfinished = v.shards.filter((s) => s.state !== 'done' || s.objects_failed > 0);
  if (unfinished.length) throw new CleanerError(`${unfinished.map((s) => s.shard ?? `run ${s.run_id}`).join(', ')}: not done or with failed objects`, ExitCode.objectsFailed);
  if (limits.maxErrorRate !== null && v.totals.error_rate > limits.maxErrorRate) problems.push(`error rate ${(v.totals.error_rate * 100).toFixed(2)}% is above ${(limits.maxErrorRate * 100).toFixed(2)}%`);
  if (limits.maxRejects !== null && v.totals.rejected > limits.maxRejects) problems.push(`${v.totals.rejected} rejected lines, more than ${limits.maxRejects}`);
  if (problems.length) throw new CleanerError(`quality gate breached over ${v.shards.length} shard(s): ${problems.join('; ')}`, ExitCode.gateBreached);
  return `quality gate passed over ${v.shards.length} shard(s): error rate ${(v.totals.error_rate * 100).toFixed(2)}%, ${v.totals.rejected} rejected of ${v.totals.valid + v.totals.rejected}`;
}
