// Parent that starts s3rver, reports the child pid, then either idles (to be SIGKILLed) or returns without stop().
import { execFileSync } from 'node:child_process';
import { startS3 } from './s3.js';
const s3 = await startS3(process.argv[3] ? { dir: process.argv[3] } : {});
await s3.createBucket('parent-test');
const pid = execFileSync('pgrep', ['-f', 's3rver-child'], { encoding: 'utf8' }).trim();
console.log(JSON.stringify({ childPids: pid, dir: s3.dir }));
if (process.argv[2] === 'idle') setInterval(() => {}, 1000);
// 'forget': fall off the end without stop()
