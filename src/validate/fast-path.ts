/**
 * A shortcut for the common case, a valid line: one pass over the line's bytes that checks the JSON
 * grammar and the rules without building the value. It answers `true` only when JSON.parse would
 * return an object that the rules accept; for anything else (a broken line, a line that breaks a
 * rule, or anything it is not sure about) it answers `false`, and classify() takes the exact path
 * (JSON.parse + ajv) that decides and explains. So it can make cleaner faster, never different.
 *
 * Why: on the web-event data of `npm run bench`, JSON.parse alone runs at about 100 MB/s per core
 * on a 2-core EPYC VM and ajv with formats halves that; this pass runs several times faster, since
 * it allocates nothing but the few top-level strings the rules look at.
 *
 * Only a subset of JSON Schema is understood: an object schema with `properties` whose subschemas
 * use `type`, `format`, `pattern`, `minLength`, `maxLength`, `enum`, `const` (on strings), plus
 * `required` and a boolean `additionalProperties`. A schema using anything else gets no shortcut:
 * every line takes the exact path, as before.
 */
import ucs2lengthModule from 'ajv/dist/runtime/ucs2length.js';
import { fullFormats as fullFormatsExport } from 'ajv-formats/dist/formats.js';

const ucs2length = ((ucs2lengthModule as any).default ?? ucs2lengthModule) as (s: string) => number;
const fullFormats = fullFormatsExport as Record<string, unknown>;

/** True only when the UTF-8 bytes `buf[start, end)` are a JSON object that the rules accept. */
export type FastAccept = (buf: Buffer, start: number, end: number) => boolean;

/** A format as ajv holds it (ajv.formats[name]). */
export type FormatDef = true | RegExp | ((s: string) => boolean) | { type?: string; async?: boolean; validate: RegExp | ((s: string) => boolean) };

// Value kinds, as bits.
const T_STRING = 1;
const T_NUMBER = 2; // any JSON number
const T_INTEGER = 4; // a number without fraction or exponent
const T_BOOLEAN = 8;
const T_NULL = 16;
const T_OBJECT = 32;
const T_ARRAY = 64;
const T_ANY = 127;
const TYPE_BITS: Record<string, number> = {
  string: T_STRING,
  number: T_NUMBER | T_INTEGER,
  integer: T_INTEGER,
  boolean: T_BOOLEAN,
  null: T_NULL,
  object: T_OBJECT,
  array: T_ARRAY,
};

/** Keywords that only annotate: they never change a verdict. */
const ANNOTATIONS = new Set(['title', 'description', '$comment', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly', '$id', 'id', '$schema']);
const TOP_LEVEL = new Set([...ANNOTATIONS, 'type', 'required', 'properties', 'additionalProperties', 'definitions', '$defs']);
const PROPERTY = new Set([...ANNOTATIONS, 'type', 'format', 'pattern', 'minLength', 'maxLength', 'enum', 'const']);

/**
 * One check on a string value. `str` is exactly ajv's check, on the value as JSON.parse gives it.
 * `bytes`, when present, looks at the raw UTF-8 bytes of a value without escapes and never
 * allocates: it answers true only when `str` would, and false when unsure, and `str` then decides.
 */
interface StringCheck {
  bytes?: (b: Buffer, from: number, to: number) => boolean;
  str: (s: string) => boolean;
}

/** The checks on one top-level property the rules name. */
interface Prop {
  /** The key's UTF-8 bytes. */
  key: Buffer;
  /** Value kinds allowed (T_* bits). */
  types: number;
  /** `false` subschema: the property must not be present. */
  never: boolean;
  /** Checks on a string value (format, pattern, lengths, enum). */
  stringChecks: StringCheck[];
  /** enum/const that are not only strings: only a string value is judged here. */
  onlyStringsJudged: boolean;
}

/** Builds the shortcut for a schema, or returns undefined when the schema is outside the subset. */
export function compileFastAccept(schema: unknown, formats: Record<string, FormatDef | undefined>): FastAccept | undefined {
  if (schema === true) schema = {};
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return undefined;
  const s = schema as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!TOP_LEVEL.has(k)) return undefined;
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.includes('object')) return undefined;
  }
  let closed = false;
  if (s.additionalProperties !== undefined) {
    if (typeof s.additionalProperties !== 'boolean') return undefined;
    closed = !s.additionalProperties;
  }
  const props: Prop[] = [];
  const byName = new Map<string, Prop>();
  const properties = s.properties ?? {};
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return undefined;
  for (const [name, sub] of Object.entries(properties as Record<string, unknown>)) {
    const p = compileProp(name, sub, formats);
    if (!p) return undefined;
    props.push(p);
    byName.set(name, p);
  }
  const required = s.required ?? [];
  if (!Array.isArray(required) || !required.every((r) => typeof r === 'string')) return undefined;
  for (const name of required as string[]) {
    if (byName.has(name)) continue;
    // Required but not among `properties`: only its presence is checked, and with
    // additionalProperties false it is an additional property, so the line is never accepted here.
    if (name in Object.prototype || Buffer.from(name, 'utf8').toString('utf8') !== name) return undefined;
    const p: Prop = { key: Buffer.from(name, 'utf8'), types: T_ANY, never: closed, stringChecks: [], onlyStringsJudged: false };
    props.push(p);
    byName.set(name, p);
  }
  if (props.length > 30) return undefined;
  let requiredMask = 0;
  for (const name of new Set(required as string[])) requiredMask |= 1 << props.indexOf(byName.get(name)!);
  return makeScanner(props, requiredMask, closed);
}

