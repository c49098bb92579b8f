/**
 * What explaining a rejected line costs (src/validate/explain.ts): the first pass over a file's
 * rejects (the explainer built, every branch it reaches compiled), then steady-state passes over the
 * same rejects, against deciding them (`isValid`, the rules' own fail-fast validator) in the same
 * process as the baseline, and the heap after a full GC at the end of each pass.
 *
 *   node --import tsx scripts/bench-explain.ts <file.jsonl> [schema.json] [--passes 5] [--mb 20]
 *
 * Without a schema the built-in rules are used. Only lines that parse to a JSON object are kept (as
 * the cleaner does before validating). Prints figures; it never asserts a time.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadRules } from '../src/validate/schema.js';

const args = process.argv.slice(2);
const option = (name: string, dflt: number): number => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args.splice(at, 2)[1]) : dflt;
};
const passes = option('--passes', 5);
const mb = option('--mb', 20);
const [file, schemaFile] = args;
if (!file) {
  console.error('usage: bench-explain.ts <file.jsonl> [schema.json] [--passes 5] [--mb 20]');
  process.exit(2);
}

// A full GC before each heap reading, so growth across passes is retained memory, not garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMb = (): number => {
  gc();
  return process.memoryUsage().heapUsed / 1e6;
};

const buf = Buffer.allocUnsafe(mb * 1e6);
const fd = openSync(file, 'r');
const n = readSync(fd, buf, 0, buf.length, 0);
closeSync(fd);
const text = buf.subarray(0, buf.lastIndexOf(0x0a, n - 1) + 1).toString('utf8');
const values: unknown[] = [];
for (const line of text.split('\n')) {
  try {
    const v: unknown = JSON.parse(line);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) values.push(v);
  } catch {
    // not JSON: the cleaner rejects it before any schema is asked
  }
}

let t = performance.now();
const rules = loadRules(schemaFile);
const compileMs = performance.now() - t;
const rejects = values.filter((v) => !rules.isValid(v));
const cpuMs = (since: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};
console.log(`${schemaFile ?? 'built-in rules'}: ${rejects.length} rejects of ${values.length} objects (${(text.length / 1e6).toFixed(1)} MB); rules compiled in ${compileMs.toFixed(0)} ms`);
console.log(`machine: ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; heap before explaining ${heapMb().toFixed(1)} MB`);
if (rejects.length === 0) process.exit(0);

/** Deciding the same rejects, the baseline each pass is compared with (ms per reject, CPU). */
const decide = (): number => {
  const c = process.cpuUsage();
  for (let r = 0; r < 20; r++) for (const v of rejects) rules.isValid(v);
  return cpuMs(c) / rejects.length / 20;
};
decide();
/** Steady passes' CPU per reject, explaining and deciding: the fastest of each is the least disturbed by other load. */
const steady: Array<{ cpu: number; base: number }> = [];
for (let pass = 0; pass <= passes; pass++) {
  const base = decide();
  const c = process.cpuUsage();
  t = performance.now();
  let errors = 0;
  let total = 0;
  for (const v of rejects) {
    const e = rules.explain(v);
    errors += e.errors.length;
    total += e.total;
  }
  const wall = (performance.now() - t) / rejects.length;
  const cpu = cpuMs(c) / rejects.length;
  if (pass > 0) steady.push({ cpu, base });
  console.log(
    `${pass === 0 ? 'first pass' : `pass ${pass}    `}: ${wall.toFixed(3)} ms/reject wall, ${cpu.toFixed(3)} CPU (${(cpu / base).toFixed(0)}× deciding, ${(base * 1000).toFixed(1)} µs); ` +
      `errors kept ${(errors / rejects.length).toFixed(1)}, total ${(total / rejects.length).toFixed(1)}; heap ${heapMb().toFixed(1)} MB`,
  );
}
if (steady.length > 0) {
  const cpu = Math.min(...steady.map((p) => p.cpu));
  const base = Math.min(...steady.map((p) => p.base));
  console.log(`fastest steady pass: ${cpu.toFixed(3)} ms/reject CPU; fastest deciding ${(base * 1000).toFixed(1)} µs/reject (${(cpu / base).toFixed(1)}×)`);
}
