/**
 * String checks for the fast path (fast-path.ts) that give exactly ajv's answers: the check ajv makes
 * for a format, and byte-level twins of ajv-formats' common full-mode formats that need no string.
 */
import type { FormatDef } from './fast-path.js';

/** The check ajv makes for a string format, or undefined when it is not a plain synchronous string format. */
export function formatCheck(def: FormatDef | undefined): ((s: string) => boolean) | undefined {
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

/** Bytes a URI's path segment may hold as they are (RFC 3986 pchar but for %-escapes), and its host (reg-name's unreserved ones). */
const PCHAR = new Uint8Array(256);
const HOST = new Uint8Array(256);
for (let c = 0; c < 128; c++) {
  if (isAlnum(c) || '-._~'.includes(String.fromCharCode(c))) HOST[c] = PCHAR[c] = 1;
  if ("!$&'()*+,;=:@".includes(String.fromCharCode(c))) PCHAR[c] = 1;
}

/**
 * The common absolute URL, `scheme://host[:port][/path][?query][#fragment]`, with ASCII hosts and
 * %-escapes of two hex digits: every such string matches ajv-formats' `uri` (GitHub's webhook
 * payloads hold dozens per line, and its regex was a fifth of the fast path's time there).
 */
function uriBytes(b: Buffer, from: number, to: number): boolean {
  let i = from;
  if (i >= to || !((b[i] | 0x20) >= 0x61 && (b[i] | 0x20) <= 0x7a)) return false;
  i++;
  while (i < to && (isAlnum(b[i]) || b[i] === 0x2b || b[i] === 0x2d || b[i] === 0x2e)) i++;
  if (to - i < 3 || b[i] !== 0x3a || b[i + 1] !== 0x2f || b[i + 2] !== 0x2f) return false;
  i += 3;
  while (i < to && HOST[b[i]] === 1) i++;
  if (i < to && b[i] === 0x3a) {
    i++;
    while (i < to && isDigit(b[i])) i++;
  }
  if (i < to && b[i] !== 0x2f && b[i] !== 0x3f && b[i] !== 0x23) return false;
  // Path segments, then query and fragment (which may hold '/' and '?' too).
  let part = 0;
  while (i < to) {
    const c = b[i];
    // Most bytes of a path are pchars (which hold none of '/', '?', '#', '%'): tested first.
    if (PCHAR[c] === 1) i++;
    else if (c === 0x2f && part === 0) i++;
    else if (c === 0x3f && part === 0) {
      part = 1;
      i++;
    } else if (c === 0x23 && part < 2) {
      part = 2;
      i++;
    } else if (part > 0 && (c === 0x2f || c === 0x3f)) i++;
    else if (c === 0x25 && i + 2 < to && HEX_DIGIT[b[i + 1]] === 1 && HEX_DIGIT[b[i + 2]] === 1) i += 3;
    else return false;
  }
  return true;
}

/** Bytes a uri-template's literal part may not hold as they are: controls, space and "'<>%\\^`{|}. */
const NOT_LITERAL = new Uint8Array(256);
for (let c = 0; c <= 0x20; c++) NOT_LITERAL[c] = 1;
for (const c of '"\'<>%\\^`{|}') NOT_LITERAL[c.charCodeAt(0)] = 1;
/** The operators an RFC 6570 expression may start with. */
const OPERATOR = new Uint8Array(256);
for (const c of '+#./;?&=,!@|') OPERATOR[c.charCodeAt(0)] = 1;

/**
 * ajv-formats' `uri-template` (/i) on the bytes, exactly: literals (any byte but those in
 * NOT_LITERAL, a non-ASCII character's included, or a %-escape) and expressions
 * `{[op]varspec(,varspec)*}`, a varspec being letters, digits, `_` or %-escapes with an optional
 * `:1-9999` or `*`. GitHub's webhook payloads hold dozens per line (`…/issues{/number}`), and the
 * regex cost about 80 ms per thread on its 200 MB of examples.
 */
function uriTemplateBytes(b: Buffer, from: number, to: number): boolean {
  let i = from;
  while (i < to) {
    const c = b[i];
    // Most bytes of a template are literals ('%' and '{' are in NOT_LITERAL): tested first.
    if (NOT_LITERAL[c] === 0) i++;
    else if (c === 0x25) {
      if (i + 2 >= to || HEX_DIGIT[b[i + 1]] !== 1 || HEX_DIGIT[b[i + 2]] !== 1) return false;
      i += 3;
    } else if (c === 0x7b) {
      i++;
      if (i < to && OPERATOR[b[i]] === 1) i++;
      for (;;) {
        i = varspecEnd(b, i, to);
        if (i < 0) return false;
        if (i < to && b[i] === 0x2c) i++;
        else break;
      }
      if (i >= to || b[i] !== 0x7d) return false;
      i++;
    } else return false;
  }
  return true;
}

/** The index after the uri-template varspec at `i`, or -1. */
function varspecEnd(b: Buffer, i: number, to: number): number {
  const start = i;
  for (;;) {
    if (i < to && (isAlnum(b[i]) || b[i] === 0x5f)) i++;
    else if (i + 2 < to && b[i] === 0x25 && HEX_DIGIT[b[i + 1]] === 1 && HEX_DIGIT[b[i + 2]] === 1) i += 3;
    else break;
  }
  if (i === start) return -1;
  if (i < to && b[i] === 0x2a) return i + 1;
  if (i < to && b[i] === 0x3a) {
    i++;
    if (i >= to || b[i] < 0x31 || b[i] > 0x39) return -1;
    const digits = i;
    i++;
    while (i < to && isDigit(b[i]) && i - digits < 4) i++;
  }
  return i;
}

export const BYTE_FORMATS: Record<string, ((b: Buffer, from: number, to: number) => boolean) | undefined> = {
  uuid: uuidBytes,
  date: dateBytes,
  'date-time': dateTimeBytes,
  time: timeBytes,
  email: emailBytes,
  uri: uriBytes,
  'uri-template': uriTemplateBytes,
};

/** Byte checks that take only values of one length, made of digits, letters and '-'. */
const FIXED_LENGTH = new Map<(b: Buffer, from: number, to: number) => boolean, number>([
  [uuidBytes, 36],
  [dateBytes, 10],
]);

/**
 * The length of every value `bytes` takes, when it takes values of one length only, none of them
 * holding a quote, a backslash or a control byte (so a quote right after one ends a JSON string).
 */
export function fixedLength(bytes: ((b: Buffer, from: number, to: number) => boolean) | undefined): number | undefined {
  return bytes === undefined ? undefined : FIXED_LENGTH.get(bytes);
}

/** Whether `b[from, to)` holds an ASCII character that is not whitespace (so /\S/u matches). */
export function hasAsciiNonSpace(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c < 0x80 && c !== 0x20 && (c < 0x09 || c > 0x0d)) return true;
  }
  return false;
}