function compileProp(name: string, sub: unknown, formats: Record<string, FormatDef | undefined>): Prop | undefined {
  // ajv reads `data.constructor`, `data.toString`, ... through the prototype chain: those names
  // are present on every object as far as ajv is concerned. Leave them to ajv. A name with a lone
  // surrogate has no UTF-8 spelling to compare keys' bytes with: leave it too.
  if (name in Object.prototype || Buffer.from(name, 'utf8').toString('utf8') !== name) return undefined;
  const p: Prop = { key: Buffer.from(name, 'utf8'), types: T_ANY, never: false, stringChecks: [], onlyStringsJudged: false };
  if (sub === true) return p;
  if (sub === false) return { ...p, never: true };
  if (sub === null || typeof sub !== 'object' || Array.isArray(sub)) return undefined;
  const o = sub as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!PROPERTY.has(k)) return undefined;
  if (o.type !== undefined) {
    const types = Array.isArray(o.type) ? o.type : [o.type];
    let bits = 0;
    for (const t of types) {
      if (typeof t !== 'string' || !Object.hasOwn(TYPE_BITS, t)) return undefined;
      bits |= TYPE_BITS[t];
    }
    p.types = bits;
  }
  if (o.format !== undefined) {
    if (typeof o.format !== 'string') return undefined;
    const def = formats[o.format];
    const check = formatCheck(def);
    if (!check) return undefined;
    // ajv-formats' own full-mode format (not one the schema's user replaced): a byte check helps.
    const bytes = def === fullFormats[o.format] ? BYTE_FORMATS[o.format] : undefined;
    p.stringChecks.push({ str: check, bytes });
  }
  if (o.pattern !== undefined) {
    if (typeof o.pattern !== 'string') return undefined;
    // As ajv compiles it (unicodeRegExp is on by default).
    let re: RegExp;
    try {
      re = new RegExp(o.pattern, 'u');
    } catch {
      return undefined;
    }
    // "\\S" (not blank) is the common idiom: an ASCII byte that is not whitespace settles it.
    p.stringChecks.push({ str: (s) => re.test(s), bytes: o.pattern === '\\S' ? hasAsciiNonSpace : undefined });
  }
  for (const [k, cmp] of [['minLength', (n: number, l: number) => n >= l], ['maxLength', (n: number, l: number) => n <= l]] as const) {
    if (o[k] === undefined) continue;
    const limit = o[k];
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) return undefined;
    // In valid UTF-8 without escapes, code points (what ucs2length counts) are the non-continuation bytes.
    p.stringChecks.push({ str: (s) => cmp(ucs2length(s), limit), bytes: (b, from, to) => cmp(codePoints(b, from, to), limit) });
  }
  if (o.enum !== undefined || o.const !== undefined) {
    if (o.enum !== undefined && !Array.isArray(o.enum)) return undefined;
    const members = o.enum !== undefined ? (o.enum as unknown[]) : [o.const];
    if (o.enum !== undefined && o.const !== undefined) return undefined;
    const strings = new Set(members.filter((m): m is string => typeof m === 'string'));
    const encoded = [...strings].map((m) => Buffer.from(m, 'utf8'));
    p.stringChecks.push({ str: (s) => strings.has(s), bytes: (b, from, to) => encoded.some((m) => m.length === to - from && b.compare(m, 0, m.length, from, to) === 0) });
    p.onlyStringsJudged = true;
  }
  return p;
}

