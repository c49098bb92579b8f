/**
 * The JSON grammar over UTF-8 bytes, without building values: the pieces the fast path (fast-path.ts)
 * is made of. Each returns the index after what it scanned, or -1 when the bytes are not that.
 */
// Byte classes.
export const QUOTE = 0x22;
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

/**
 * What the last scan saw, beyond where it ended. An object, not exported `let`s: a live binding
 * read from another module costs a getter call under some loaders (tsx), in the hottest loop.
 */
export const scanned = {
  /** Set by scanString: whether the string just scanned had an escape. */
  hadEscape: false,
  /** Set by scanNumber: whether the number just scanned had no fraction and no exponent. */
  numberIsPlainInteger: false,
  /** Set by scanNumber, for lastNumber: its digits as an integer, and how many follow the point (-1: read the text). */
  numberMantissa: 0,
  numberFraction: 0,
};

/**
 * A view of the chunk last scanned, for scanString's 4-byte reads. Kept for the next call, since a
 * chunk holds many lines (the reference keeps one chunk alive at most).
 */
let viewOf: Buffer | undefined;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/** Index after the closing quote of the string whose body starts at `i`, or -1 if it is not a JSON string. */
export function scanString(b: Buffer, i: number, end: number): number {
  // Kept under V8's inlining limit (460 bytes of bytecode): the rare parts are functions of their own.
  scanned.hadEscape = false;
  const v = b === viewOf ? view : viewFor(b);
  for (;;) {
    // Four bytes a step while none is < 0x20, a quote or a backslash: each test sets the top bit of
    // a byte where it holds (SWAR). The last 0-3 bytes before `end` one by one.
    let c = 0;
    for (;;) {
      if (i + 4 > end) {
        while (i < end) {
          c = b[i];
          if (c < 0x20 || c === QUOTE || c === BACKSLASH) break;
          i++;
        }
        break;
      }
      const x = v.getInt32(i, true);
      const q = x ^ 0x22222222;
      const s = x ^ 0x5c5c5c5c;
      const m = (((x - 0x20202020) & ~x) | ((q - 0x01010101) & ~q) | ((s - 0x01010101) & ~s)) & 0x80808080;
      if (m !== 0) {
        // A borrow only runs upwards from a byte that matches, so the lowest flag is the first match
        // (bytes read little-endian: the lowest is the earliest).
        i += (31 - Math.clz32(m & -m)) >> 3;
        c = b[i];
        break;
      }
      i += 4;
    }
    if (i >= end) return -1;
    if (c === QUOTE) return i + 1;
    if (c !== BACKSLASH) return -1; // a raw control character
    i = afterEscape(b, i, end);
    if (i < 0) return -1;
  }
}

/**
 * Whether one of the four bytes of `x` (read little-endian) is a control byte, a quote or a
 * backslash: scanString's test, which it makes inline. May also flag a byte after one that is.
 */
export function hasStringSpecial(x: number): boolean {
  const q = x ^ 0x22222222;
  const s = x ^ 0x5c5c5c5c;
  return ((((x - 0x20202020) & ~x) | ((q - 0x01010101) & ~q) | ((s - 0x01010101) & ~s)) & 0x80808080) !== 0;
}

/** The view scanString reads `b` through, made once per chunk. */
function viewFor(b: Buffer): DataView<ArrayBufferLike> {
  viewOf = b;
  view = new DataView(b.buffer, b.byteOffset, b.length);
  return view;
}

/** At a backslash in a string: the index after its escape, or -1 if it is not a JSON escape. */
function afterEscape(b: Buffer, i: number, end: number): number {
  scanned.hadEscape = true;
  if (i + 1 >= end || ESCAPABLE[b[i + 1]] === 0) return -1;
  if (b[i + 1] !== 0x75) return i + 2;
  if (i + 5 >= end || !HEX[b[i + 2]] || !HEX[b[i + 3]] || !HEX[b[i + 4]] || !HEX[b[i + 5]]) return -1;
  return i + 6;
}

