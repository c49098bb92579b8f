/**
 * The deployment files cannot drift from the CLI: each one's command and environment are run as
 * they are written (with --dry-run, against a real S3 server standing in for AWS), and the job
 * settings the README's retry story relies on are checked.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { startS3, type S3Server } from '../helpers/s3.js';
import { runCli } from '../helpers/cli.js';
import { shardOf } from '../../src/keys/shard.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KEYS = Array.from({ length: 40 }, (_, i) => `events/2026/11/30/part-${i}.jsonl`);

let s3: S3Server;
let cwd: string;

/** Runs the container's arguments with its environment, as the job engine would, plus --dry-run. */
async function dryRun(args: string[], env: Record<string, string>) {
  // Inside the container /work is the volume; here a temp dir stands in for it.
  const local = args.map((a) => a.replace(/^\/work/, cwd));
  return runCli([...local, '--dry-run'], { cwd, env: { ...env, ...s3.env() } });
}

function containerOf(doc: any): { args: string[]; env: Record<string, string>; spec: any } {
  const spec = doc.kind === 'CronJob' ? doc.spec.jobTemplate.spec : doc.spec;
  const c = spec.template.spec.containers[0];
  return { args: c.args, env: Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value])), spec };
}

describe('deployment files', () => {
  before(async () => {
    s3 = await startS3();
    for (const b of ['my-events', 'my-clean-events']) await s3.createBucket(b);
    await s3.putMany('my-events', KEYS.map((k) => [k, '{"a":1}\n'] as [string, string]));
    cwd = mkdtempSync(join(tmpdir(), 'cleaner-deploy-'));
  });
  after(async () => {
    await s3?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  for (const file of ['deploy/kubernetes/indexed-job.yaml', 'deploy/kubernetes/cronjob.yaml']) {
    test(`${file}: an Indexed Job whose pods each take their shard, as the CLI understands it`, async () => {
      const { args, env, spec } = containerOf(parse(readFileSync(join(ROOT, file), 'utf8')));
      assert.equal(spec.completionMode, 'Indexed');
      assert.equal(spec.completions, spec.parallelism);
      assert.equal(Number(env.CLEANER_SHARDS), spec.completions, 'CLEANER_SHARDS is the number of completions');
      assert.equal(spec.podReplacementPolicy, 'Failed');
      assert.ok(spec.backoffLimitPerIndex >= 1);
      for (let index = 0; index < spec.completions; index++) {
        const r = await dryRun(args, { ...env, JOB_COMPLETION_INDEX: String(index) });
        assert.equal(r.code, 0, r.stderr);
        const mine = KEYS.filter((k) => shardOf(k, spec.completions) === index);
        assert.match(r.stdout, new RegExp(`${mine.length} object\\(s\\) to clean .*${KEYS.length - mine.length} in other shards`));
      }
    });
  }

  test('deploy/aws-batch/job-definition.json: an array child takes its shard from AWS_BATCH_JOB_ARRAY_INDEX and _SIZE', async () => {
    const def = JSON.parse(readFileSync(join(ROOT, 'deploy/aws-batch/job-definition.json'), 'utf8'));
    const env = Object.fromEntries(def.containerProperties.environment.map((e: { name: string; value: string }) => [e.name, e.value]));
    assert.ok(def.retryStrategy.attempts >= 2, 'a failed child is retried');
    const r = await dryRun(def.containerProperties.command, { ...env, AWS_BATCH_JOB_ARRAY_INDEX: '1', AWS_BATCH_JOB_ARRAY_SIZE: '8' });
    assert.equal(r.code, 0, r.stderr);
    const mine = KEYS.filter((k) => shardOf(k, 8) === 1).length;
    assert.match(r.stdout, new RegExp(`${mine} object\\(s\\) to clean .*${KEYS.length - mine} in other shards`));
  });

  test('the Dockerfile runs the installed command as a non-root user with /work as the volume', () => {
    const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    assert.match(text, /^FROM node:20/m);
    assert.match(text, /npm prune --omit=dev/);
    assert.match(text, /^USER 10001$/m);
    assert.match(text, /^ENTRYPOINT \["cleaner"\]$/m);
    assert.match(text, /^VOLUME \/work$/m);
    // What the image copies must exist, or the build breaks.
    for (const m of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) for (const p of m[1].split(/\s+/)) assert.ok(existsSync(join(ROOT, p)), `${p} is in the repository`);
  });
});
