/**
 * The fast path's checks (fast-path.ts) as closures: each subschema's check is made by one of a few
 * factory functions below from what the compiler decided, with the same answers, keyword by keyword,
 * as the source fast-path-emit.ts writes for it (the contract is in that module's comment).
 *
 * Why, beside generated code: a large schema generates thousands of distinct functions (GitHub's
 * webhook schema: about 2,300, 123k lines), and V8 compiles each one it runs hot on its own, so a
 * worker that sees its 100 MB once spends most of its CPU warming up. Closures of the same function
 * literal share their feedback and optimized code: here the whole fast path is a few dozen
 * literals, optimized once. Their call sites see many targets, so a small schema runs faster as
 * generated code (see compileRootCheck for the choice).
 */
import { guardFails, KIND_OBJECT, KINDS, type Guard } from './branch-guard.js';
import { keyCount, keysRead, keysReading, knownEnd, knownSpans, lastNumber, objectDistinct, pushKey, rememberKeys, repeatedKey, valueAfter, scanned, scanNumber, scanString, scanWord, skipValue, skipWs, TRUE, FALSE, NULL } from './json-scan.js';
import {
  ANY,
  enumHas,
  itemsDistinct,
  explainsExtras,
  explainsOne,
  lineCheck,
  LINE_REJECT,
  LINE_REJECT_EXTRA,
  LINE_REJECT_MISSING,
  LINE_REJECT_ONE,
  MAX_NESTING,
  NEVER,
  oneBroken,
  T_ARRAY,
  T_BOOLEAN,
  T_INTEGER,
  T_NULL,
  T_NUMBER,
  T_OBJECT,
  T_STRING,
  UNSURE,
  type ArraySpec,
  type Check,
  type CheckEmitter,
  type EnumList,
  type Name,
  type NumberSpec,
  type ObjectSpec,
  type StringCheck,
  keysByFirstByte,
  knownSpellings,
  keysByBytes,
  readsByKey,
} from './fast-path-emit.js';

/** What every check of one build shares: the `$ref` depth, and whether some `$ref` recurses (see Emitter.anyOf). */
interface Shared {
  n: number;
  deep: boolean;
  allBranches: boolean;
}

const anyV: Check = (b, i, end) => {
  // An object read whole before in this line (objectDistinct): its end is known.
  if (b[i] === 0x7b) {
    const k = knownEnd(i);
    if (k >= 0) return k;
  }
  const e = skipValue(b, i, end);
  return e < 0 ? -2 : e;
};
const neverV: Check = () => -1;
/** See CheckEmitter.primeKeys. */
const primeV: Check = (b, i, end) => {
  if (b[i] === 0x7b) {
    const e = objectDistinct(b, i, end);
    if (e >= 0) return e;
  }
  return anyV(b, i, end);
};
const unsureV: Check = () => -2;

/** Makes the checks as closures; names are only handed to the compiler, the closures hold each other. */
export class ClosureEmitter implements CheckEmitter {
  private checks = new Map<Name, Check>([
    [ANY, anyV],
    [NEVER, neverV],
    [UNSURE, unsureV],
  ]);
  /** Reserved names not defined yet: their check calls whatever the cell holds by then. */
  private cells = new Map<Name, { f: Check }>();
  private next = 0;
  private st: Shared = { n: 0, deep: false, allBranches: false };

  /** How many checks were made. */
  get size(): number {
    return this.next;
  }

  private fn(name: Name): Check {
    const f = this.checks.get(name);
    if (f === undefined) throw new Error(`fast path: no check named ${name}`);
    return f;
  }

  private define(f: Check): Name {
    const name = `c${this.next++}`;
    this.checks.set(name, f);
    return name;
  }

  reserve(): Name {
    const name = `c${this.next++}`;
    const cell = { f: unsureV };
    this.cells.set(name, cell);
    this.checks.set(name, (b, i, end) => cell.f(b, i, end));
    return name;
  }

