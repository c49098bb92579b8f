/**
 * The straightforward Node cleaner that `npm run bench` measures cleaner against: node:readline,
 * JSON.parse, one ajv schema compiled once with ajv-formats (its default, full mode), and fs write
 * streams; one thread, one file after another. Same rules as cleaner: its default ones
 * (src/validate/default-schema.ts), or the schema file given, compiled as ajv compiles it by default
 * (no `allErrors`), for the draft its `$schema` names.
 *
 *   node --import tsx scripts/bench-baseline.ts <source-dir> <out-dir> [schema.json]
 *
 * Writes <out-dir>/output/<rel> (accepted lines, each followed by "\n") and <out-dir>/errors/<rel>
 * (one JSON reject record per line), then prints {"lines":…,"valid":…,"rejected":…,"blank":…} on stdout.
 */
import { createReadStream, createWriteStream, mkdirSync, readdirSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import AjvDraft04Module from 'ajv-draft-04';
import addFormatsModule from 'ajv-formats';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };
import { defaultSchema } from '../src/validate/default-schema.js';

const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as typeof import('ajv-formats').default;
const AjvDraft04 = ((AjvDraft04Module as any).default ?? AjvDraft04Module) as typeof import('ajv-draft-04').default;

const [source, outDir, schemaFile] = process.argv.slice(2);
if (!source || !outDir) {
  process.stderr.write('usage: bench-baseline.ts <source-dir> <out-dir>\n');
  process.exit(2);
}

const schema = schemaFile ? JSON.parse(readFileSync(schemaFile, 'utf8')) : defaultSchema;
const draft = String(schema.$schema ?? '');
const ajv = /2020-12/.test(draft) ? new Ajv2020({ strict: false }) : /2019-09/.test(draft) ? new Ajv2019({ strict: false }) : /draft-04/.test(draft) ? (new AjvDraft04({ strict: false }) as unknown as Ajv) : new Ajv({ strict: false });
if (/draft-06/.test(draft)) ajv.addMetaSchema(draft06);
addFormats(ajv);
const validate = ajv.compile(schema);

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
