/**
 * Per-stage costs of the clean hot path on one thread, over the same bytes held in memory (no disk):
 * split at "\n", isUtf8 per chunk, the fast path (fast-path.ts), classify() (fast path + exact path
 * for what it cannot settle), against JSON.parse + ajv per line (the baseline's work, minus readline).
 *
 *   node --import tsx scripts/bench-stages.ts <file.jsonl> [schema.json] [--mb 100]
 *
 * Prints MB per CPU-second per stage; it never asserts a time.
 */
import { isUtf8 } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import { loadRules } from '../src/validate/schema.js';
import { classify } from '../src/validate/classify.js';

const args = process.argv.slice(2);
const mbAt = args.indexOf('--mb');
const mb = mbAt >= 0 ? Number(args.splice(mbAt, 2)[1]) : 100;
// --only NAME: time just the stages whose name starts with NAME (for a --cpu-prof of one stage).
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args.splice(onlyAt, 2)[1] : '';
const [file, schemaFile] = args;
const buf = Buffer.allocUnsafe(mb * 1e6);
const fd = openSync(file, 'r');
const n = readSync(fd, buf, 0, buf.length, 0);
closeSync(fd);
const data = buf.subarray(0, buf.lastIndexOf(0x0a, n - 1) + 1);
const rules = loadRules(schemaFile);
const starts: number[] = [];
const ends: number[] = [];
for (let p = 0; p < data.length; ) {
  const nl = data.indexOf(0x0a, p);
  starts.push(p);
  ends.push(nl);
  p = nl + 1;
}
const MB = data.length / 1e6;
function time(what: string, f: () => number): void {
  if (!what.startsWith(only)) return;
  f(); // warm-up
  const best: number[] = [];
  let out = 0;
  for (let r = 0; r < 3; r++) {
    // CPU time, not wall time: on a shared machine it is what this thread spent.
    const t = process.cpuUsage();
    out = f();
    const d = process.cpuUsage(t);
    best.push((d.user + d.system) / 1e6);
  }
  const s = Math.min(...best);
  console.log(`${what.padEnd(28)} ${(MB / s).toFixed(0).padStart(6)} MB/s  (${out})`);
}
console.log(`${file}: ${MB.toFixed(0)} MB, ${starts.length} lines, fast path ${rules.fastAccept ? 'on' : 'off'}`);
time('split (indexOf)', () => {
  let c = 0;
  for (let p = 0; p < data.length; c++) p = data.indexOf(0x0a, p) + 1;
  return c;
});
time('isUtf8 (8 MB chunks)', () => {
  let ok = 0;
  for (let p = 0; p < data.length; p += 8 << 20) ok += isUtf8(data.subarray(p, Math.min(data.length, p + (8 << 20)))) ? 1 : 0;
  return ok;
});
const fa = rules.fastAccept!;
if (fa) {
  time('fast path', () => {
    let c = 0;
    for (let k = 0; k < starts.length; k++) if (fa(data, starts[k], ends[k])) c++;
    return c;
  });
}
time('classify', () => {
  let c = 0;
  for (let k = 0; k < starts.length; k++) if (classify(data, starts[k], ends[k], rules, true) === null) c++;
  return c;
});
time('toString+JSON.parse+ajv', () => {
  let c = 0;
  for (let k = 0; k < starts.length; k++) {
    try {
      const v = JSON.parse(data.toString('utf8', starts[k], ends[k]));
      if (v !== null && typeof v === 'object' && rules.isValid(v)) c++;
    } catch {}
  }
  return c;
});
