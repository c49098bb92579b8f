/**
 * The table a load writes: one typed column per top-level property of the rules, the whole event
 * as `data`, and where each row came from. Also reads those properties out of a line's bytes
 * without building the event (json-scan.ts), so a number keeps its exact digits.
 */
import { QUOTE, skipWs } from '../validate/json-scan.js';

/** The kinds a column can be; each target spells them in its own SQL. */
export type ColumnKind = 'uuid' | 'timestamptz' | 'date' | 'bigint' | 'double' | 'boolean' | 'json' | 'text';

export interface Column {
  name: string;
  kind: ColumnKind;
}

/** Provenance and the whole event, after the typed columns, in this order. */
export const FIXED: readonly Column[] = [
  { name: 'data', kind: 'json' },
  { name: '_source', kind: 'text' },
  { name: '_etag', kind: 'text' },
  { name: '_line', kind: 'bigint' },
  { name: '_run_id', kind: 'bigint' },
];

/** PostgreSQL truncates longer identifiers, so two long names could become one column. */
const MAX_NAME_BYTES = 63;

type Schema = Record<string, unknown>;

/** Follows a local `$ref` (`#/definitions/x`, `#/$defs/x`), a few levels deep. */
function deref(root: Schema, s: unknown, depth = 0): Schema | undefined {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) return undefined;
  const ref = (s as Schema).$ref;
  if (typeof ref !== 'string' || depth > 8) return s as Schema;
  if (!ref.startsWith('#')) return s as Schema;
  let at: unknown = root;
  for (const part of ref.slice(1).split('/').filter(Boolean)) {
    const key = decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~');
    at = at !== null && typeof at === 'object' ? (at as Schema)[key] : undefined;
  }
  return deref(root, at, depth + 1);
}

/** The column kind a property's schema asks for: a typed one only when the schema pins it down. */
function kindOf(root: Schema, prop: unknown): ColumnKind {
  const s = deref(root, prop);
  if (!s) return 'json';
  const types = (Array.isArray(s.type) ? s.type : s.type === undefined ? [] : [s.type]).filter((t) => t !== 'null');
  if (types.length !== 1) return 'json';
  const [t] = types;
  if (t === 'string') return s.format === 'uuid' ? 'uuid' : s.format === 'date-time' ? 'timestamptz' : s.format === 'date' ? 'date' : 'json';
  if (t === 'integer') return 'bigint';
  if (t === 'number') return 'double';
  if (t === 'boolean') return 'boolean';
  return 'json';
}

/** Top-level properties of the rules: the root's, a root `$ref`'s and those of `allOf` members. */
function topProperties(root: Schema): Array<[string, unknown]> {
  const out = new Map<string, unknown>();
  const visit = (s: Schema | undefined, depth: number) => {
    if (!s || depth > 8) return;
    if (s.$ref !== undefined) visit(deref(root, s), depth + 1);
    if (Array.isArray(s.allOf)) for (const m of s.allOf) visit(deref(root, m), depth + 1);
    const props = s.properties;
    if (props && typeof props === 'object') for (const [k, v] of Object.entries(props as Schema)) if (!out.has(k)) out.set(k, v);
  };
  visit(root, 0);
  return [...out];
}

/**
 * The typed columns for a rules text. A property named like a fixed column, with a name longer than
 * PostgreSQL keeps or with a NUL, gets no column of its own (it is still in `data`).
 */
export function columnsOf(schemaText: string): Column[] {
  const root = JSON.parse(schemaText) as Schema;
  const fixed = new Set(FIXED.map((c) => c.name));
  const cols: Column[] = [];
  for (const [name, prop] of topProperties(root)) {
    if (fixed.has(name) || name === '' || name.includes('\0') || Buffer.byteLength(name) > MAX_NAME_BYTES) continue;
    cols.push({ name, kind: kindOf(root, prop) });
  }
  return cols;
}

/** A double-quoted SQL identifier (the same rule in PostgreSQL and DuckDB). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Index after the JSON value at `i` (no whitespace before it), in a line known to be JSON: every
 * output line was parsed by the clean stage, so only strings and brackets need reading, not the
 * grammar (a third of the time json-scan's skipValue took). -1 when the line ends first.
 */
function valueEnd(b: Buffer, i: number, end: number): number {
  let depth = 0;
  for (; i < end; i++) {
    const c = b[i];
    if (c === QUOTE) {
      for (i++; i < end; i++) {
        const d = b[i];
        if (d === 0x5c) i++;
        else if (d === QUOTE) break;
      }
      if (i >= end) return -1;
      if (depth === 0) return i + 1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (--depth <= 0) return depth < 0 ? i : i + 1;
    } else if (depth === 0 && (c === 0x2c || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d)) return i;
  }
  return depth === 0 ? end : -1;
}