  recursive(name: Name, target: Name): void {
    this.st.allBranches = true;
    const st = this.st;
    const t = this.fn(target);
    this.cells.get(name)!.f = (b, i, end) => {
      // Past the limit the whole line is unsure, as in Emitter.recursive.
      if (++st.n > MAX_NESTING) {
        st.n--;
        st.deep = true;
        return -2;
      }
      const r = t(b, i, end);
      st.n--;
      return r;
    };
  }

  alias(name: Name, target: Name): void {
    // Only a recursive $ref is referred to before it is defined: later users may call the target itself.
    const t = this.fn(target);
    this.cells.get(name)!.f = t;
    this.checks.set(name, t);
  }

  allOf(subs: Name[]): Name {
    if (subs.length === 1) return subs[0];
    return this.define(allOfCheck(subs.map((s) => this.fn(s))));
  }

  anyOf(subs: Name[], guards: Array<Guard | undefined> = []): Name {
    return this.define(anyOfCheck(this.branches(subs, guards), this.st));
  }

  oneOf(subs: Name[], guards: Array<Guard | undefined> = []): Name {
    return this.define(oneOfCheck(this.branches(subs, guards), this.st));
  }

  private branches(subs: Name[], guards: Array<Guard | undefined>): Branches {
    const guarded = guards.some((g) => g !== undefined);
    const objectTakers = subs.filter((_, x) => guards[x] === undefined || (guards[x]!.kinds & KIND_OBJECT) !== 0).length;
    return { fns: subs.map((s) => this.fn(s)), guards: subs.map((_, x) => (guarded ? guards[x] : undefined)), guarded, objectTakers };
  }

  not(sub: Name): Name {
    return this.define(notCheck(this.fn(sub)));
  }

  primeKeys(): Name {
    this.primed ??= this.define(primeV);
    return this.primed;
  }
  private primed: Name | undefined;

  ifThenElse(cond: Name, then: Name | undefined, otherwise: Name | undefined): Name {
    return this.define(ifCheck(this.fn(cond), then === undefined ? undefined : this.fn(then), this.fn(otherwise ?? ANY)));
  }

  value(types: number, str: StringCheck[], num: NumberSpec, obj: ObjectSpec | undefined, arr: ArraySpec | undefined, en: EnumList[] | undefined): Name {
    const objCheck = obj ? objectCheck(obj, (s) => this.fn(s)) : anyV;
    const arrCheck = arr ? arrayCheck(arr, (s) => this.fn(s)) : anyV;
    return this.define(valueCheck(types, str, num, objCheck, arrCheck, en));
  }

  build(root: Name): Check {
    return lineCheck(this.fn(root), this.st);
  }
}

function allOfCheck(fns: Check[]): Check {
  return (b, i, end) => {
    let e = -1;
    for (let k = 0; k < fns.length; k++) {
      const r = fns[k](b, i, end);
      if (r < 0) return r;
      if (k === 0) e = r;
      else if (r !== e) return -2;
    }
    return e;
  };
}

/** The branches of an anyOf/oneOf, each with its guard (see Emitter.guarded); `guarded`: some branch has one. */
interface Branches {
  fns: Check[];
  guards: Array<Guard | undefined>;
  guarded: boolean;
  /** How many branches take objects (no guard, or one whose kinds hold objects). */
  objectTakers: number;
}

/**
 * Whether branch `x` may be skipped as REJECT, as Emitter.guarded decides: by the value's kind `kd`,
 * and when `deep`, by the keys of the object.
 */
function skips(br: Branches, x: number, kd: number, deep: boolean, st: Shared, b: Buffer, i: number, end: number): boolean {
  const g = br.guards[x];
  if (g === undefined) return false;
  if (!st.allBranches && kd !== 0 && (kd & g.kinds) === 0) return true;
  return deep && guardFails(g, b, i, end);
}

/** Whether the object at `b[i]` (kind `kd`) is to be looked into against the guards: more than one branch takes objects. */
function looksDeep(br: Branches, kd: number, st: Shared): boolean {
  return !st.allBranches && kd === KIND_OBJECT && br.objectTakers > 1;
}