/** The check ajv makes for a string format, or undefined when it is not a plain synchronous string format. */
function formatCheck(def: FormatDef | undefined): ((s: string) => boolean) | undefined {
  if (def === undefined) return undefined;
  if (def === true) return () => true;
  if (def instanceof RegExp) return (s) => def.test(s);
  if (typeof def === 'function') return (s) => def(s) as boolean;
  if (typeof def === 'object' && !def.async && (def.type === undefined || def.type === 'string')) {
    const v = def.validate;
    if (v instanceof RegExp) return (s) => v.test(s);
    if (typeof v === 'function') return (s) => v(s) as boolean;
  }
  return undefined;
}

// Byte checks for ajv-formats' full-mode formats. Each answers true only when the format function
// would, on an unescaped value; false sends the value to the format function itself.

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isAlnum = (c: number) => isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
/** Two ASCII digits at `i` as a number, or -1. */
const two = (b: Buffer, i: number) => (isDigit(b[i]) && isDigit(b[i + 1]) ? (b[i] - 0x30) * 10 + b[i + 1] - 0x30 : -1);
const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** 1 for hex digits. */
const HEX_DIGIT = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX_DIGIT[c.charCodeAt(0)] = 1;

/** uuid: /^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i (the prefixed form is left to the regex). */
function uuidBytes(b: Buffer, from: number, to: number): boolean {
  if (to - from !== 36 || b[from + 8] !== 0x2d || b[from + 13] !== 0x2d || b[from + 18] !== 0x2d || b[from + 23] !== 0x2d) return false;
  let ok = 1;
  for (let k = from; k < from + 8; k++) ok &= HEX_DIGIT[b[k]];
  for (let k = from + 9; k < from + 13; k++) ok &= HEX_DIGIT[b[k]];
  for (let k = from + 14; k < from + 18; k++) ok &= HEX_DIGIT[b[k]];
  for (let k = from + 19; k < from + 23; k++) ok &= HEX_DIGIT[b[k]];
  for (let k = from + 24; k < to; k++) ok &= HEX_DIGIT[b[k]];
  return ok === 1;
}

/** date: YYYY-MM-DD, a real calendar day. */
function dateBytes(b: Buffer, from: number, to: number): boolean {
  if (to - from !== 10 || b[from + 4] !== 0x2d || b[from + 7] !== 0x2d) return false;
  const hi = two(b, from);
  const lo = two(b, from + 2);
  const month = two(b, from + 5);
  const day = two(b, from + 8);
  if (hi < 0 || lo < 0 || month < 1 || month > 12 || day < 1) return false;
  const year = hi * 100 + lo;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS[month]);
}

/** time with a required zone: HH:MM:SS[.frac](Z|±HH[[:]MM]); leap seconds are left to the function. */
function timeBytes(b: Buffer, from: number, to: number): boolean {
  if (to - from < 9 || b[from + 2] !== 0x3a || b[from + 5] !== 0x3a) return false;
  const hr = two(b, from);
  const min = two(b, from + 3);
  const sec = two(b, from + 6);
  if (hr < 0 || hr > 23 || min < 0 || min > 59 || sec < 0 || sec > 59) return false;
  let i = from + 8;
  if (b[i] === 0x2e) {
    i++;
    if (i >= to || !isDigit(b[i])) return false;
    while (i < to && isDigit(b[i])) i++;
  }
  if (i >= to) return false;
  const z = b[i];
  if ((z | 0x20) === 0x7a) return i + 1 === to;
  if (z !== 0x2b && z !== 0x2d) return false;
  const tzH = two(b, i + 1);
  if (tzH < 0 || tzH > 23) return false;
  i += 3;
  if (i === to) return true;
  if (b[i] === 0x3a) i++;
  const tzM = two(b, i);
  return tzM >= 0 && tzM <= 59 && i + 2 === to;
}

