/**
 * Writes JSON-lines data for `npm run bench -- --schema FILE --data DIR` when the rules are not the
 * built-in ones (whose data bench.ts generates itself):
 *
 *   node --import tsx scripts/bench-data.ts nested  --out DIR [--size 200MB] [--files 4] [--seed 1]
 *       orders for test/fixtures/schemas/orders-nested.json: arrays of objects three deep, about 3%
 *       of lines broken in one of several ways
 *   node --import tsx scripts/bench-data.ts octokit --out DIR [--size 200MB] [--files 4] [--seed 1]
 *       GitHub's published webhook example payloads (@octokit/webhooks-examples, a devDependency,
 *       read from node_modules, never copied into the repository) in a seeded order, for the
 *       schema @octokit/webhooks-schemas ships (node_modules/@octokit/webhooks-schemas/schema.json)
 *
 * Same options, same bytes. Files are named part-NNNN.jsonl; each stops at its share of --size.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../test/helpers/events.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string' }, size: { type: 'string', default: '200MB' }, files: { type: 'string', default: '4' }, seed: { type: 'string', default: '1' } },
});
const kind = positionals[0];
if ((kind !== 'nested' && kind !== 'octokit') || values.out === undefined) {
  process.stderr.write('usage: bench-data.ts nested|octokit --out DIR [--size 200MB] [--files 4] [--seed 1]\n');
  process.exit(2);
}
const size = Number(/^(\d+)MB$/i.exec(values.size!)?.[1] ?? NaN) * 1e6;
if (!Number.isFinite(size)) throw new Error(`--size: expected e.g. 200MB, got ${values.size}`);
const files = Number(values.files);
const rand = mulberry32(Number(values.seed));
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(0, 15)]).join('');

/** One order; about 3% break one rule somewhere in their nesting. */
function order(): unknown {
  const lines = Array.from({ length: int(1, 8) }, () => ({
    sku: `${pick(['ABC', 'XYZ', 'QRS'])}-${String(int(0, 9999)).padStart(4, '0')}`,
    quantity: int(1, 20),
    price: { amount: int(1, 99999) / 100, currency: pick(['EUR', 'USD', 'GBP']) },
    ...(rand() < 0.5 ? { options: [{ name: 'size', value: pick(['S', 'M', 'L']) }, { name: 'gift', value: rand() < 0.5 }] } : {}),
  }));
  const o: Record<string, any> = {
    order_id: `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`,
    placed_at: `2026-${String(int(1, 12)).padStart(2, '0')}-${String(int(1, 28)).padStart(2, '0')}T${String(int(0, 23)).padStart(2, '0')}:${String(int(0, 59)).padStart(2, '0')}:00Z`,
    status: pick(['placed', 'paid', 'shipped', 'delivered']),
    customer: { id: `c_${int(1, 99999)}`, email: `user${int(1, 9999)}@example.com`, tags: rand() < 0.3 ? ['vip', 'newsletter'] : [] },
    lines,
    shipments: Array.from({ length: int(0, 3) }, () => ({
      carrier: pick(['dhl', 'ups', 'post']),
      shipped_on: `2026-${String(int(1, 12)).padStart(2, '0')}-${String(int(1, 28)).padStart(2, '0')}`,
      parcels: Array.from({ length: int(1, 3) }, () => ({ weight_g: int(50, 20000), items: lines.slice(0, int(1, lines.length)).map((l) => ({ sku: l.sku, quantity: l.quantity })) })),
    })),
    notes: rand() < 0.2 ? 'Leave at the door, bitte. Ünterschrift nicht nötig 📦' : null,
  };
  if (rand() < 0.03) {
    const breakage = int(0, 5);
    if (breakage === 0) o.lines[0].quantity = 0;
    else if (breakage === 1) o.lines[0].price.currency = 'BTC';
    else if (breakage === 2) o.customer.email = 'not an email';
    else if (breakage === 3 && o.shipments.length) o.shipments[0].parcels[0].weight_g = 0;
    else if (breakage === 4) o.extra = true;
    else o.placed_at = '2026-02-30T00:00:00Z';
  }
  return o;
}

/** GitHub's example payloads, flattened; read from node_modules at run time. */
function octokitExamples(): unknown[] {
  const require = createRequire(import.meta.url);
  const events = require('@octokit/webhooks-examples/api.github.com/index.json') as Array<{ examples: unknown[] }>;
  return events.flatMap((e) => e.examples);
}

const examples = kind === 'octokit' ? octokitExamples() : [];
const next = kind === 'octokit' ? () => pick(examples) : order;
const out = resolve(values.out);
mkdirSync(out, { recursive: true });
const share = Math.ceil(size / files);
for (let f = 0; f < files; f++) {
  const fd = openSync(join(out, `part-${String(f).padStart(4, '0')}.jsonl`), 'w');
  let bytes = 0;
  while (bytes < share) {
    const parts: string[] = [];
    for (let n = 0; n < 200; n++) parts.push(JSON.stringify(next()) + '\n');
    const buf = Buffer.from(parts.join(''), 'utf8');
    writeSync(fd, buf);
    bytes += buf.length;
  }
  closeSync(fd);
}
process.stderr.write(`bench-data: ${kind}, ${files} file(s) of about ${Math.round(share / 1e6)} MB in ${out}\n`);