function anyOfCheck(br: Branches, st: Shared): Check {
  const { fns, guarded } = br;
  return (b, i, end) => {
    const kd = guarded ? KINDS[b[i]] : 0;
    const deep = guarded && looksDeep(br, kd, st);
    let res = -1;
    let e = -1;
    for (let x = 0; x < fns.length; x++) {
      const r = guarded && skips(br, x, kd, deep, st, b, i, end) ? -1 : fns[x](b, i, end);
      if (r >= 0) {
        if (!st.allBranches) return r;
        if (e < 0) e = r;
      } else if (r === -2) res = -2;
    }
    return e >= 0 ? e : res;
  };
}

function oneOfCheck(br: Branches, st: Shared): Check {
  const { fns, guarded } = br;
  return (b, i, end) => {
    const kd = guarded ? KINDS[b[i]] : 0;
    const deep = guarded && looksDeep(br, kd, st);
    let e = -1;
    let passing = 0;
    for (let x = 0; x < fns.length; x++) {
      const r = guarded && skips(br, x, kd, deep, st, b, i, end) ? -1 : fns[x](b, i, end);
      if (r === -2) return -2;
      if (r >= 0) {
        passing++;
        e = r;
      }
    }
    return passing === 1 ? e : -1;
  };
}

function notCheck(sub: Check): Check {
  return (b, i, end) => {
    const r = sub(b, i, end);
    if (r >= 0) return -1;
    if (r === -2) return -2;
    // REJECT is certain only for JSON: make sure it is.
    return anyV(b, i, end);
  };
}

function ifCheck(cond: Check, then: Check | undefined, otherwise: Check): Check {
  return (b, i, end) => {
    const r = cond(b, i, end);
    if (r === -2) return -2;
    if (r >= 0) return then === undefined ? r : then(b, i, end);
    return otherwise(b, i, end);
  };
}

/**
 * A set of byte strings to look a string value (an enum's) up in without decoding it: open addressing
 * on a hash of the bytes, confirmed byte by byte.
 */
class ByteTable {
  private slots: Int32Array;
  private hashes: Int32Array;
  private mask: number;

  constructor(private members: Buffer[]) {
    let size = 4;
    while (size < members.length * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.hashes = new Int32Array(size);
    this.mask = size - 1;
    members.forEach((m, x) => {
      const h = hashBytes(m, 0, m.length);
      let s = h & this.mask;
      while (this.slots[s] !== 0) s = (s + 1) & this.mask;
      this.slots[s] = x + 1;
      this.hashes[s] = h;
    });
  }

  /** The index in `members` of the first one `b[from, to)` spells, or -1. */
  find(b: Buffer, from: number, to: number): number {
    const h = hashBytes(b, from, to);
    const len = to - from;
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const x = this.slots[s];
      if (x === 0) return -1;
      if (this.hashes[s] !== h) continue;
      const m = this.members[x - 1];
      if (m.length === len && sameBytes(m, b, from, len)) return x - 1;
    }
  }
}

function hashBytes(b: Buffer, from: number, to: number): number {
  let h = to - from;
  for (let k = from; k < to; k++) h = Math.imul(h ^ b[k], 0x01000193);
  return h ^ (h >>> 16);
}

function sameBytes(m: Buffer, b: Buffer, from: number, len: number): boolean {
  if (len > 48) return b.compare(m, 0, len, from, from + len) === 0;
  for (let j = 0; j < len; j++) if (m[j] !== b[from + j]) return false;
  return true;
}

/** The view keyAt reads a chunk through, made once per chunk (as json-scan.ts's scanString does). */
let viewOf: Buffer | undefined;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/** Whether `b` holds the key `m` (of `len` bytes, as words from `words[w]` on) at `from`: four bytes a step. */
function keyAt(words: Int32Array, w: number, m: Buffer, b: Buffer, from: number, len: number): boolean {
  if (b !== viewOf) {
    viewOf = b;
    view = new DataView(b.buffer, b.byteOffset, b.length);
  }
  let j = 0;
  for (; j + 4 <= len; j += 4, w++) if (view.getInt32(from + j, true) !== words[w]) return false;
  for (; j < len; j++) if (m[j] !== b[from + j]) return false;
  return true;
}

