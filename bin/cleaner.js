#!/usr/bin/env node
// The installed command. The TypeScript sources are compiled to dist/ by `npm ci` (the prepare script).

// cleaner pins an AWS SDK release that supports Node 20; the SDK's notice about *future* releases
// needing Node 22 would land in every cron mail and CI log without telling the user anything to do.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Heaps sized for memory from the start (src/heap-sizing.ts says why), but for `run` and `resume`,
// which size them where a run needs it, after its rules are checked (S3 runs, runs of many objects,
// dry runs: src/commands/drive.ts and dry-run.ts), and `load`, which never does.
const command = process.argv[2];
if (command !== 'run' && command !== 'resume' && command !== 'load') (await import('../dist/heap-sizing.js')).sizeHeapsForMemory();

const { main } = await import('../dist/cli.js');
await main(process.argv.slice(2));