/** Index after the JSON number starting at `i`, or -1. Leaves what lastNumber needs in `scanned`. */
export function scanNumber(b: Buffer, i: number, end: number): number {
  const from = i;
  if (b[i] === 0x2d) i++;
  if (i >= end) return -1;
  const first = i;
  // The digits as an integer, and how many follow the point: lastNumber's value without reading them again.
  let m = 0;
  let c = b[i];
  if (c === 0x30) i++;
  else if (c >= 0x31 && c <= 0x39) {
    do {
      m = m * 10 + (c - 0x30);
      i++;
    } while (i < end && (c = b[i]) >= 0x30 && c <= 0x39);
  } else return -1;
  const whole = i;
  let frac = 0;
  scanned.numberIsPlainInteger = true;
  if (i < end && b[i] === 0x2e) {
    scanned.numberIsPlainInteger = false;
    i++;
    while (i < end && (c = b[i]) >= 0x30 && c <= 0x39) {
      m = m * 10 + (c - 0x30);
      i++;
    }
    frac = i - whole - 1;
    if (frac === 0) return -1;
  }
  scanned.numberMantissa = m;
  // -1: lastNumber must read the text (an exponent, or more digits than a double holds exactly).
  scanned.numberFraction = whole - first + frac > 15 ? -1 : frac;
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    scanned.numberIsPlainInteger = false;
    scanned.numberFraction = -1;
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

/** The value of the number scanNumber just found at `b[i, e)`: numberValue's answer, mostly from what the scan kept. */
export function lastNumber(b: Buffer, i: number, e: number): number {
  const frac = scanned.numberFraction;
  if (frac < 0) return numberValue(b, i, e);
  const v = frac > 0 ? scanned.numberMantissa / POW10[frac] : scanned.numberMantissa;
  return b[i] === 0x2d ? -v : v;
}

/** Powers of ten that are exact doubles (10^0 … 10^22). */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * The value of the JSON number `b[i, e)` (as scanNumber found it), as Number() of its text gives it.
 * Without a string for the common case: at most 15 digits and no exponent make an exact integer
 * mantissa and an exact power of ten, and one division of exact doubles is correctly rounded
 * (Clinger's fast path), so the result is the nearest double, as Number()'s. Anything else: Number().
 */
export function numberValue(b: Buffer, i: number, e: number): number {
  let k = i;
  const neg = b[k] === 0x2d;
  if (neg) k++;
  let m = 0;
  let digits = 0;
  let frac = -1;
  for (; k < e; k++) {
    const c = b[k];
    if (c === 0x2e) frac = 0;
    else if (c >= 0x30 && c <= 0x39) {
      m = m * 10 + (c - 0x30);
      digits++;
      if (frac >= 0) frac++;
    } else return Number(b.toString('latin1', i, e));
  }
  if (digits > 15) return Number(b.toString('latin1', i, e));
  const v = frac > 0 ? m / POW10[frac] : m;
  return neg ? -v : v;
}

export function skipWs(b: Buffer, i: number, end: number): number {
  while (i < end && WS[b[i]] === 1) i++;
  return i;
}

/** Index after `word` (true/false/null) at `i`, or -1. */
export function scanWord(b: Buffer, i: number, end: number, word: Uint8Array): number {
  if (i + word.length > end) return -1;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}
export const TRUE = Buffer.from('true');
export const FALSE = Buffer.from('false');
export const NULL = Buffer.from('null');

const stack = new Uint8Array(MAX_DEPTH);

/** Index after the JSON value starting at `i` (whitespace before it allowed), or -1 if it is not one. */
export function skipValue(b: Buffer, i: number, end: number): number {
  let depth = 0;
  // The innermost open container is an object (else an array); the stack holds the outer ones.
  let inObject = false;
  for (;;) {
    // A value.
    if (b[i] <= 0x20) i = skipWs(b, i, end);
    if (i >= end) return -1;
    let c = b[i];
    if (c === QUOTE) i = scanString(b, i + 1, end);
    else if (c === 0x7b || c === 0x5b) {
      i++;
      if (b[i] <= 0x20) i = skipWs(b, i, end);
      if (i < end && b[i] === c + 2) i++; // `{}` or `[]`: '}' and ']' are '{' and '[' + 2
      else {
        if (depth === MAX_DEPTH) return -1;
        stack[depth++] = inObject ? IN_OBJECT : IN_ARRAY;
        inObject = c === 0x7b;
        if (inObject) i = objectKey(b, i, end);
        if (i < 0) return -1;
        continue;
      }
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) i = scanNumber(b, i, end);
    else if (c === 0x74) i = scanWord(b, i, end, TRUE);
    else if (c === 0x66) i = scanWord(b, i, end, FALSE);
    else if (c === 0x6e) i = scanWord(b, i, end, NULL);
    else return -1;
    if (i < 0) return -1;
    // After a value: close what ends here, or go on to the next member.
    for (;;) {
      if (depth === 0) return i;
      if (b[i] <= 0x20) i = skipWs(b, i, end);
      if (i >= end) return -1;
      c = b[i++];
      if (c === 0x2c) {
        if (inObject) {
          if (b[i] <= 0x20) i = skipWs(b, i, end);
          i = objectKey(b, i, end);
          if (i < 0) return -1;
        }
        break;
      }
      if (c !== (inObject ? 0x7d : 0x5d)) return -1;
      // The stack's bottom entry stands for "outside any container", which depth 0 returns before reading.
      inObject = stack[--depth] === IN_OBJECT;
    }
  }
}

/** At a key (`i` on its opening quote): index after the key and its ':', or -1. */
function objectKey(b: Buffer, i: number, end: number): number {
  if (i >= end || b[i] !== QUOTE) return -1;
  i = scanString(b, i + 1, end);
  if (i < 0) return -1;
  if (b[i] <= 0x20) i = skipWs(b, i, end);
  if (i >= end || b[i] !== 0x3a) return -1;
  return i + 1;
}

/**
 * What objectDistinct learned in this line, by object start: an open-addressing table of MEMO_SLOTS
 * slots, each stamped with the line it belongs to (forgetObjects starts a new line instead of
 * clearing anything), and the key spans of the objects it found distinct in one arena (per key:
 * where its name starts and ends, and where its value starts). Nothing is allocated per object:
 * with two Maps and an array of spans per object, reading each web event's root whole for its
 * conditions (readsByKey, fast-path-emit.ts) allocated 2.4 bytes per byte of input, and a run's
 * peak RSS grew by half.
 */
const MEMO_SLOTS = 1024;
const memoLine = new Int32Array(MEMO_SLOTS);
const memoStart = new Int32Array(MEMO_SLOTS);
/** objectDistinct's answer. */
const memoEnd = new Int32Array(MEMO_SLOTS);
/** Where the object's key spans start in `arena`, and how many keys it has. */
const memoSpans = new Int32Array(MEMO_SLOTS);
const memoKeys = new Int32Array(MEMO_SLOTS);
let line = 1;
let slotsUsed = 0;
let arena = new Int32Array(3 * 1024);
let arenaUsed = 0;
/** The bytes of the line the memo is about. */
let memoBytes: Buffer | undefined;

/**
 * The spellings of the keys an object check has read and must not see again (repeatedKey), for
 * every object being read, innermost last: a stack of spans of the line's bytes.
 */
let stackFrom = new Int32Array(256);
let stackTo = new Int32Array(256);
/** Where each key's value starts. */
let stackValue = new Int32Array(256);
let stackTop = 0;

/** Where the keys of an object about to be read start on repeatedKey's stack (give it back with keysRead). */
export function keysReading(): number {
  return stackTop;
}

/** Pops what repeatedKey pushed since `base` (keysReading's answer). */
export function keysRead(base: number): void {
  stackTop = base;
}

/**
 * Whether the key spelled `b[from, to)` (no escape in it) was read before in the object whose keys
 * start at `base` on the stack; if not, it is pushed there, with where its value starts. True also
 * when the stack is full (the caller is unsure then). Compares bytes: decoding each key into a
 * string to look for it among the others was most of what an object under `additionalProperties`
 * allocated.
 */
export function repeatedKey(b: Buffer, base: number, from: number, to: number, value: number): boolean {
  const len = to - from;
  for (let x = base; x < stackTop; x++) {
    const f = stackFrom[x];
    if (stackTo[x] - f !== len) continue;
    let k = 0;
    while (k < len && b[f + k] === b[from + k]) k++;
    if (k === len) return true;
  }
  return !pushKey(from, to, value);
}

/** Pushes a key that cannot be a repeat (its object tells its named keys apart itself); false when the stack is full. */
export function pushKey(from: number, to: number, value: number): boolean {
  if (stackTop === stackFrom.length) {
    if (stackTop >= 1 << 16) return false;
    const grow = (a: Int32Array) => {
      const g = new Int32Array(2 * stackTop);
      g.set(a);
      return g;
    };
    stackFrom = grow(stackFrom);
    stackTo = grow(stackTo);
    stackValue = grow(stackValue);
  }
  stackFrom[stackTop] = from;
  stackTo[stackTop] = to;
  stackValue[stackTop++] = value;
  return true;
}

/**
 * Remembers, as objectDistinct would, that the object at `start` of `b` ends at `end` with the keys
 * pushed since `base`: its check read it whole, found it JSON and told every key apart (pushKey,
 * repeatedKey), so the checks after it in the line read it by key (readsByKey in
 * fast-path-emit.ts) without reading it again first.
 */
export function rememberKeys(b: Buffer, start: number, end: number, base: number): void {
  if (slotOf(start) >= 0) return;
  const n = stackTop - base;
  if (n > 256) return;
  for (let x = 0; x < n; x++) {
    keyFrom[x] = stackFrom[base + x];
    keyTo[x] = stackTo[base + x];
    valueAt[x] = stackValue[base + x];
  }
  remember(b, start, end, n);
}

/** Forgets what objectDistinct learned about the previous line's bytes. */
export function forgetObjects(): void {
  stackTop = 0;
  forgetMemo();
}

/** forgetObjects but for repeatedKey's stack, which the objects being read still stand on. */
function forgetMemo(): void {
  if (slotsUsed === 0) return;
  slotsUsed = 0;
  arenaUsed = 0;
  memoBytes = undefined;
  if (++line === 0x7fffffff) {
    memoLine.fill(0);
    line = 1;
  }
}

/** The slot of the object at `start` in this line, or -1. */
function slotOf(start: number): number {
  if (slotsUsed === 0) return -1;
  for (let h = Math.imul(start, 0x9e3779b1) >>> 22; ; h = (h + 1) & (MEMO_SLOTS - 1)) {
    if (memoLine[h] !== line) return -1;
    if (memoStart[h] === start) return h;
  }
}

/** Remembers objectDistinct's answer `result` for the object at `start` of `b` (with its first `n` keys' spans when distinct); not when the table or the arena is full (asked again, it is read again). */
function remember(b: Buffer, start: number, result: number, n: number): void {
  if (slotsUsed >= MEMO_SLOTS >> 1) return;
  if (memoBytes !== b) {
    // Not the stack: this may be the first object remembered in a line while others are being
    // read, and forgetting their keys let a repeated key through (its first value's REJECT stood,
    // and a `not` around it accepted what ajv rejects; found by the diff fuzz).
    forgetMemo();
    memoBytes = b;
  }
  if (result >= 0 && arenaUsed + 3 * n > arena.length) {
    if (arenaUsed + 3 * n > 3 * 65536) return;
    const grown = new Int32Array(Math.max(2 * arena.length, arenaUsed + 3 * n));
    grown.set(arena.subarray(0, arenaUsed));
    arena = grown;
  }
  let h = Math.imul(start, 0x9e3779b1) >>> 22;
  while (memoLine[h] === line) h = (h + 1) & (MEMO_SLOTS - 1);
  memoLine[h] = line;
  memoStart[h] = start;
  memoEnd[h] = result;
  slotsUsed++;
  if (result < 0) return;
  memoSpans[h] = arenaUsed;
  memoKeys[h] = n;
  for (let x = 0; x < n; x++) {
    arena[arenaUsed++] = keyFrom[x];
    arena[arenaUsed++] = keyTo[x];
    arena[arenaUsed++] = valueAt[x];
  }
}

/**
 * The index after the object at `start` when objectDistinct already found it JSON without repeated
 * keys in this line, else -1: a check that only needs to know where that object ends (a branch
 * whose condition failed, a `not`) need not read it again.
 */
export function knownEnd(start: number): number {
  const h = slotOf(start);
  return h < 0 ? -1 : memoEnd[h];
}

/**
 * Where objectDistinct found the keys and values of the object at `start` in this line (a handle for
 * valueAfter and keyCount), when it found it JSON with no key repeated (and none escaped), else -1.
 */
export function knownSpans(start: number): number {
  const h = slotOf(start);
  return h >= 0 && memoEnd[h] >= 0 ? h : -1;
}

/**
 * Where the value of the key spelled `name` (its UTF-8 bytes, as the object has no escaped key)
 * starts in the object of `spans` (knownSpans), or -1 when it has no such key. Compares bytes:
 * decoding every key into a map of names (knownKeys) was most of what reading a web event by key
 * cost.
 */
export function valueAfter(spans: number, name: Buffer): number {
  const b = memoBytes!;
  const len = name.length;
  for (let x = memoSpans[spans], to = x + 3 * memoKeys[spans]; x < to; x += 3) {
    const from = arena[x];
    if (arena[x + 1] - from !== len) continue;
    let k = 0;
    while (k < len && b[from + k] === name[k]) k++;
    if (k === len) return arena[x + 2];
  }
  return -1;
}

/** How many keys the object of `spans` (knownSpans) has. */
export function keyCount(spans: number): number {
  return memoKeys[spans];
}

/**
 * Whether every key of the object of `spans` (knownSpans) is spelled as one of `names` (UTF-8
 * bytes, as the object has no escaped key): a branch guard's closed key set (branch-guard.ts).
 * Decoding every key into a map of names for it was a third of what a oneOf of closed event kinds
 * cost a line.
 */
export function keysAmong(spans: number, names: Buffer[]): boolean {
  const b = memoBytes!;
  keys: for (let x = memoSpans[spans], to = x + 3 * memoKeys[spans]; x < to; x += 3) {
    const from = arena[x];
    const len = arena[x + 1] - from;
    for (let y = 0; y < names.length; y++) {
      const name = names[y];
      if (name.length !== len) continue;
      let k = 0;
      while (k < len && b[from + k] === name[k]) k++;
      if (k === len) continue keys;
    }
    return false;
  }
  return true;
}
const keyFrom = new Int32Array(256);
const keyTo = new Int32Array(256);
const keyHash = new Int32Array(256);
const valueAt = new Int32Array(256);

/**
 * For the object whose `{` is `b[start]`: the index after it when it is JSON and no key appears twice
 * in it (top level, unescaped keys only), else -1. This lets a subschema that rejects one member
 * answer REJECT at once: with no repeated key, JSON.parse keeps that member's value, so the verdict
 * stands. Remembered per start within a line (forgetObjects), since a `oneOf` of many branches asks
 * about the same object once per branch: over GitHub's webhook payloads (66 branches) that made the
 * fast path several times faster than reading every object to its end in every branch.
 */
export function objectDistinct(b: Buffer, start: number, end: number): number {
  const known = slotOf(start);
  if (known >= 0) return memoEnd[known];
  let result = -1;
  let n = 0;
  let i = skipWs(b, start + 1, end);
  if (i < end && b[i] === 0x7d) result = i + 1;
  else {
    for (;;) {
      if (i >= end || b[i] !== QUOTE) break;
      const from = i + 1;
      i = scanString(b, from, end);
      if (i < 0 || scanned.hadEscape || n === 256) break;
      let h = i - from;
      for (let k = from; k < i - 1; k++) h = Math.imul(h ^ b[k], 0x01000193);
      let repeated = false;
      for (let x = 0; x < n && !repeated; x++) {
        if (keyHash[x] === h && keyTo[x] - keyFrom[x] === i - 1 - from && b.compare(b, keyFrom[x], keyTo[x], from, i - 1) === 0) repeated = true;
      }
      if (repeated) break;
      keyFrom[n] = from;
      keyTo[n] = i - 1;
      keyHash[n++] = h;
      if (b[i] <= 0x20) i = skipWs(b, i, end);
      if (i >= end || b[i] !== 0x3a) break;
      i = skipWs(b, i + 1, end);
      valueAt[n - 1] = i;
      i = skipValue(b, i, end);
      if (i < 0) break;
      if (b[i] <= 0x20) i = skipWs(b, i, end);
      if (i >= end) break;
      if (b[i] === 0x2c) {
        i = skipWs(b, i + 1, end);
        continue;
      }
      if (b[i] === 0x7d) result = i + 1;
      break;
    }
  }
  // Names are never decoded: a rejected member of an object no branch tests (a line's root, say)
  // needs to know only that its value is the one JSON.parse keeps. Decoding every key of every such
  // root made a rejected web event cost twice what a valid one does.
  remember(b, start, result, n);
  return result;
}

/**
 * Every branch of the scanners above, run once at load on a few valid and broken values, so that
 * each has type feedback before V8 optimizes it. Why: optimized code that reaches a branch which
 * never ran is thrown away and compiled again ("insufficient type feedback"). Over a file's first
 * 20 MB of web events, skipValue was compiled 6 times and scanNumber and scanString twice each as
 * rarer values (a `null`, an exponent, an escape) turned up, which made the first pass cost
 * several times the later ones.
 */
function exercise(): void {
  const samples = [
    ' { "a" : "x\\n\\u00e9\\"y" , "b":-12.5e+3,"c":0,"d":[true,false,null,{},[],{"e":[1,2.5E-2,"s"]}],"f":{"g":{"h":"ij"}},"k":-0.25,"l":123456 } ',
    '{"a":"x","a":1}',
    '{"a":"\\x"}',
    '{"a":"\\u12"}',
    '{"a":"x\u0001"}',
    '{"a":"unterminated',
    '{"a":-}',
    '{"a":1.}',
    '{"a":1e}',
    '{"a":tru}',
    '{"a":[1,2}',
    '{"a" 1}',
    '{"a":1,}',
    '{"a":{"b":[[[[]]]]}}x',
    '[]',
    '{}',
  ].map((s) => Buffer.from(s, 'utf8'));
  // Several rounds: V8 starts collecting a function's feedback only after it ran a while.
  for (let round = 0; round < 10; round++) for (const b of samples) {
    skipValue(b, 0, b.length);
    const at = b.indexOf(0x7b);
    if (at >= 0) objectDistinct(b, at, b.length);
    forgetObjects();
    for (let i = 0; i < b.length; i++) {
      if (b[i] === QUOTE) scanString(b, i + 1, b.length);
      else if (b[i] === 0x2d || (b[i] >= 0x30 && b[i] <= 0x39)) {
        const e = scanNumber(b, i, b.length);
        if (e > i) lastNumber(b, i, e);
      }
    }
  }
  viewOf = undefined;
}
exercise();