/** Emitter.value as a closure. */
function valueCheck(types: number, str: StringCheck[], num: NumberSpec, objCheck: Check, arrCheck: Check, en: EnumList[] | undefined): Check {
  const takesString = (types & T_STRING) !== 0;
  const takesNumber = (types & (T_NUMBER | T_INTEGER)) !== 0;
  const takesObject = (types & T_OBJECT) !== 0;
  const takesArray = (types & T_ARRAY) !== 0;
  const takesBoolean = (types & T_BOOLEAN) !== 0;
  const takesNull = (types & T_NULL) !== 0;
  const wholeOnly = (types & T_NUMBER) === 0 && (types & T_INTEGER) !== 0;
  const strBytes = str.map((c) => c.bytes);
  const strStr = str.map((c) => c.str);
  const decodes = str.length > 0 || en !== undefined;
  const enumTables = (en ?? []).map((l) => new ByteTable(l.encoded));
  const enumStrings = (en ?? []).map((l) => l.strings);
  const enumOthers = en === undefined ? undefined : en.map((l) => l.others);
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf } = num;
  const hasLimits = minimum !== undefined || maximum !== undefined || exclusiveMinimum !== undefined || exclusiveMaximum !== undefined;
  const readsNumber = hasLimits || multipleOf !== undefined || en !== undefined || wholeOnly;
  const alwaysReads = hasLimits || multipleOf !== undefined || en !== undefined;
  // Spellings taken at once, with no scan (knownSpellings): enum members, or a fixed length and its tests.
  const known = takesString ? knownSpellings(str, en) : undefined;
  const members = known?.members ?? [];
  const fixed = known?.length ?? -1;
  const fixedTests = known?.tests ?? [];
  return (b, i, end) => {
    const c = b[i];
    let e: number;
    if (c === 0x22) {
      for (let x = 0; x < members.length; x++) {
        const m = members[x];
        const len = m.length;
        if (i + len + 1 < end && b[i + len + 1] === 0x22 && sameBytes(m, b, i + 1, len)) return i + len + 2;
      }
      if (fixed >= 0 && i + fixed + 1 < end && b[i + fixed + 1] === 0x22 && allTake(fixedTests, b, i + 1, i + fixed + 1)) return i + fixed + 2;
      e = scanString(b, i + 1, end);
      if (e < 0) return -2;
      if (!takesString) return -1;
      if (decodes) {
        // The value as JSON.parse gives it: decoded only when some check needs it, escapes only when there are any.
        const esc = scanned.hadEscape;
        let s: string | undefined;
        for (let x = 0; x < strStr.length; x++) {
          const bytes = strBytes[x];
          if (esc || bytes === undefined || !bytes(b, i + 1, e - 1)) {
            s ??= stringValue(b, i, e, esc);
            if (!strStr[x](s)) return -1;
          }
        }
        for (let x = 0; x < enumTables.length; x++) {
          if (esc || enumTables[x].find(b, i + 1, e - 1) < 0) {
            s ??= stringValue(b, i, e, esc);
            if (!enumStrings[x].has(s)) return -1;
          }
        }
      }
      return e;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      e = scanNumber(b, i, end);
      if (e < 0) return -2;
      if (!takesNumber) return -1;
      if (readsNumber && (alwaysReads || !scanned.numberIsPlainInteger)) {
        const n = lastNumber(b, i, e);
        // 1e400 is Infinity to JSON.parse, and a number to ajv only without strictNumbers: unsure.
        if (!Number.isFinite(n)) return -2;
        if (wholeOnly && n % 1 !== 0) return -1;
        if (minimum !== undefined && !(n >= minimum)) return -1;
        if (maximum !== undefined && !(n <= maximum)) return -1;
        if (exclusiveMinimum !== undefined && !(n > exclusiveMinimum)) return -1;
        if (exclusiveMaximum !== undefined && !(n < exclusiveMaximum)) return -1;
        if (multipleOf !== undefined) {
          // ajv's own test (without multipleOfPrecision): the quotient equals parseInt of itself.
          const q = n / multipleOf;
          if (q !== parseInt(q as unknown as string)) return -1;
        }
        if (enumOthers !== undefined && !inEvery(enumOthers, n)) return -1;
      }
      return e;
    }
    if (c === 0x7b) {
      if (!takesObject) return -1;
      e = objCheck(b, i, end);
    } else if (c === 0x5b) {
      if (!takesArray) return -1;
      e = arrCheck(b, i, end);
    } else if (c === 0x74 || c === 0x66) {
      e = scanWord(b, i, end, c === 0x74 ? TRUE : FALSE);
      if (e < 0) return -2;
      if (!takesBoolean) return -1;
    } else if (c === 0x6e) {
      e = scanWord(b, i, end, NULL);
      if (e < 0) return -2;
      if (!takesNull) return -1;
    } else return -2;
    if (enumOthers !== undefined && e >= 0 && !inEvery(enumOthers, JSON.parse(b.toString('utf8', i, e)))) return -1;
    return e;
  };
}

