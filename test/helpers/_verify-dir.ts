import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startS3 } from './s3.js';
process.removeAllListeners('warning');
const dir = join(mkdtempSync(join(tmpdir(), 'own-')), 'nested', 's3');
const a = await startS3({ dir });
await a.createBucket('keep');
await a.put('keep', 'a/b.txt', 'persist me');
await a.stop();
console.log('own dir kept after stop', existsSync(dir));
const b = await startS3({ dir });
console.log('restart on same dir reads old object:', (await b.get('keep', 'a/b.txt')).toString(), 'new port differs', a.port !== b.port);
// parallel servers
const many = await Promise.all([startS3(), startS3(), startS3()]);
console.log('parallel ports', many.map((s) => s.port).join(','));
await Promise.all([b.stop(), ...many.map((s) => s.stop())]);
rmSync(join(dir, '..', '..'), { recursive: true });
