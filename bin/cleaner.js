#!/usr/bin/env node
// The installed command. The TypeScript sources are compiled to dist/ by `npm ci` (the prepare script).
import { setFlagsFromString } from 'node:v8';

// cleaner pins an AWS SDK release that supports Node 20; the SDK's notice about *future* releases
// needing Node 22 would land in every cron mail and CI log without telling the user anything to do.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// V8 lets the old generation fill with garbage to several times what is live before collecting it:
// over 6,000 tiny objects the main thread's heap peaked at 82 MB with 16 MB live (RSS 185 MB).
// Sized for memory it peaked at 41 MB (RSS 131 MB) for the same CPU time (two 50 MB files: CPU
// +3 %). Set here, after start, it governs how the heap grows; `node --no-optimize-for-size
// bin/cleaner.js` keeps V8's default (NODE_OPTIONS does not take this flag).
// Not for `cleaner load`: it streams rows through a small live heap, and the smaller young
// generation this flag brings cost it 30 % more CPU in collections (295 scavenges instead of 40).
const loading = process.argv[2] === 'load';
if (!loading && !process.execArgv.some((a) => a.includes('optimize-for-size'))) setFlagsFromString('--optimize-for-size');

const { main } = await import('../dist/cli.js');
await main(process.argv.slice(2));
