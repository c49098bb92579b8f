/**
 * The straightforward Node cleaner that `npm run bench` measures cleaner against: node:readline,
 * JSON.parse, one ajv schema compiled once with ajv-formats (its default, full mode), and fs write
 * streams; one thread, one file after another. Same default rules as cleaner
 * (src/validate/default-schema.ts).
 *
 *   node --import tsx scripts/bench-baseline.ts <source-dir> <out-dir>
 *
 * Writes <out-dir>/output/<rel> (accepted lines, each followed by "\n") and <out-dir>/errors/<rel>
 * (one JSON reject record per line), then prints {"lines":…,"valid":…,"rejected":…,"blank":…} on stdout.
 */
import { createReadStream, createWriteStream, mkdirSync, readdirSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { defaultSchema } from '../src/validate/default-schema.js';

const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as typeof import('ajv-formats').default;

const [source, outDir] = process.argv.slice(2);
if (!source || !outDir) {
  process.stderr.write('usage: bench-baseline.ts <source-dir> <out-dir>\n');
  process.exit(2);
}

const ajv = new Ajv({ strict: false });
addFormats(ajv);
const validate = ajv.compile(defaultSchema);

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(full));
    else if (e.isFile()) out.push(full);
  }
  return out.sort();
}

async function write(ws: WriteStream, s: string): Promise<void> {
  if (!ws.write(s)) await once(ws, 'drain');
}

async function close(ws: WriteStream): Promise<void> {
  ws.end();
  await once(ws, 'finish');
}

const totals = { lines: 0, valid: 0, rejected: 0, blank: 0 };
for (const file of listFiles(source)) {
  const rel = relative(source, file);
  mkdirSync(dirname(join(outDir, 'output', rel)), { recursive: true });
  mkdirSync(dirname(join(outDir, 'errors', rel)), { recursive: true });
  const out = createWriteStream(join(outDir, 'output', rel));
  const errs = createWriteStream(join(outDir, 'errors', rel));
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    totals.lines++;
    if (line.trim() === '') {
      totals.blank++;
      continue;
    }
    let reason: string;
    let detail: unknown;
    try {
      const value = JSON.parse(line);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        if (validate(value)) {
          totals.valid++;
          await write(out, line + '\n');
          continue;
        }
        reason = 'schema';
        detail = validate.errors;
      } else {
        reason = 'not_object';
        detail = typeof value;
      }
    } catch (err) {
      reason = 'invalid_json';
      detail = (err as Error).message;
    }
    totals.rejected++;
    await write(errs, JSON.stringify({ source: file, line: n, reason, detail, raw: line }) + '\n');
  }
  await close(out);
  await close(errs);
}
process.stdout.write(JSON.stringify(totals) + '\n');
