import { startS3 } from './test/helpers/s3.js';
import { startFaultProxy, FAULT_KINDS } from './test/helpers/fault-proxy.js';
import { makeClient } from './src/s3/client.js';
import { ListObjectsV2Command, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
const s3 = await startS3();
await s3.createBucket('bkt');
for (let i = 0; i < 5; i++) await s3.put('bkt', `k/${i} x.jsonl`, Buffer.alloc(100000, 97));
process.env.AWS_ACCESS_KEY_ID = 'S3RVER'; process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
process.env.CLEANER_S3_IDLE_TIMEOUT_MS = '1500';
for (const kind of FAULT_KINDS) {
  const p = await startFaultProxy({ target: s3.endpoint, rate: 1, kinds: [kind], verifyCredentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  const c = makeClient({ endpoint: p.endpoint });
  const t = Date.now();
  try {
    const r = await c.send(new ListObjectsV2Command({ Bucket: 'bkt', Prefix: 'k/' }));
    console.log(kind, 'list ok', r.Contents?.length);
  } catch (e: any) { console.log(kind, 'list err', e.name, e.code, e.message.slice(0, 100), e.$metadata?.attempts, Date.now() - t, 'ms'); }
  console.log('  injected', p.injected[kind], p.requests);
  const t2 = Date.now();
  try {
    const r = await c.send(new HeadObjectCommand({ Bucket: 'bkt', Key: 'k/1 x.jsonl' }));
    console.log(kind, 'head ok');
  } catch (e: any) { console.log(kind, 'head err', e.name, e.code, e.message.slice(0, 100), e.$metadata?.attempts, Date.now() - t2, 'ms'); }
  p.setRate(0);
  const r = await c.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'k/1 x.jsonl', IfMatch: '"nope"' })).catch((e) => e);
  console.log('  ifmatch', r.name, r.$metadata?.httpStatusCode);
  c.destroy(); await p.stop();
}
{
  const p = await startFaultProxy({ target: s3.endpoint, verifyCredentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  process.env.AWS_SECRET_ACCESS_KEY = 'WRONG';
  const c = makeClient({ endpoint: p.endpoint });
  const r = await c.send(new ListObjectsV2Command({ Bucket: 'bkt', Prefix: 'k/' })).catch((e) => e);
  console.log('wrong secret via proxy', r.name, r.$metadata?.httpStatusCode);
  const c2 = makeClient({ endpoint: s3.endpoint });
  const r2 = await c2.send(new ListObjectsV2Command({ Bucket: 'bkt', Prefix: 'k/' })).catch((e) => e);
  console.log('wrong secret direct', r2.name ?? r2.Contents?.length);
  c.destroy(); c2.destroy(); await p.stop();
}
await s3.stop();