/**
 * Where the typed columns' values are in one line of an output file: for column k, its JSON value
 * is bytes [spans[2k], spans[2k+1]), or -1 when the property is absent (a key given twice: its
 * last value, as jsonb keeps). A line that is not a JSON object gives all -1 (its event is still in
 * `data`). Undefined when a key has an escape, or the line is not what the scan expects: use
 * fallbackCells then. The spans array is reused by the next call. Keys are matched on their bytes.
 */
export function makeValueFinder(cols: readonly Column[]): (line: Buffer) => Int32Array | undefined {
  // Columns by the byte length of their name (names over MAX_NAME_BYTES have none).
  const byLength: Array<Array<{ key: Buffer; at: number }>> = Array.from({ length: MAX_NAME_BYTES + 1 }, () => []);
  cols.forEach((c, at) => byLength[Buffer.byteLength(c.name)].push({ key: Buffer.from(c.name), at }));
  const keyAt = (b: Buffer, from: number, to: number): number => {
    const len = to - from;
    if (len > MAX_NAME_BYTES) return -1;
    next: for (const { key, at } of byLength[len]) {
      for (let j = 0; j < len; j++) if (b[from + j] !== key[j]) continue next;
      return at;
    }
    return -1;
  };
  const spans = new Int32Array(cols.length * 2);
  return (b) => {
    spans.fill(-1);
    const end = b.length;
    let i = skipWs(b, 0, end);
    if (b[i] !== 0x7b) return spans;
    i = skipWs(b, i + 1, end);
    if (b[i] === 0x7d) return spans;
    for (;;) {
      if (b[i] !== QUOTE) return undefined;
      let keyEnd = i + 1;
      while (keyEnd < end && b[keyEnd] !== QUOTE && b[keyEnd] !== 0x5c) keyEnd++;
      if (b[keyEnd] !== QUOTE) return undefined;
      const at = keyAt(b, i + 1, keyEnd);
      i = skipWs(b, keyEnd + 1, end);
      if (b[i] !== 0x3a) return undefined;
      const from = skipWs(b, i + 1, end);
      const to = valueEnd(b, from, end);
      if (to <= from) return undefined;
      if (at >= 0) {
        spans[2 * at] = from;
        spans[2 * at + 1] = to;
      }
      i = skipWs(b, to, end);
      if (b[i] === 0x2c) i = skipWs(b, i + 1, end);
      else if (b[i] === 0x7d) return spans;
      else return undefined;
    }
  };
}

/** One value's text for its column, from its JSON text. */
export function cellText(kind: ColumnKind, json: string): string | null {
  if (json === 'null') return null;
  const c = json.charCodeAt(0);
  if (kind === 'json') return json;
  if (c === 0x22) return JSON.parse(json) as string;
  // An integer written 12.0 or 1e3 is an integer to the rules, but not bigint syntax: give its
  // value when exact, else the digits as written (the database then says why it refuses them).
  if (kind === 'bigint' && !/^-?\d+$/.test(json)) {
    const n = Number(json);
    return Number.isSafeInteger(n) ? String(n) : json;
  }
  return json;
}

/** The typed columns' text (as cellText gives it) from JSON.parse, for a line makeValueFinder cannot read. */
export function fallbackCells(b: Buffer, cols: readonly Column[]): Array<string | null> {
  let v: unknown;
  try {
    v = JSON.parse(b.toString('utf8'));
  } catch {
    return cols.map(() => null);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return cols.map(() => null);
  const o = v as Record<string, unknown>;
  return cols.map((c) => (o[c.name] === undefined ? null : cellText(c.kind, JSON.stringify(o[c.name]))));
}

/** Differences between the columns a load needs and the ones an existing table has. */
export function tableDifferences(want: readonly Column[], have: ReadonlyArray<{ name: string; type: string; required: boolean }>, spell: (k: ColumnKind) => string): string[] {
  const byName = new Map(have.map((h) => [h.name, h]));
  const problems: string[] = [];
  for (const c of want) {
    const h = byName.get(c.name);
    const type = spell(c.kind);
    if (!h) problems.push(`column ${c.name} is missing (expected ${type})`);
    else if (h.type.toLowerCase() !== type.toLowerCase()) problems.push(`column ${c.name} is ${h.type}, expected ${type}`);
  }
  const wanted = new Set(want.map((c) => c.name));
  for (const h of have) if (!wanted.has(h.name) && h.required) problems.push(`column ${h.name} is NOT NULL without a default, and a load does not fill it`);
  return problems;
}