/** date-time: a date, "T", "t" or " ", and a time; nothing else that splits on /t|\s/i. */
function dateTimeBytes(b: Buffer, from: number, to: number): boolean {
  const sep = b[from + 10];
  return to - from > 11 && (sep === 0x54 || sep === 0x74 || sep === 0x20) && dateBytes(b, from, from + 10) && timeBytes(b, from + 11, to);
}

/** Bytes allowed in the local part of ajv-formats' full email regex (besides letters and digits). */
const EMAIL_LOCAL = new Uint8Array(256);
for (const c of "!#$%&'*+/=?^_`{|}~-") EMAIL_LOCAL[c.charCodeAt(0)] = 1;

/** email: /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[…]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i */
function emailBytes(b: Buffer, from: number, to: number): boolean {
  let i = from;
  // Local part: dot-separated, non-empty atoms.
  for (;;) {
    const atom = i;
    while (i < to && (isAlnum(b[i]) || EMAIL_LOCAL[b[i]] === 1)) i++;
    if (i === atom || i >= to) return false;
    if (b[i] === 0x40) break;
    if (b[i] !== 0x2e) return false;
    i++;
  }
  i++;
  // Domain: at least two labels, each letters, digits and '-', starting and ending with a letter or digit.
  let labels = 0;
  for (;;) {
    const label = i;
    while (i < to && (isAlnum(b[i]) || b[i] === 0x2d)) i++;
    if (i === label || !isAlnum(b[label]) || !isAlnum(b[i - 1])) return false;
    labels++;
    if (i === to) return labels >= 2;
    if (b[i] !== 0x2e) return false;
    i++;
  }
}

const BYTE_FORMATS: Record<string, ((b: Buffer, from: number, to: number) => boolean) | undefined> = {
  uuid: uuidBytes,
  date: dateBytes,
  'date-time': dateTimeBytes,
  time: timeBytes,
  email: emailBytes,
};

/** Whether `b[from, to)` holds an ASCII character that is not whitespace (so /\S/u matches). */
function hasAsciiNonSpace(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c < 0x80 && c !== 0x20 && (c < 0x09 || c > 0x0d)) return true;
  }
  return false;
}

/** Code points in valid UTF-8: every byte that is not a continuation byte starts one. */
function codePoints(b: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if ((b[i] & 0xc0) !== 0x80) n++;
  return n;
}

// Byte classes.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** 1 for JSON whitespace. */
const WS = new Uint8Array(256);
WS[0x20] = WS[0x09] = WS[0x0a] = WS[0x0d] = 1;
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;
const ESCAPABLE = new Uint8Array(256);
for (const c of '"\\/bfnrtu') ESCAPABLE[c.charCodeAt(0)] = 1;

/** Containers nested deeper than this are left to JSON.parse (which has no limit). */
const MAX_DEPTH = 512;
const IN_OBJECT = 1;
const IN_ARRAY = 2;

/** Set by scanString: whether the string just scanned had an escape. */
let hadEscape = false;
/** Set by scanNumber: whether the number just scanned had a fraction or an exponent, and its length. */
let numberIsPlainInteger = false;

/** Index after the closing quote of the string whose body starts at `i`, or -1 if it is not a JSON string. */
function scanString(b: Buffer, i: number, end: number): number {
  hadEscape = false;
  for (;;) {
    // Comparisons beat a table lookup here (about 560 vs 460 MB/s on the bench machine).
    let c = 0;
    while (i < end) {
      c = b[i];
      if (c < 0x20 || c === QUOTE || c === BACKSLASH) break;
      i++;
    }
    if (i >= end) return -1;
    if (c === QUOTE) return i + 1;
    if (c !== BACKSLASH) return -1; // a raw control character
    hadEscape = true;
    if (i + 1 >= end || ESCAPABLE[b[i + 1]] === 0) return -1;
    if (b[i + 1] === 0x75) {
      if (i + 5 >= end || !HEX[b[i + 2]] || !HEX[b[i + 3]] || !HEX[b[i + 4]] || !HEX[b[i + 5]]) return -1;
      i += 6;
    } else i += 2;
  }
}

