import { PutObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startS3 } from './s3.js';
process.removeAllListeners('warning');
const s3 = await startS3();
await s3.createBucket('bkt');
const plain = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
const body = Buffer.from('x'.repeat(100) + '\n');
try {
  await plain.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'stream.txt', Body: Readable.from([body]), ContentLength: body.length }));
  const got = await s3.get('bkt', 'stream.txt');
  console.log('default-checksum stream put stored identical?', got.equals(body), got.length, JSON.stringify(got.toString().slice(0, 80)));
} catch (e) { console.log('stream put error', (e as Error).name, (e as Error).message.slice(0, 200)); }
try {
  await s3.client.send(new PutObjectCommand({ Bucket: 'bkt', Key: 'stream2.txt', Body: Readable.from([body]), ContentLength: body.length }));
  console.log('WHEN_REQUIRED stream put identical?', (await s3.get('bkt', 'stream2.txt')).equals(body));
} catch (e) { console.log('stream put error (helper client)', (e as Error).name, (e as Error).message.slice(0, 200)); }
plain.destroy();
await s3.stop();

// without --openssl-legacy-provider
const dir = mkdtempSync(join(tmpdir(), 'why-'));
const child = spawn(process.execPath, [new URL('./s3rver-child.mjs', import.meta.url).pathname, dir], { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['pipe', 'pipe', 'inherit'] });
const port: number = await new Promise((res) => child.stdout!.once('data', (d) => res(JSON.parse(String(d)).port)));
const c = new S3Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', maxAttempts: 1 });
const { CreateBucketCommand } = await import('@aws-sdk/client-s3');
await c.send(new CreateBucketCommand({ Bucket: 'bkt' }));
let i = 0; const keys = Array.from({ length: 1001 }, (_, j) => `k${j}`);
await Promise.all(Array.from({ length: 16 }, async () => { while (i < keys.length) await c.send(new PutObjectCommand({ Bucket: 'bkt', Key: keys[i++], Body: 'x' })); }));
try { const r = await c.send(new ListObjectsV2Command({ Bucket: 'bkt' })); console.log('no legacy provider: page1', r.KeyCount, 'token', !!r.NextContinuationToken);
  const r2 = await c.send(new ListObjectsV2Command({ Bucket: 'bkt', ContinuationToken: r.NextContinuationToken })); console.log('page2', r2.KeyCount); }
catch (e) { console.log('no legacy provider: list error', (e as Error).name, (e as any).$metadata?.httpStatusCode); }
c.destroy(); child.kill('SIGTERM');
