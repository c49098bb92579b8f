import { ListObjectsV2Command, PutObjectCommand, GetObjectCommand, S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startS3 } from './s3.js';
import { generateEvents, gzip } from './events.js';

const t0 = Date.now();
const s3 = await startS3();
console.log('started', s3.endpoint, s3.dir, `${Date.now() - t0} ms`);
await s3.createBucket('raw');
const entries: Array<[string, string | Buffer]> = [];
for (let i = 0; i < 1200; i++) entries.push([`events/2026/11/${String(i % 7).padStart(2, '0')}/h${i % 24}/part-${String(i).padStart(5, '0')}.jsonl`, `{"i":${i}}\n`]);
const t1 = Date.now();
await s3.putMany('raw', entries);
console.log('putMany 1200', `${Date.now() - t1} ms`);
const keys: string[] = [];
let pages = 0;
for await (const page of paginateListObjectsV2({ client: s3.client, pageSize: 1000 }, { Bucket: 'raw', Prefix: 'events/' })) {
  pages++; for (const o of page.Contents ?? []) keys.push(o.Key!);
}
const uniq = new Set(keys);
console.log('listed', keys.length, 'unique', uniq.size, 'pages', pages, 'all present', entries.every(([k]) => uniq.has(k)));
// manual continuation with default max keys as well
let tok: string | undefined, n = 0, p2 = 0;
do { const r = await s3.client.send(new ListObjectsV2Command({ Bucket: 'raw', ContinuationToken: tok })); n += r.KeyCount ?? 0; tok = r.NextContinuationToken; p2++; } while (tok);
console.log('manual pagination', n, 'pages', p2);
// byte-identical round trip: binary (all byte values) and a gzip of events
const bin = Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 7919) % 256));
const ev = gzip(generateEvents({ seed: 1, lines: 2000 }).data);
await s3.put('raw', 'bin/all-bytes.bin', bin);
await s3.put('raw', 'events/x.jsonl.gz', ev);
console.log('get identical', (await s3.get('raw', 'bin/all-bytes.bin')).equals(bin), (await s3.get('raw', 'events/x.jsonl.gz')).equals(ev),
  (await s3.get('raw', entries[5][0])).toString() === entries[5][1]);
await s3.delete('raw', 'bin/all-bytes.bin');
try { await s3.get('raw', 'bin/all-bytes.bin'); console.log('delete FAILED'); } catch (e) { console.log('after delete get ->', (e as Error).name); }
await s3.delete('raw', 'never-existed');
console.log('delete missing ok');

// env() works for a child process whose SDK client only sets forcePathStyle
const childCode = `import { S3Client, ListObjectsV2Command } from '@aws-sdk/client-s3';
const c = new S3Client({ forcePathStyle: true });
const r = await c.send(new ListObjectsV2Command({ Bucket: 'raw', Prefix: 'events/2026/11/00/h0/' }));
console.log(r.KeyCount);`;
const out = spawnSync(process.execPath, ['--input-type=module', '-e', childCode], { env: { PATH: process.env.PATH!, ...s3.env() }, encoding: 'utf8', cwd: process.cwd() });
console.log('child via env():', out.stdout.trim(), out.stderr.trim().slice(0, 300));

// what happens without the checksum settings (to justify the comment)
const plain = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
try {
  await plain.send(new PutObjectCommand({ Bucket: 'raw', Key: 'cs/a.txt', Body: 'hello\n' }));
  const got = await s3.get('raw', 'cs/a.txt');
  console.log('default-checksum put stored', JSON.stringify(got.toString()));
  const r = await plain.send(new GetObjectCommand({ Bucket: 'raw', Key: 'cs/a.txt' }));
  console.log('default-checksum get', JSON.stringify(await r.Body!.transformToString()));
} catch (e) { console.log('default-checksum client error:', (e as Error).name, (e as Error).message.slice(0, 200)); }
plain.destroy();

const pid = execFileSync('pgrep', ['-f', 's3rver-child'], { encoding: 'utf8' }).trim();
console.log('running child pids before stop:', pid);
const t2 = Date.now();
await Promise.all([s3.stop(), s3.stop()]);
console.log('stopped in', `${Date.now() - t2} ms`, 'dir removed', !existsSync(s3.dir));
const after = spawnSync('pgrep', ['-f', 's3rver-child'], { encoding: 'utf8' });
console.log('pgrep after stop: status', after.status, JSON.stringify(after.stdout));
