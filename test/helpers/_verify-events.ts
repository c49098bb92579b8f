import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { generateEvents, gzip, mulberry32 } from './events.js';
const require = createRequire(import.meta.url);
const Ajv = require('ajv').default; const addFormats = require('ajv-formats').default;
const draft06 = require('ajv/dist/refs/json-schema-draft-06.json');
const schema = {
  $schema: 'http://json-schema.org/draft-07/schema#', type: 'object',
  required: ['event_id', 'session_id', 'event_type', 'timestamp'],
  properties: {
    event_id: { type: 'string', format: 'uuid' }, session_id: { type: 'string', format: 'uuid' },
    event_type: { type: 'string', pattern: '\\S' }, timestamp: { type: 'string', format: 'date-time' },
    event_date: { type: 'string', format: 'date' }, user_id: { type: 'string', pattern: '\\S' },
    email: { type: 'string', format: 'email' } } };
const ajv = new Ajv({ strict: false }); ajv.addMetaSchema(draft06); addFormats(ajv, { mode: 'full' });
const v = ajv.compile(schema);
let srcRules: any; try { srcRules = (await import('../../src/validate/schema.js')).loadRules(undefined); } catch (e) { console.log('src loadRules unavailable:', (e as Error).message); }
function classify(line: string, isValid: (d: unknown) => boolean) {
  if (/^[ \t]*$/.test(line)) return 'blank';
  let d: unknown; try { d = JSON.parse(line); } catch { return 'rejected'; }
  if (d === null || typeof d !== 'object' || Array.isArray(d)) return 'rejected';
  return isValid(d) ? 'valid' : 'rejected';
}
for (const [seed, lines, rr, br] of [[1, 200000, undefined, undefined], [42, 50000, 0.5, 0.2], [7, 0, 0, 0], [9, 3000, 1, 0]] as const) {
  const t = Date.now();
  const g = generateEvents({ seed, lines, rejectRate: rr, blankRate: br });
  const ms = Date.now() - t;
  const text = g.data.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(g.data)) throw new Error('not valid utf8');
  const parts = text.split('\n'); if (parts.pop() !== '') throw new Error('last line lacks \\n');
  const c = { valid: 0, rejected: 0, blank: 0 }, c2 = { valid: 0, rejected: 0, blank: 0 };
  let validBytes = 0;
  for (const l of parts) { const k = classify(l, v); c[k]++; if (k === 'valid') validBytes += Buffer.byteLength(l) + 1;
    if (srcRules) c2[classify(l, srcRules.isValid)]++; }
  const ok = parts.length === g.lines && c.valid === g.valid && c.rejected === g.rejected && c.blank === g.blank;
  const ok2 = !srcRules || (c2.valid === g.valid && c2.rejected === g.rejected && c2.blank === g.blank);
  console.log({ seed, lines, got: { v: g.valid, r: g.rejected, b: g.blank }, ajv: c, srcAjv: srcRules ? c2 : null, ok, ok2, bytes: g.data.length, avgValidLine: (validBytes / (c.valid || 1)).toFixed(1), avgAll: (g.data.length / (lines || 1)).toFixed(1), ms });
  if (!ok || !ok2) process.exitCode = 1;
}
const a = generateEvents({ seed: 5, lines: 5000 }), b = generateEvents({ seed: 5, lines: 5000 }), c = generateEvents({ seed: 6, lines: 5000 });
console.log('deterministic', a.data.equals(b.data), 'seed differs', !a.data.equals(c.data), 'gzip roundtrip', gunzipSync(gzip(a.data)).equals(a.data));
const r = mulberry32(1); console.log('mulberry32(1) first 3', r(), r(), r());
// kinds of rejects seen
const g = generateEvents({ seed: 3, lines: 400, rejectRate: 1, blankRate: 0 });
console.log(g.data.toString().split('\n').slice(0, 25).map(l => l.length > 110 ? l.slice(0, 60) + ' … ' + l.slice(-40) : l).join('\n'));
console.log(generateEvents({ seed: 3, lines: 2, rejectRate: 0, blankRate: 0 }).data.toString());
try { generateEvents({ seed: 1, lines: 5, rejectRate: 0.8, blankRate: 0.3 }); } catch (e) { console.log('range check:', (e as Error).message); }