/** Code points in valid UTF-8: every byte that is not a continuation byte starts one. */
export function codePoints(b: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if ((b[i] & 0xc0) !== 0x80) n++;
  return n;
}

/** One step of an anchored pattern: a set of ASCII bytes, taken between `min` and `max` times. */
interface PatternAtom {
  set: Uint8Array;
  min: number;
  max: number;
}

/** ASCII characters a pattern may name literally (everything else is a metacharacter or left alone). */
const LITERAL = /^[A-Za-z0-9_\-:@#%&=~,;'"<>`!/ ]$/;

/**
 * A byte check for the common kind of `pattern`: anchored at both ends, a sequence of ASCII literals,
 * `\d`, `\w`, `.`-free character classes and quantifiers (`?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`),
 * such as "^[A-Z]{3}-[0-9]{4}$". It matches greedily without backtracking, so a match it finds is
 * a match of the regex (true), and anything it cannot match, non-ASCII bytes included, answers
 * false and the regex decides. Undefined for any other pattern.
 *
 * Why: the regex needs the value as a string; on the nested-orders bench decoding the `sku` of
 * every line item was one of the larger costs of the fast path.
 */
export function patternBytes(pattern: string): ((b: Buffer, from: number, to: number) => boolean) | undefined {
  if (pattern === '\\S') return hasAsciiNonSpace;
  if (!pattern.startsWith('^') || !pattern.endsWith('$') || pattern.endsWith('\\$')) return undefined;
  const src = pattern.slice(1, -1);
  const atoms: PatternAtom[] = [];
  let p = 0;
  const setOf = (chars: string): Uint8Array => {
    const set = new Uint8Array(256);
    for (const ch of chars) set[ch.charCodeAt(0)] = 1;
    return set;
  };
  const DIGITS = '0123456789';
  const WORD = DIGITS + 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_';
  while (p < src.length) {
    let set: Uint8Array;
    const ch = src[p];
    if (ch === '\\') {
      const e = src[p + 1];
      if (e === 'd') set = setOf(DIGITS);
      else if (e === 'w') set = setOf(WORD);
      else if (e !== undefined && '.-+*?()[]{}|^$/\\'.includes(e)) set = setOf(e);
      else return undefined;
      p += 2;
    } else if (ch === '[') {
      const close = src.indexOf(']', p + 1);
      if (close < 0) return undefined;
      const body = src.slice(p + 1, close);
      // Negated classes, escapes and nested brackets: the regex decides.
      if (body === '' || body.startsWith('^') || /[\\[]/.test(body)) return undefined;
      set = new Uint8Array(256);
      for (let q = 0; q < body.length; q++) {
        const lo = body.charCodeAt(q);
        if (lo >= 0x80) return undefined;
        if (body[q + 1] === '-' && q + 2 < body.length) {
          const hi = body.charCodeAt(q + 2);
          if (hi >= 0x80 || hi < lo) return undefined;
          for (let c = lo; c <= hi; c++) set[c] = 1;
          q += 2;
        } else set[lo] = 1;
      }
      p = close + 1;
    } else if (LITERAL.test(ch)) {
      set = setOf(ch);
      p++;
    } else return undefined;
    let min = 1;
    let max = 1;
    const q = src[p];
    if (q === '?' || q === '*' || q === '+') {
      min = q === '+' ? 1 : 0;
      max = q === '?' ? 1 : Infinity;
      p++;
    } else if (q === '{') {
      const m = /^\{(\d{1,4})(,(\d{1,4})?)?\}/.exec(src.slice(p));
      if (!m) return undefined;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === undefined ? Infinity : Number(m[3]);
      if (max < min) return undefined;
      p += m[0].length;
    }
    // A lazy or possessive-looking quantifier after this one: not the plain greedy form.
    if (src[p] === '?' || src[p] === '*' || src[p] === '+' || src[p] === '{') return undefined;
    atoms.push({ set, min, max });
  }
  return (b, from, to) => {
    let i = from;
    for (let a = 0; a < atoms.length; a++) {
      const { set, min, max } = atoms[a];
      let n = 0;
      while (n < max && i < to && set[b[i]] === 1) {
        i++;
        n++;
      }
      if (n < min) return false;
    }
    return i === to;
  };
}