/** Whether every one of `tests` takes the bytes `b[from, to)`. */
function allTake(tests: Array<(b: Buffer, from: number, to: number) => boolean>, b: Buffer, from: number, to: number): boolean {
  for (let x = 0; x < tests.length; x++) if (!tests[x](b, from, to)) return false;
  return true;
}

/** The JSON string `b[i, e)` (quotes included) as JSON.parse gives it; `esc`: it has escapes. */
function stringValue(b: Buffer, i: number, e: number, esc: boolean): string {
  return esc ? (JSON.parse(b.toString('utf8', i, e)) as string) : b.toString('utf8', i + 1, e - 1);
}

/** Whether `v` equals a member of every list (ajv's `equal`). */
function inEvery(lists: unknown[][], v: unknown): boolean {
  for (let x = 0; x < lists.length; x++) if (!enumHas(lists[x], v)) return false;
  return true;
}

/** Emitter.object as a closure; `fn` gives the check of a name. */
function objectCheck(spec: ObjectSpec, fn: (name: Name) => Check): Check {
  const { keys, required, min, max, keySensitive, distinct, lineRoot } = spec;
  const n = keys.length;
  const small = n <= 30;
  // The keys matched in place (keysByFirstByte), in flat lists: those of first byte `c` are at
  // [groupFrom[c], groupFrom[c + 1]), each with its length and index into `keys`.
  const groupFrom = new Int32Array(257);
  const candidates: Array<{ bytes: Buffer; x: number }> = [];
  const byFirst = keysByFirstByte(keys.map((k) => k.bytes));
  for (let c = 0; c < 256; c++) {
    groupFrom[c] = candidates.length;
    candidates.push(...(byFirst.get(c) ?? []));
  }
  groupFrom[256] = candidates.length;
  const candLength = Int32Array.from(candidates, (cand) => cand.bytes.length);
  const candKey = Int32Array.from(candidates, (cand) => cand.x);
  const candBytes = candidates.map((cand) => cand.bytes);
  // Each key's bytes as little-endian 32-bit words (the last 0-3 bytes apart), from candWords[x].
  const candWords = new Int32Array(candidates.length);
  const words = Int32Array.from(candidates.flatMap((cand) => Array.from({ length: cand.bytes.length >> 2 }, (_, w) => cand.bytes.readInt32LE(w * 4))));
  candidates.reduce((at, cand, x) => ((candWords[x] = at), at + (cand.bytes.length >> 2)), 0);
  const keyChecks = keys.map((k) => (k.check === undefined ? undefined : fn(k.check)));
  const inProperties = keys.map((k) => k.inProperties);
  const want = small ? required.reduce((m, k) => m | (1 << k), 0) : 0;
  const patterns = spec.patterns.map((p) => p.re);
  const patternChecks = spec.patterns.map((p) => fn(p.check));
  const additional = spec.additional === undefined ? undefined : fn(spec.additional);
  const propertyNames = spec.propertyNames === undefined ? undefined : fn(spec.propertyNames);
  const deps = spec.dependencies.map((d) => ({ key: d.key, names: d.names, check: d.check === undefined ? undefined : fn(d.check) }));
  // A key it remembers is looked up by its bytes later (records): none may be escaped either.
  const records = spec.records === true;
  const escapesMatter = n > 0 || keySensitive || records;
  const one = explainsOne(spec);
  const extras = explainsExtras(spec);
  const byKey = readsByKey(spec);
  const namedKeys = keys.flatMap((k, x) => (keyChecks[x] === undefined ? [] : [{ bytes: k.bytes, check: keyChecks[x]! }]));
  const requiredBytes = required.map((k) => keys[k].bytes);
  /** The object at `start`, read whole before (where its keys are: `ks`), by the members the keywords name. */
  const readByKey = (b: Buffer, start: number, end: number, ks: number): number => {
    for (let x = 0; x < requiredBytes.length; x++) if (valueAfter(ks, requiredBytes[x]) < 0) return -1;
    for (let x = 0; x < namedKeys.length; x++) {
      const at = valueAfter(ks, namedKeys[x].bytes);
      if (at < 0) continue;
      const r = namedKeys[x].check(b, at, end);
      if (r < 0) return r;
    }
    const count = keyCount(ks);
    if (count < min || count > max) return -1;
    const e = knownEnd(start);
    for (const d of deps) {
      if (valueAfter(ks, keys[d.key].bytes) < 0) continue;
      for (const x of d.names) if (valueAfter(ks, keys[x].bytes) < 0) return -1;
      if (d.check !== undefined) {
        const r = d.check(b, start, end);
        if (r < 0) return r;
        if (r !== e) return -2;
      }
    }
    return e;
  };
  // Beyond 30 keys a key seen is marked in `seen` with this call's stamp, so no array is cleared or
  // made per object; a call made while another is under way (a nested object of the same
  // subschema, through a recursive $ref) marks a fresh array of its own instead.
  const stamps = small ? undefined : new Int32Array(n);
  let stamp = 0;
  let busy = false;
  const byBytes = keysByBytes(spec);
  const check: ObjectBody = (b, i, end, seen, t) => {
    const start = i;
    // Where this object's keys start on repeatedKey's stack (popped by keysPopped).
    const base = byBytes ? keysReading() : 0;
    i++;
    if (b[i] <= 0x20) i = skipWs(b, i, end);
    let mask = 0;
    let names: string[] | undefined;
    let r: number;
    let ve: number;
    let count = 0;
    // A REJECT stands only once the whole object is read: a repeated key could replace the value.
    let failed = false;
    // The one broken member so far (-1: none), its value's start, and its end (-2: to be read).
    let oneAt = -1;
    let oneFrom = 0;
    let oneTo = -1;
    // Whether a key that is not allowed was read (its name is in `names`).
    let extra = false;
    if (byKey) {
      // Another check already read this object whole in this line (readsByKey in fast-path-emit.ts).
      const ks = knownSpans(start);
      if (ks >= 0) return readByKey(b, start, end, ks);
    } else if (requiredBytes.length > 0) {
      // Another branch already read this object: a missing required key settles it without reading it again.
      const ks = knownSpans(start);
      if (ks >= 0) for (let x = 0; x < requiredBytes.length; x++) if (valueAfter(ks, requiredBytes[x]) < 0) return -1;
    }
    if (i < end && b[i] === 0x7d) i++;
    else
      for (;;) {
        if (i >= end || b[i] !== 0x22) return -2;
        const kf = i + 1;
        let k = -1;
        const c = b[kf];
        for (let x = groupFrom[c], to = groupFrom[c + 1]; x < to; x++) {
          const len = candLength[x];
          if (kf + len < end && b[kf + len] === 0x22 && keyAt(words, candWords[x], candBytes[x], b, kf, len)) {
            k = candKey[x];
            i = kf + len + 1;
            break;
          }
        }
        // Not a key the keywords name: scan it.
        if (k < 0) {
          i = scanString(b, kf, end);
          if (i < 0) return -2;
          if (escapesMatter && scanned.hadEscape) return -2;
        }
        const kt = i - 1;
        if (b[i] <= 0x20) i = skipWs(b, i, end);
        if (i >= end || b[i] !== 0x3a) return -2;
        i++;
        if (b[i] <= 0x20) i = skipWs(b, i, end);
        if (i >= end) return -2;
        let name: string | undefined;
        if (k >= 0) {
          if (small) {
            if ((mask & (1 << k)) !== 0) return -2;
            mask |= 1 << k;
          } else {
            if (seen![k] === t) return -2;
            seen![k] = t!;
          }
          if (records && !pushKey(kf, kt, i)) return -2;
        } else if (byBytes) {
          if (repeatedKey(b, base, kf, kt, i)) return -2;
        } else if (distinct) {
          name = b.toString('utf8', kf, kt);
          names ??= [];
          if (names.includes(name)) return -2;
          names.push(name);
        }
        count++;
        ve = -1;
        if (!failed) {
          if (propertyNames !== undefined) {
            r = propertyNames(b, kf - 1, end);
            if (r === -2) return -2;
            if (r === -1) failed = true;
          }
          // Every subschema that applies to this member's value, in turn.
          let matched = false;
          if (k >= 0) {
            if (inProperties[k]) matched = true;
            const check = keyChecks[k];
            if (check !== undefined && !failed) {
              r = check(b, i, end);
              if (r === -2) return -2;
              if (r === -1) {
                // A second broken member, or one broken otherwise than by its own subschema: LINE_REJECT.
                if (!one) failed = true;
                else {
                  if (oneAt >= 0) return LINE_REJECT;
                  oneAt = k;
                  oneFrom = i;
                  oneTo = -2;
                }
              } else if (ve >= 0 && r !== ve) return -2;
              else ve = r;
            }
          }
          if (patterns.length > 0 && !failed) {
            if (name === undefined) name = b.toString('utf8', kf, kt);
            for (let x = 0; x < patterns.length; x++) {
              if (failed || !patterns[x].test(name)) continue;
              matched = true;
              r = patternChecks[x](b, i, end);
              if (r === -2) return -2;
              if (r === -1) failed = true;
              else if (ve >= 0 && r !== ve) return -2;
              else ve = r;
            }
          }
          if (extras && !matched && !failed) extra = true;
          else if (additional !== undefined && !matched && !failed) {
            r = additional(b, i, end);
            if (r === -2) return -2;
            if (r === -1) failed = true;
            else if (ve >= 0 && r !== ve) return -2;
            else ve = r;
          }
          // With no repeated key, the failed member's value is the one JSON.parse keeps: REJECT now.
          if (failed) {
            if (lineRoot) return LINE_REJECT;
            if (objectDistinct(b, start, end) >= 0) return -1;
          }
        }
        i = ve >= 0 ? ve : b[i] === 0x22 ? scanString(b, i + 1, end) : skipValue(b, i, end);
        if (i < 0) return -2;
        if (oneTo === -2) oneTo = i;
        i = afterMember(b, i, end, 0x7d);
        if (i < 0) return -2;
        if (b[i - 1] === 0x7d) break;
      }
    if (failed) return -1;
    // A line root checked as for one broken member reads on past missing required keys (LINE_REJECT_MISSING).
    let missing = false;
    if (small) {
      if ((mask & want) !== want) {
        if (!one) return -1;
        missing = true;
      }
    } else for (let x = 0; x < required.length; x++) if (seen![required[x]] !== t) return -1;
    if (count < min) return -1;
    if (count > max) return -1;
    for (let x = 0; x < deps.length; x++) {
      const d = deps[x];
      if (!(small ? (mask & (1 << d.key)) !== 0 : seen![d.key] === t)) continue;
      for (let y = 0; y < d.names.length; y++) if (!(small ? (mask & (1 << d.names[y])) !== 0 : seen![d.names[y]] === t)) return -1;
      if (d.check !== undefined) {
        r = d.check(b, start, end);
        if (r < 0) return r;
        if (r !== i) return -2;
      }
    }
    if (missing) {
      if (oneAt >= 0 || extra) return -1;
      oneBroken.missing = want & ~mask;
      oneBroken.end = i;
      return LINE_REJECT_MISSING;
    }
    if (extra) {
      if (oneAt >= 0) return LINE_REJECT;
      oneBroken.extras = names!;
      oneBroken.end = i;
      return LINE_REJECT_EXTRA;
    }
    if (oneAt >= 0) {
      oneBroken.key = keys[oneAt].name;
      oneBroken.from = oneFrom;
      oneBroken.to = oneTo;
      oneBroken.end = i;
      return LINE_REJECT_ONE;
    }
    if (records) rememberKeys(b, start, i, base);
    return i;
  };
  // Whatever it answers, the keys it pushed are popped.
  const keysPopped: ObjectBody = byBytes
    ? (b, i, end, seen, t) => {
        const base = keysReading();
        const r = check(b, i, end, seen, t);
        keysRead(base);
        return r;
      }
    : check;
  // Up to 30 keys are marked in a mask: the body is the check itself.
  if (small) return keysPopped;
  return (b, i, end) => {
    if (busy) return keysPopped(b, i, end, new Int32Array(n), 1);
    if (stamp === 0x7fffffff) {
      stamps!.fill(0);
      stamp = 0;
    }
    busy = true;
    try {
      return keysPopped(b, i, end, stamps, ++stamp);
    } finally {
      // Also when the JS stack runs out inside (compileFastCheck answers UNSURE then): the next line must not find it busy.
      busy = false;
    }
  };
}