/** Index after the JSON number starting at `i`, or -1. */
function scanNumber(b: Buffer, i: number, end: number): number {
  const from = i;
  if (b[i] === 0x2d) i++;
  if (i >= end) return -1;
  if (b[i] === 0x30) i++;
  else if (b[i] >= 0x31 && b[i] <= 0x39) {
    i++;
    while (i < end && b[i] >= 0x30 && b[i] <= 0x39) i++;
  } else return -1;
  numberIsPlainInteger = true;
  if (i < end && b[i] === 0x2e) {
    numberIsPlainInteger = false;
    i++;
    const d = i;
    while (i < end && b[i] >= 0x30 && b[i] <= 0x39) i++;
    if (i === d) return -1;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    numberIsPlainInteger = false;
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    const d = i;
    while (i < end && b[i] >= 0x30 && b[i] <= 0x39) i++;
    if (i === d) return -1;
  }
  // Digits enough to be Infinity as a double (the largest finite has 309): let the exact path decide.
  if (i - from > 300) return -1;
  return i;
}

function skipWs(b: Buffer, i: number, end: number): number {
  while (i < end && WS[b[i]] === 1) i++;
  return i;
}

/** Index after `word` (true/false/null) at `i`, or -1. */
function scanWord(b: Buffer, i: number, end: number, word: Uint8Array): number {
  if (i + word.length > end) return -1;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

const stack = new Uint8Array(MAX_DEPTH);

/** Index after the JSON value starting at `i` (whitespace before it allowed), or -1 if it is not one. */
function skipValue(b: Buffer, i: number, end: number): number {
  let depth = 0;
  for (;;) {
    // A value.
    i = skipWs(b, i, end);
    if (i >= end) return -1;
    let c = b[i];
    if (c === QUOTE) {
      i = scanString(b, i + 1, end);
    } else if (c === 0x7b || c === 0x5b) {
      const close = c === 0x7b ? 0x7d : 0x5d;
      i = skipWs(b, i + 1, end);
      if (i < end && b[i] === close) i++;
      else {
        if (depth === MAX_DEPTH) return -1;
        stack[depth++] = c === 0x7b ? IN_OBJECT : IN_ARRAY;
        if (c === 0x7b) {
          i = objectKey(b, i, end);
          if (i < 0) return -1;
        }
        continue;
      }
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      i = scanNumber(b, i, end);
    } else if (c === 0x74) i = scanWord(b, i, end, TRUE);
    else if (c === 0x66) i = scanWord(b, i, end, FALSE);
    else if (c === 0x6e) i = scanWord(b, i, end, NULL);
    else return -1;
    if (i < 0) return -1;
    // After a value: close what ends here, or go on to the next member.
    for (;;) {
      if (depth === 0) return i;
      i = skipWs(b, i, end);
      if (i >= end) return -1;
      c = b[i];
      const inObject = stack[depth - 1] === IN_OBJECT;
      if (c === 0x2c) {
        i = skipWs(b, i + 1, end);
        if (inObject) {
          i = objectKey(b, i, end);
          if (i < 0) return -1;
        }
        break;
      }
      if (c === (inObject ? 0x7d : 0x5d)) {
        i++;
        depth--;
        continue;
      }
      return -1;
    }
  }
}

/** At a key (`i` on its opening quote): index after the key and its ':', or -1. */
function objectKey(b: Buffer, i: number, end: number): number {
  if (i >= end || b[i] !== QUOTE) return -1;
  i = scanString(b, i + 1, end);
  if (i < 0) return -1;
  i = skipWs(b, i, end);
  if (i >= end || b[i] !== 0x3a) return -1;
  return i + 1;
}

function makeScanner(props: Prop[], requiredMask: number, closed: boolean): FastAccept {
  const n = props.length;
  const keys = props.map((p) => p.key);
  const keyLens = Int32Array.from(keys, (k) => k.length);

  /** The index of the prop whose key is `b[from, to)`, or -1. */
  const findProp = (b: Buffer, from: number, to: number): number => {
    const len = to - from;
    for (let p = 0; p < n; p++) {
      if (keyLens[p] !== len) continue;
      const k = keys[p];
      let j = 0;
      while (j < len && b[from + j] === k[j]) j++;
      if (j === len) return p;
    }
    return -1;
  };

  /** Whether the value `b[from, to)` of kind `kind` passes prop `p`'s checks. */
  const valueOk = (p: Prop, kind: number, b: Buffer, from: number, to: number, escaped: boolean): boolean => {
    if (p.never) return false;
    if ((p.types & kind) === 0) return false;
    const checks = p.stringChecks;
    if (checks.length === 0) return true;
    if (kind !== T_STRING) return !p.onlyStringsJudged;
    let s: string | undefined;
    for (let k = 0; k < checks.length; k++) {
      const c = checks[k];
      if (!escaped && c.bytes !== undefined && c.bytes(b, from, to)) continue;
      // The value as JSON.parse gives it: decode escapes only when there are any.
      s ??= escaped ? (JSON.parse(b.toString('utf8', from - 1, to + 1)) as string) : b.toString('utf8', from, to);
      if (!c.str(s)) return false;
    }
    return true;
  };

  return (b, start, end) => {
    let i = skipWs(b, start, end);
    if (i >= end || b[i] !== 0x7b) return false;
    i = skipWs(b, i + 1, end);
    let seen = 0;
    if (i < end && b[i] === 0x7d) i++;
    else {
      for (;;) {
        if (i >= end || b[i] !== QUOTE) return false;
        const keyFrom = i + 1;
        i = scanString(b, keyFrom, end);
        if (i < 0) return false;
        // An escaped key may spell a property's name: leave it to the exact path.
        if (hadEscape) return false;
        const p = findProp(b, keyFrom, i - 1);
        if (p < 0 && closed) return false;
        i = skipWs(b, i, end);
        if (i >= end || b[i] !== 0x3a) return false;
        i = skipWs(b, i + 1, end);
        if (p < 0) {
          i = skipValue(b, i, end);
          if (i < 0) return false;
        } else {
          // JSON.parse keeps the last of duplicate keys; the exact path sorts that out.
          if (seen & (1 << p)) return false;
          seen |= 1 << p;
          if (i >= end) return false;
          const c = b[i];
          const from = i;
          let kind: number;
          let valueFrom = from;
          let valueTo: number;
          let escaped = false;
          if (c === QUOTE) {
            i = scanString(b, i + 1, end);
            if (i < 0) return false;
            kind = T_STRING;
            escaped = hadEscape;
            valueFrom = from + 1;
            valueTo = i - 1;
          } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
            i = scanNumber(b, i, end);
            if (i < 0) return false;
            kind = numberIsPlainInteger ? T_INTEGER : T_NUMBER;
            valueTo = i;
            // 1e400 is Infinity to JSON.parse, and a number to ajv only without strictNumbers: unsure.
            if (kind === T_NUMBER && !Number.isFinite(Number(b.toString('latin1', from, i)))) return false;
          } else {
            i = skipValue(b, i, end);
            if (i < 0) return false;
            kind = c === 0x7b ? T_OBJECT : c === 0x5b ? T_ARRAY : c === 0x6e ? T_NULL : T_BOOLEAN;
            valueTo = i;
          }
          if (!valueOk(props[p], kind, b, valueFrom, valueTo, escaped)) return false;
        }
        i = skipWs(b, i, end);
        if (i >= end) return false;
        if (b[i] === 0x2c) {
          i = skipWs(b, i + 1, end);
          continue;
        }
        if (b[i] === 0x7d) {
          i++;
          break;
        }
        return false;
      }
    }
    if (skipWs(b, i, end) !== end) return false;
    return (seen & requiredMask) === requiredMask;
  };
}