/** objectCheck's body: `seen` marks each key seen with `t` (objects of more than 30 keys only). */
type ObjectBody = (b: Buffer, i: number, end: number, seen?: Int32Array, t?: number) => number;

/**
 * Past what follows a member's or an item's value ending at `i`: the comma and white space, to the
 * next one (which starts with no `close` before it); or `close`, to the index after it. -2 when
 * neither follows.
 */
function afterMember(b: Buffer, i: number, end: number, close: number): number {
  if (b[i] <= 0x20) i = skipWs(b, i, end);
  if (i >= end) return -2;
  if (b[i] === 0x2c) {
    i++;
    return b[i] <= 0x20 ? skipWs(b, i, end) : i;
  }
  return b[i] === close ? i + 1 : -2;
}

/** Emitter.array as a closure; `fn` gives the check of a name. */
function arrayCheck(spec: ArraySpec, fn: (name: Name) => Check): Check {
  const { containsSkippedUpTo, minContains, maxContains, min, max, unique } = spec;
  const prefix = spec.prefix.map(fn);
  const rest = spec.rest === undefined ? undefined : fn(spec.rest);
  const contains = spec.contains === undefined ? undefined : fn(spec.contains);
  return (b, i, end) => {
    const start = i;
    i++;
    if (b[i] <= 0x20) i = skipWs(b, i, end);
    let r: number;
    let e: number;
    let count = 0;
    let found = 0;
    if (i < end && b[i] === 0x5d) i++;
    else
      for (;;) {
        if (i >= end) return -2;
        e = -1;
        // The item's own subschema (-3: none applies).
        const own = count < prefix.length ? prefix[count] : rest;
        r = own === undefined ? -3 : own(b, i, end);
        if (r !== -3) {
          if (r < 0) return r;
          e = r;
        }
        if (contains !== undefined) {
          r = contains(b, i, end);
          if (r === -2) return -2;
          if (r >= 0) {
            if (e >= 0 && r !== e) return -2;
            e = r;
            found++;
          }
        }
        i = e >= 0 ? e : skipValue(b, i, end);
        if (i < 0) return -2;
        count++;
        i = afterMember(b, i, end, 0x5d);
        if (i < 0) return -2;
        if (b[i - 1] === 0x5d) break;
      }
    if (count < min) return -1;
    if (count > max) return -1;
    if (contains !== undefined && (found < minContains || found > maxContains)) return count <= containsSkippedUpTo ? -2 : -1;
    if (unique && count > 1) {
      if (count > 1000) return -2;
      if (!itemsDistinct(b, start, i)) return -1;
    }
    return i;
  };
}
