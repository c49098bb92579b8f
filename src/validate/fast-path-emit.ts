/**
 * Writes the fast path (fast-path.ts) as JavaScript source, one function per subschema, and builds it
 * with `new Function`. The compiler decides what each subschema means; this module only says it in
 * code.
 *
 * Why generated code: a tree of shared closures (one `valueCheck` body for every subschema) makes
 * every call site inside them megamorphic, so V8 inlines nothing. On the built-in rules that tree
 * ran 140–210 MB/s per core against 270–290 MB/s for the hand-written one-schema scanner it replaced;
 * with a function body per subschema every call site sees one target, keys are matched by inline
 * byte comparisons, and the generated code runs faster than the hand-written scanner did.
 *
 * Every generated function has the contract of fast-path.ts's checks: for the value whose first
 * byte (not whitespace) is `b[i]`, the index after it when the subschema accepts it, else
 * -1 (REJECT: ajv rejects it, provided the bytes turn out to be JSON) or -2 (UNSURE); the line's
 * root object alone may also answer LINE_REJECT (-3) and LINE_REJECT_ONE (-4).
 */
import equalModule from 'ajv/dist/runtime/equal.js';
import { fixedLength } from './byte-formats.js';
import { guardFails, KIND_OBJECT, KINDS, type Guard } from './branch-guard.js';
import { forgetObjects, keyCount, keysRead, keysReading, knownEnd, knownSpans, pushKey, rememberKeys, repeatedKey, valueAfter, lastNumber, objectDistinct, QUOTE, scanned, scanNumber, scanString, scanWord, skipValue, skipWs, TRUE, FALSE, NULL } from './json-scan.js';

const equal = ((equalModule as any).default ?? equalModule) as (a: unknown, b: unknown) => boolean;

/** The name of a generated check, or one of the three fixed ones below. */
export type Name = string;
/** Any JSON value (the `true` schema). */
export const ANY: Name = 'anyV';
/** No value (the `false` schema). */
export const NEVER: Name = 'neverV';
/** Left to ajv. */
export const UNSURE: Name = 'unsureV';

/** A check as built: see the module comment. */
export type Check = (b: Buffer, i: number, end: number) => number;

/** Recursion through `$ref` deeper than this answers UNSURE: the JS stack is the limit here. */
export const MAX_NESTING = 400;

// Value kinds, as bits.
export const T_STRING = 1;
export const T_NUMBER = 2; // any JSON number
export const T_INTEGER = 4; // a number whose value is whole
export const T_BOOLEAN = 8;
export const T_NULL = 16;
export const T_OBJECT = 32;
export const T_ARRAY = 64;
export const T_ANY = 127;

/**
 * One check on a string value. `str` is exactly ajv's check, on the value as JSON.parse gives it.
 * `bytes`, when present, looks at the raw UTF-8 bytes of a value without escapes and never
 * allocates: it answers true only when `str` would, and false when unsure, and `str` then decides.
 */
export interface StringCheck {
  bytes?: (b: Buffer, from: number, to: number) => boolean;
  str: (s: string) => boolean;
}

/** One enum or const: the value must be one of `strings` or equal (ajv's `equal`) one of `others`. */
export interface EnumList {
  strings: Set<string>;
  encoded: Buffer[];
  others: unknown[];
}

/** Numeric limits of a subschema (ajv's comparisons, in its order). */
export interface NumberSpec {
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
}

export interface ObjectSpec {
  /** Every key the keywords name (properties, required, dependencies), with its subschema if any. */
  keys: Array<{ name: string; bytes: Buffer; check: Name | undefined; inProperties: boolean }>;
  patterns: Array<{ re: RegExp; check: Name }>;
  /** additionalProperties when not `true`. */
  additional: Name | undefined;
  propertyNames: Name | undefined;
  required: number[];
  min: number;
  max: number;
  dependencies: Array<{ key: number; names: number[]; check: Name | undefined }>;
  /** An escaped key could change the verdict. */
  keySensitive: boolean;
  /** Every key's spelling is collected to catch repeats. */
  distinct: boolean;
  /**
   * Checks after this one read the same object again (an `if`, `allOf`, `oneOf` or `anyOf` beside
   * it, never at the line's root): true, it tells every key apart by its bytes and remembers where each is
   * (json-scan.ts's rememberKeys), so that they read it by key (readsByKey); false where it cannot
   * (`patternProperties` test decoded names), and the object is read whole before it (primeKeys).
   */
  records?: boolean;
  /**
   * The line's root object, reached from the line check with nothing between them that weighs a
   * REJECT (no combinator, `not`, `if` or `$ref` at the root). A member that breaks a rule then
   * answers LINE_REJECT at once (unless the object reads on for LINE_REJECT_ONE, explainsOne): the
   * line is rejected unless a repeated key replaces that member
   * (JSON.parse keeps the last), which only the rest of the object could tell. The caller parses and
   * explains every rejected line anyway, and asks ajv when the explanation finds nothing wrong
   * (classify.ts), so reading on (the rest of the line, then every key again for repeats) bought
   * nothing there: on the built-in rules it was two thirds of what the fast path spent on a reject.
   */
  lineRoot: boolean;
  /** A line root that no keyword but these judges (no `enum` or `const` beside them): see explainsOne. */
  alone: boolean;
}

/** The root object's answer for a line that breaks a rule unless a key repeats (ObjectSpec.lineRoot). */
export const LINE_REJECT = -3;

/**
 * The root object's answer for a line whose one broken member is the value of one of its
 * `properties` (where `oneBroken` says), read to its end: every other member and every keyword of
 * the object passed, and no key the keywords name repeats. Then ajv's errors for the whole line
 * (allErrors) are that member's own, so that value alone is parsed and explained (classify.ts):
 * parsing the whole line was most of what a rejected web event cost. Only for a line root that
 * nothing but its object keywords judges, and whose members no `patternProperties` or
 * `propertyNames` also checks (explainsOne).
 */
export const LINE_REJECT_ONE = -4;
/**
 * Where LINE_REJECT_ONE found the broken member: its key, its value's bytes [from, to), and the
 * index after the object; for LINE_REJECT_EXTRA, the keys that were not allowed (`extras`); for
 * LINE_REJECT_MISSING, the required keys that are missing (`missing`, one bit per key as the root
 * check numbers them).
 */
export const oneBroken = { key: '', from: 0, to: 0, end: 0, extras: [] as string[], missing: 0 };

/**
 * Whether the object check of `spec` reads an object already read whole in this line (json-scan.ts's
 * knownSpans: JSON, no key repeated, none escaped; remembered by objectDistinct, or by an object
 * check with ObjectSpec.records) by looking up the members its keywords name, instead of reading it
 * again: no keyword of it needs every key (`patternProperties`, `additionalProperties`,
 * `propertyNames`), and it is not the line's root (read first, and answering more than a verdict).
 * Then the members not named pass, and the verdict is that of the members named: a REJECT of one of
 * them is the object's, none repeating. Why: an `if` over an event's type, an `allOf` of conditions
 * or a `oneOf` of event kinds reads the same object once per branch. On web events checked by three
 * `if`/`then` conditions on their type, the fast path took 38 us a line.
 */
export function readsByKey(spec: ObjectSpec): boolean {
  return !spec.lineRoot && spec.patterns.length === 0 && spec.additional === undefined && spec.propertyNames === undefined;
}

/**
 * Whether the object check of `spec` tells keys no keyword names apart by their bytes (repeatedKey
 * in json-scan.ts), on a stack popped when it returns: where it remembers its keys (records), or
 * where repeats matter and no name is needed decoded (no `patternProperties`, no extra keys to
 * report).
 */
export function keysByBytes(spec: ObjectSpec): boolean {
  return spec.records === true || (spec.distinct && spec.patterns.length === 0 && !explainsExtras(spec));
}

/** Whether the object of `spec` answers LINE_REJECT_ONE (see there). */
export function explainsOne(spec: ObjectSpec): boolean {
  return spec.alone && spec.patterns.length === 0 && spec.propertyNames === undefined;
}

/**
 * The root object's answer for a line whose only fault is keys that `additionalProperties: false`
 * forbids (oneBroken.extras names them, in the line's order), read to its end: every named member
 * and every other keyword of the object passed, and no key repeats. ajv's errors for the whole line
 * (allErrors) are then one per such key, in an order that depends on their names alone, so a line
 * with the same extra keys is explained as the first such line was (classify.ts): a producer that
 * adds a field makes every line one of these.
 */
export const LINE_REJECT_EXTRA = -5;

/**
 * The root object's answer for a line whose only fault is required keys that are missing
 * (oneBroken.missing says which), read to its end: every member and every other keyword of the
 * object passed, and no key repeats. ajv's errors for the whole line (allErrors) are then one per
 * missing key, in the order of `required`, so a line missing the same keys is explained as the
 * first such line was (classify.ts): a producer that drops a field makes every line one of these.
 * Only for a root that answers LINE_REJECT_ONE, with at most 30 keys named (a bit mask).
 */
export const LINE_REJECT_MISSING = -6;

/** Whether the object of `spec` answers LINE_REJECT_EXTRA: explainsOne, extra keys forbidden, and every key its keywords name one of its `properties`. */
export function explainsExtras(spec: ObjectSpec): boolean {
  return explainsOne(spec) && spec.additional === NEVER && spec.keys.every((key) => key.inProperties);
}

export interface ArraySpec {
  prefix: Name[];
  rest: Name | undefined;
  contains: Name | undefined;
  /**
   * ajv (8.x) skips `contains` for an array of at most this many items (-1: never): beside a tuple
   * `items`/`prefixItems`, only once it checked an item against a tuple schema that is not always
   * valid (`true`, `{}`), as its `valid` flag is the tuple's until then.
   */
  containsSkippedUpTo: number;
  minContains: number;
  maxContains: number;
  min: number;
  max: number;
  unique: boolean;
}

/**
 * What the compiler (fast-path.ts) asks of an emitter: a check per subschema, each named, then all
 * built into the root's. Emitter writes them as generated source, ClosureEmitter
 * (fast-path-closures.ts) makes them closures of a few shared function literals; both answer alike.
 */
export interface CheckEmitter {
  /** Reserves a name (for a `$ref` compiled after its first use), defined later by `recursive` or `alias`. */
  reserve(): Name;
  /** A recursive `$ref`: counts its depth, so a schema that refers to itself without descending ends. */
  recursive(name: Name, target: Name): void;
  /** A plain alias: `name` does what `target` does. */
  alias(name: Name, target: Name): void;
  allOf(subs: Name[]): Name;
  anyOf(subs: Name[], guards?: Array<Guard | undefined>): Name;
  oneOf(subs: Name[], guards?: Array<Guard | undefined>): Name;
  not(sub: Name): Name;
  /**
   * Any value (ANY), an object read whole first by objectDistinct (its keys remembered for the
   * line): put before the checks of a subschema that read the same object again (see readsByKey).
   */
  primeKeys(): Name;
  ifThenElse(cond: Name, then: Name | undefined, otherwise: Name | undefined): Name;
  /** The check of a subschema's own keywords, for a value of any kind. */
  value(types: number, str: StringCheck[], num: NumberSpec, obj: ObjectSpec | undefined, arr: ArraySpec | undefined, en: EnumList[] | undefined): Name;
  /** Builds every check defined, and returns the one named `root`. */
  build(root: Name): Check;
}

/** A number as JavaScript source (finite numbers only; -0 compares as 0 everywhere it is used). */
const lit = (n: number): string => (Object.is(n, -0) ? '0' : String(n));

/** Collects generated functions and the values they refer to, then builds them. */
export class Emitter implements CheckEmitter {
  private fns: string[] = [];
  private consts: unknown[] = [];
  private next = 0;
  /** Whether some `$ref` recurses: see anyOf. */
  private hasRecursive = false;

  /** A value the generated code refers to, by name. */
  konst(v: unknown): string {
    this.consts.push(v);
    return `k${this.consts.length - 1}`;
  }

  /** Reserves a function name (for a `$ref` compiled after its first use). */
  reserve(): Name {
    return `f${this.next++}`;
  }

  /** Defines function `name` (reserved, or new) with `body`, taking `params`. */
  define(body: string, name: Name = this.reserve(), params = 'b, i, end'): Name {
    this.fns.push(`function ${name}(${params}) {\n${body}\n}`);
    return name;
  }

  /** A recursive `$ref`: counts its depth, so a schema that refers to itself without descending ends. */
  recursive(name: Name, target: Name): void {
    this.hasRecursive = true;
    // Past the limit the whole line is unsure (st.deep), not only this value: ajv itself may run out
    // of stack there, and that is a reject, which an `anyOf` sibling must not turn into an accept.
    this.define(`if (++st.n > ${MAX_NESTING}) { st.n--; st.deep = true; return -2; }\nconst r = ${target}(b, i, end);\nst.n--;\nreturn r;`, name);
  }

  /** A plain alias: `name` does what `target` does. */
  alias(name: Name, target: Name): void {
    this.define(`return ${target}(b, i, end);`, name);
  }

  allOf(subs: Name[]): Name {
    if (subs.length === 1) return subs[0];
    const body = ['let r, e;'];
    subs.forEach((s, k) => body.push(`r = ${s}(b, i, end);\nif (r < 0) return r;\n${k === 0 ? 'e = r;' : 'if (r !== e) return -2;'}`));
    body.push('return e;');
    return this.define(body.join('\n'));
  }

  anyOf(subs: Name[], guards: Array<Guard | undefined> = []): Name {
    // ajv (2019-09 and 2020-12, which track evaluated properties) tries every branch even after one
    // passes, so with a recursive $ref in the schema a later branch may overflow its stack (a reject):
    // then every branch is tried here too, and st.deep tells.
    const calls = this.guarded(subs, guards);
    const body = [...calls.head, 'let r, res = -1, e = -1;'];
    subs.forEach((s, x) => body.push(`r = ${calls.calls[x]};\nif (r >= 0) {\nif (!allBranches) return r;\nif (e < 0) e = r;\n}\nelse if (r === -2) res = -2;`));
    body.push('return e >= 0 ? e : res;');
    return this.define(body.join('\n'));
  }

  oneOf(subs: Name[], guards: Array<Guard | undefined> = []): Name {
    const calls = this.guarded(subs, guards);
    const body = [...calls.head, 'let r, e = -1, passing = 0;'];
    subs.forEach((s, x) => body.push(`r = ${calls.calls[x]};\nif (r === -2) return -2;\nif (r >= 0) { passing++; e = r; }`));
    body.push('return passing === 1 ? e : -1;');
    return this.define(body.join('\n'));
  }

  /**
   * The calls of the branches `subs`, each skipped as REJECT when the value surely fails its guard:
   * first by the value's kind (its first byte); an object's keys are looked into (an index of them
   * built, a pass over the object) only when more than one branch takes objects. Not with a
   * recursive $ref in the schema: ajv may run out of stack inside a branch it tries (a reject that
   * only trying the branch here, and st.deep, can see).
   */
  private guarded(subs: Name[], guards: Array<Guard | undefined>): { head: string[]; calls: string[] } {
    if (guards.every((g) => g === undefined)) return { head: [], calls: subs.map((sub) => `${sub}(b, i, end)`) };
    const takes = subs.map((_, x) => (guards[x] === undefined ? '1' : `((kd & ${guards[x]!.kinds}) !== 0 ? 1 : 0)`));
    const head = ['const kd = KINDS[b[i]];', `const deep = !allBranches && kd === ${KIND_OBJECT} && ${takes.join(' + ')} > 1;`];
    const calls = subs.map((sub, x) => {
      const g = guards[x];
      const call = `${sub}(b, i, end)`;
      return g === undefined ? call : `!allBranches && kd !== 0 && (kd & ${g.kinds}) === 0 ? -1 : deep && guardFails(${this.konst(g)}, b, i, end) ? -1 : ${call}`;
    });
    return { head, calls };
  }

  primeKeys(): Name {
    this.primed ??= this.define('if (b[i] === 0x7b) {\nconst e = objectDistinct(b, i, end);\nif (e >= 0) return e;\n}\nreturn anyV(b, i, end);');
    return this.primed;
  }
  private primed: Name | undefined;

  not(sub: Name): Name {
    // REJECT is certain only for JSON: make sure it is.
    return this.define(`const r = ${sub}(b, i, end);\nif (r >= 0) return -1;\nif (r === -2) return -2;\nreturn anyV(b, i, end);`);
  }

  ifThenElse(cond: Name, then: Name | undefined, otherwise: Name | undefined): Name {
    return this.define(
      `const r = ${cond}(b, i, end);\nif (r === -2) return -2;\n` +
        `if (r >= 0) return ${then === undefined ? 'r' : `${then}(b, i, end)`};\n` +
        `return ${otherwise === undefined ? 'anyV' : otherwise}(b, i, end);`,
    );
  }

  /** The check of a subschema's own keywords, for a value of any kind. */
  value(types: number, str: StringCheck[], num: NumberSpec, obj: ObjectSpec | undefined, arr: ArraySpec | undefined, en: EnumList[] | undefined): Name {
    const objCheck = obj ? this.object(obj) : ANY;
    const arrCheck = arr ? this.array(arr) : ANY;
    const wholeOnly = (types & T_NUMBER) === 0 && (types & T_INTEGER) !== 0;
    const numChecks: string[] = [];
    if (num.minimum !== undefined) numChecks.push(`n >= ${lit(num.minimum)}`);
    if (num.maximum !== undefined) numChecks.push(`n <= ${lit(num.maximum)}`);
    if (num.exclusiveMinimum !== undefined) numChecks.push(`n > ${lit(num.exclusiveMinimum)}`);
    if (num.exclusiveMaximum !== undefined) numChecks.push(`n < ${lit(num.exclusiveMaximum)}`);
    const enumLists = en?.map((l) => ({ strings: this.konst(l.strings), encoded: this.konst(l.encoded), others: this.konst(l.others) }));
    const enumOthers = enumLists?.map((l) => `enumHas(${l.others}, v)`).join(' && ');
    const s: string[] = ['const c = b[i];', 'let e;'];
    // A string.
    s.push('if (c === 0x22) {');
    if ((types & T_STRING) !== 0) s.push(...this.knownSpellings(str, en));
    s.push('e = scanString(b, i + 1, end);', 'if (e < 0) return -2;');
    if ((types & T_STRING) === 0) s.push('return -1;');
    else if (str.length > 0 || enumLists !== undefined) {
      // The value as JSON.parse gives it: decoded only when some check needs it, escapes only when there are any.
      s.push('const esc = scanned.hadEscape;', 'let s;');
      const decode = "if (s === undefined) s = esc ? JSON.parse(b.toString('utf8', i, e)) : b.toString('utf8', i + 1, e - 1);";
      for (const chk of str) {
        const fail = `${decode}\nif (!${this.konst(chk.str)}(s)) return -1;`;
        s.push(chk.bytes === undefined ? fail : `if (esc || !${this.konst(chk.bytes)}(b, i + 1, e - 1)) {\n${fail}\n}`);
      }
      en?.forEach((l, x) => {
        const spelled = l.encoded.length <= 16 && l.encoded.every((m) => m.length <= 48) ? `(${spellsOneOf(l.encoded, 'i + 1', 'e - i - 2')})` : `isOneOf(${enumLists![x].encoded}, b, i + 1, e - 1)`;
        s.push(`if (esc || !${spelled}) {\n${decode}\nif (!${enumLists![x].strings}.has(s)) return -1;\n}`);
      });
    }
    s.push('return e;', '}');
    // A number.
    s.push('if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {', 'e = scanNumber(b, i, end);', 'if (e < 0) return -2;');
    if ((types & (T_NUMBER | T_INTEGER)) === 0) s.push('return -1;');
    else if (numChecks.length > 0 || num.multipleOf !== undefined || enumLists !== undefined || wholeOnly) {
      s.push(`if (${numChecks.length > 0 || num.multipleOf !== undefined || enumLists !== undefined ? 'true' : '!scanned.numberIsPlainInteger'}) {`);
      s.push('const n = lastNumber(b, i, e);');
      // 1e400 is Infinity to JSON.parse, and a number to ajv only without strictNumbers: unsure.
      s.push('if (!Number.isFinite(n)) return -2;');
      if (wholeOnly) s.push('if (n % 1 !== 0) return -1;');
      for (const t of numChecks) s.push(`if (!(${t})) return -1;`);
      // ajv's own test (without multipleOfPrecision): the quotient equals parseInt of itself.
      if (num.multipleOf !== undefined) s.push(`{ const q = n / ${lit(num.multipleOf)}; if (q !== parseInt(q)) return -1; }`);
      if (enumOthers) s.push(`{ const v = n; if (!(${enumOthers})) return -1; }`);
      s.push('}');
    }
    s.push('return e;', '}');
    // Containers and words.
    s.push(`if (c === 0x7b) {`, (types & T_OBJECT) === 0 ? 'return -1;' : `e = ${objCheck}(b, i, end);`, '}');
    s.push(`else if (c === 0x5b) {`, (types & T_ARRAY) === 0 ? 'return -1;' : `e = ${arrCheck}(b, i, end);`, '}');
    s.push(`else if (c === 0x74 || c === 0x66) {`, 'e = scanWord(b, i, end, c === 0x74 ? TRUE : FALSE);', 'if (e < 0) return -2;', (types & T_BOOLEAN) === 0 ? 'return -1;' : '', '}');
    s.push(`else if (c === 0x6e) {`, 'e = scanWord(b, i, end, NULL);', 'if (e < 0) return -2;', (types & T_NULL) === 0 ? 'return -1;' : '', '}');
    s.push('else return -2;');
    if (enumOthers) s.push(`if (e >= 0) { const v = JSON.parse(b.toString('utf8', i, e)); if (!(${enumOthers})) return -1; }`);
    s.push('return e;');
    return this.define(s.join('\n'));
  }

  /** Source that returns the end of a string value at `b[i]` at once when its bytes are a spelling the checks surely take (see knownSpellings). */
  private knownSpellings(str: StringCheck[], en: EnumList[] | undefined): string[] {
    const at = (len: number) => `i + ${len + 1} < end && b[i + ${len + 1}] === 0x22`;
    const known = knownSpellings(str, en);
    if (known === undefined) return [];
    if (known.members !== undefined) return known.members.map((m) => `if (${at(m.length)} && ${spells(m, 'i + 1')}) return i + ${m.length + 2};`);
    const len = known.length;
    return [`if (${at(len)} && ${known.tests.map((t) => `${this.konst(t)}(b, i + 1, i + ${len + 1})`).join(' && ')}) return i + ${len + 2};`];
  }

  object(spec: ObjectSpec): Name {
    const { keys, patterns, additional, propertyNames, required, min, max, dependencies, keySensitive, distinct } = spec;
    const n = keys.length;
    const small = n <= 30;
    const has = (k: number) => (small ? `(mask & ${1 << k}) !== 0` : `seen[${k}] === 1`);
    // skipWs is called wherever whitespace may be, not behind an inline `b[i] <= 0x20` test: in
    // compact JSON such a guarded call never runs, so V8 optimizes the check without feedback for
    // it, and the first line with a space throws the optimized code away. The built-in root check
    // was compiled 5 times per thread on the bench (3 of them for these calls); now once, and a
    // 400 MB run took 4.35 s against 4.71 (5 alternating rounds). skipWs is small enough to inline.
    const s: string[] = ['const start = i;', 'i++; i = skipWs(b, i, end);', small ? 'let mask = 0;' : `const seen = new Uint8Array(${n});`];
    s.push('let names, r, ve, k, count = 0;', '// A REJECT stands only once the whole object is read: a repeated key could replace the value.', 'let failed = false;');
    const one = explainsOne(spec);
    const extras = explainsExtras(spec);
    const records = spec.records === true;
    // The one broken member so far (-1: none), its key and its value's start, and its end (-2: to be read).
    if (one) s.push("let one = -1, oneKey = '', oneFrom = 0, oneTo = -1;");
    // Whether a key that is not allowed was read (its name is in `names`).
    if (extras) s.push('let extra = false;');
    if (readsByKey(spec)) {
      // Another check already read this object whole in this line: each member the keywords name is
      // looked up, not looked for (readsByKey).
      const has = (x: number) => `valueAfter(ks, ${this.konst(keys[x].bytes)}) >= 0`;
      s.push('{', 'const ks = knownSpans(start);', 'if (ks >= 0) {', 'let at;');
      if (required.length > 0) s.push(`if (!(${required.map(has).join(' && ')})) return -1;`);
      for (const key of keys) if (key.check !== undefined) s.push(`at = valueAfter(ks, ${this.konst(key.bytes)});`, `if (at >= 0) {\nr = ${key.check}(b, at, end);\nif (r < 0) return r;\n}`);
      if (min > 0) s.push(`if (keyCount(ks) < ${min}) return -1;`);
      if (max !== Infinity) s.push(`if (keyCount(ks) > ${max}) return -1;`);
      for (const d of dependencies) {
        s.push(`if (${has(d.key)}) {`);
        for (const x of d.names) s.push(`if (!(${has(x)})) return -1;`);
        if (d.check !== undefined) s.push(`r = ${d.check}(b, start, end);`, 'if (r < 0) return r;', 'if (r !== knownEnd(start)) return -2;');
        s.push('}');
      }
      s.push('return knownEnd(start);', '}', '}');
    } else if (required.length > 0) {
      // Another branch already read this object: a missing required key settles it without reading it again.
      s.push(`{\nconst ks = knownSpans(start);\nif (ks >= 0 && !(${required.map((k) => `valueAfter(ks, ${this.konst(keys[k].bytes)}) >= 0`).join(' && ')})) return -1;\n}`);
    }
    s.push('if (i < end && b[i] === 0x7d) i++;', 'else for (;;) {');
    s.push('if (i >= end || b[i] !== 0x22) return -2;', 'const kf = i + 1;', 'k = -1;');
    // The key's index into `keys`: by its first byte, then inline byte comparisons up to its closing
    // quote, with no scan of the key first. A key spelled with a quote, a backslash or a control
    // byte never matches raw bytes without escapes, so it is not looked for.
    const byFirst = keysByFirstByte(keys.map((key) => key.bytes));
    if (byFirst.size > 0) {
      s.push('switch (b[kf]) {');
      for (const [first, list] of byFirst) {
        s.push(`case ${first}:`);
        for (const { bytes, x } of list) {
          const len = bytes.length;
          const same = len <= 48 ? spells(bytes, 'kf', 1) : `b.compare(${this.konst(bytes)}, 1, ${len}, kf + 1, kf + ${len}) === 0`;
          s.push(`if (kf + ${len} < end && b[kf + ${len}] === 0x22 && ${same}) { k = ${x}; i = kf + ${len + 1}; break; }`);
        }
        s.push('break;');
      }
      s.push('}');
    }
    // Not a key the keywords name: scan it.
    s.push('if (k < 0) {', 'i = scanString(b, kf, end);', 'if (i < 0) return -2;');
    // A key it remembers is looked up by its bytes later (records): none may be escaped either.
    if (n > 0 || keySensitive || records) s.push('if (scanned.hadEscape) return -2;');
    s.push('}', 'const kt = i - 1;');
    s.push('i = skipWs(b, i, end);', 'if (i >= end || b[i] !== 0x3a) return -2;', 'i++; i = skipWs(b, i, end);', 'if (i >= end) return -2;');
    s.push('let name;');
    s.push(`if (k >= 0) {`, small ? 'if ((mask & (1 << k)) !== 0) return -2;\nmask |= 1 << k;' : 'if (seen[k] === 1) return -2;\nseen[k] = 1;', '}');
    const byBytes = keysByBytes(spec);
    if (records) s.push('if (k >= 0 && !pushKey(kf, kt, i)) return -2;');
    if (byBytes) s.push('if (k < 0 && repeatedKey(b, base, kf, kt, i)) return -2;');
    else if (distinct) s.push("if (k < 0) {\nname = b.toString('utf8', kf, kt);\nnames ??= [];\nif (names.includes(name)) return -2;\nnames.push(name);\n}");
    s.push('count++;', 've = -1;', 'if (!failed) {');
    if (propertyNames !== undefined) s.push(`r = ${propertyNames}(b, kf - 1, end);`, 'if (r === -2) return -2;', 'if (r === -1) failed = true;');
    // Every subschema that applies to this member's value, in turn.
    const merge = 'if (r === -2) return -2;\nif (r === -1) failed = true;\nelse if (ve >= 0 && r !== ve) return -2;\nelse ve = r;';
    s.push('let matched = false;');
    const named = keys.map((key, x) => ({ key, x })).filter(({ key }) => key.inProperties || key.check !== undefined);
    if (named.length > 0) {
      s.push('switch (k) {');
      for (const { key, x } of named) {
        s.push(`case ${x}:`);
        if (key.inProperties) s.push('matched = true;');
        // A second broken member, or one broken otherwise than by its own subschema: LINE_REJECT.
        const mergeOne = `if (r === -2) return -2;\nif (r === -1) {\nif (one >= 0) return ${LINE_REJECT};\none = ${x};\noneKey = ${this.konst(key.name)};\noneFrom = i;\noneTo = -2;\n}\nelse if (ve >= 0 && r !== ve) return -2;\nelse ve = r;`;
        if (key.check !== undefined) s.push(`if (!failed) {\nr = ${key.check}(b, i, end);\n${one ? mergeOne : merge}\n}`);
        s.push('break;');
      }
      s.push('}');
    }
    if (patterns.length > 0) {
      s.push("if (!failed) {\nif (name === undefined) name = b.toString('utf8', kf, kt);");
      for (const p of patterns) s.push(`if (!failed && ${this.konst(p.re)}.test(name)) {\nmatched = true;\nr = ${p.check}(b, i, end);\n${merge}\n}`);
      s.push('}');
    }
    if (additional !== undefined) s.push(extras ? 'if (!matched && !failed) extra = true;' : `if (!matched && !failed) {\nr = ${additional}(b, i, end);\n${merge}\n}`);
    // With no repeated key, the failed member's value is the one JSON.parse keeps: REJECT now.
    s.push(spec.lineRoot ? `if (failed) return ${LINE_REJECT};` : 'if (failed && objectDistinct(b, start, end) >= 0) return -1;');
    s.push('}');
    s.push('i = ve >= 0 ? ve : b[i] === 0x22 ? scanString(b, i + 1, end) : skipValue(b, i, end);', 'if (i < 0) return -2;');
    if (one) s.push('if (oneTo === -2) oneTo = i;');
    s.push('i = skipWs(b, i, end);', 'if (i >= end) return -2;');
    s.push('if (b[i] === 0x2c) { i++; i = skipWs(b, i, end); continue; }', 'if (b[i] === 0x7d) { i++; break; }', 'return -2;', '}');
    s.push('if (failed) return -1;');
    // A line root checked as for one broken member reads on past missing required keys (LINE_REJECT_MISSING).
    const missing = one && small && required.length > 0;
    const want = required.reduce((m, k) => m | (1 << k), 0);
    if (missing) s.push(`const missing = (mask & ${want}) !== ${want};`);
    else if (required.length > 0) {
      if (small) s.push(`if ((mask & ${want}) !== ${want}) return -1;`);
      else for (const k of required) s.push(`if (!(${has(k)})) return -1;`);
    }
    if (min > 0) s.push(`if (count < ${min}) return -1;`);
    if (max !== Infinity) s.push(`if (count > ${max}) return -1;`);
    for (const d of dependencies) {
      s.push(`if (${has(d.key)}) {`);
      for (const x of d.names) s.push(`if (!(${has(x)})) return -1;`);
      if (d.check !== undefined) s.push(`r = ${d.check}(b, start, end);`, 'if (r < 0) return r;', 'if (r !== i) return -2;');
      s.push('}');
    }
    if (missing) s.push('if (missing) {', `if (one >= 0${extras ? ' || extra' : ''}) return -1;`, `oneBroken.missing = ${want} & ~mask;`, 'oneBroken.end = i;', `return ${LINE_REJECT_MISSING};`, '}');
    if (extras) s.push('if (extra) {', `if (one >= 0) return ${LINE_REJECT};`, 'oneBroken.extras = names;', 'oneBroken.end = i;', `return ${LINE_REJECT_EXTRA};`, '}');
    if (one) s.push('if (one >= 0) {', 'oneBroken.key = oneKey;', 'oneBroken.from = oneFrom;', 'oneBroken.to = oneTo;', 'oneBroken.end = i;', `return ${LINE_REJECT_ONE};`, '}');
    if (records) s.push('rememberKeys(b, start, i, base);');
    s.push('return i;');
    if (!byBytes) return this.define(s.join('\n'));
    // Whatever it answers, the keys it pushed are popped.
    const body = this.define(s.join('\n'), undefined, 'b, i, end, base');
    return this.define(`const base = keysReading();\nconst r = ${body}(b, i, end, base);\nkeysRead(base);\nreturn r;`);
  }

  array(spec: ArraySpec): Name {
    const { prefix, rest, contains, containsSkippedUpTo, minContains, maxContains, min, max, unique } = spec;
    const s: string[] = ['const start = i;', 'i++; i = skipWs(b, i, end);', 'let r, e, count = 0, found = 0;'];
    s.push('if (i < end && b[i] === 0x5d) i++;', 'else for (;;) {', 'if (i >= end) return -2;', 'e = -1;');
    // The item's own subschema (-3: none applies).
    const restCall = rest === undefined ? '-3' : `${rest}(b, i, end)`;
    if (prefix.length === 0) s.push(`r = ${restCall};`);
    else {
      s.push('switch (count) {');
      prefix.forEach((p, x) => s.push(`case ${x}: r = ${p}(b, i, end); break;`));
      s.push(`default: r = ${restCall};`, '}');
    }
    s.push('if (r !== -3) {', 'if (r < 0) return r;', 'e = r;', '}');
    if (contains !== undefined) s.push(`r = ${contains}(b, i, end);`, 'if (r === -2) return -2;', 'if (r >= 0) {', 'if (e >= 0 && r !== e) return -2;', 'e = r;', 'found++;', '}');
    s.push('i = e >= 0 ? e : skipValue(b, i, end);', 'if (i < 0) return -2;', 'count++;', 'i = skipWs(b, i, end);', 'if (i >= end) return -2;');
    s.push('if (b[i] === 0x2c) { i++; i = skipWs(b, i, end); continue; }', 'if (b[i] === 0x5d) { i++; break; }', 'return -2;', '}');
    if (min > 0) s.push(`if (count < ${min}) return -1;`);
    if (max !== Infinity) s.push(`if (count > ${max}) return -1;`);
    if (contains !== undefined) {
      // Where ajv may skip contains (ArraySpec.containsSkippedUpTo): unsure, never REJECT.
      const fails = `found < ${minContains}${maxContains === Infinity ? '' : ` || found > ${maxContains}`}`;
      s.push(`if (${fails}) return ${containsSkippedUpTo >= 0 ? `count <= ${containsSkippedUpTo} ? -2 : -1` : '-1'};`);
    }
    if (unique) s.push('if (count > 1) {', 'if (count > 1000) return -2;', 'if (!itemsDistinct(b, start, i)) return -1;', '}');
    s.push('return i;');
    return this.define(s.join('\n'));
  }

  /** Builds every function defined, and returns the one named `root`. */
  build(root: Name): Check {
    const runtime: Record<string, unknown> = { guardFails, KINDS, keyCount, keysRead, keysReading, knownEnd, knownSpans, pushKey, rememberKeys, repeatedKey, valueAfter, lastNumber, objectDistinct, oneBroken, scanString, scanNumber, scanWord, skipValue, skipWs, scanned, TRUE, FALSE, NULL, isOneOf, enumHas, itemsDistinct, QUOTE };
    const params = [...Object.keys(runtime), ...this.consts.map((_, x) => `k${x}`)];
    const source = [
      "'use strict';",
      'const st = { n: 0, deep: false };',
      `const allBranches = ${this.hasRecursive};`,
      // An object read whole before in this line (objectDistinct): its end is known.
      'function anyV(b, i, end) { if (b[i] === 0x7b) { const k = knownEnd(i); if (k >= 0) return k; } const e = skipValue(b, i, end); return e < 0 ? -2 : e; }',
      'function neverV() { return -1; }',
      'function unsureV() { return -2; }',
      ...this.fns,
      `return { root: ${root}, st };`,
    ].join('\n');
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const made = new Function(...params, source)(...Object.values(runtime), ...this.consts) as { root: Check; st: { n: number; deep: boolean } };
    return lineCheck(made.root, made.st);
  }
}

/** The root check `check` as one line's: every line starts afresh, and a line too deep for the `$ref` depth count is unsure. */
export function lineCheck(check: Check, st: { n: number; deep: boolean }): Check {
  return (b, i, end) => {
    st.n = 0;
    st.deep = false;
    forgetObjects();
    const r = check(b, i, end);
    return st.deep ? -2 : r;
  };
}

/**
 * The string values a subschema surely takes that can be told from their raw bytes at once, up to a
 * closing quote within the line, with no scan: either enum `members` (at most 16, of at most 48
 * bytes) that every enum and string check takes, or a `length` in bytes (byte-formats.ts's
 * fixedLength) at which the value is taken when every one of `tests` takes its bytes. Neither
 * holds a quote, a backslash or a control byte, so that quote ends the string. Undefined: none.
 */
export function knownSpellings(str: StringCheck[], en: EnumList[] | undefined): { members: Buffer[]; length?: undefined; tests?: undefined } | { members?: undefined; length: number; tests: Array<(b: Buffer, from: number, to: number) => boolean> } | undefined {
  if (en !== undefined) {
    const values = [...en[0].strings]; // in the order of `encoded`
    const members = en[0].encoded.filter((m, x) => rawInJson(m) && m.length <= 48 && en.every((l) => l.strings.has(values[x])) && str.every((chk) => chk.str(values[x])));
    return members.length === 0 || members.length > 16 ? undefined : { members };
  }
  const length = str.length > 0 ? fixedLength(str[0].bytes) : undefined;
  if (length === undefined || !str.every((chk) => fixedLength(chk.bytes) === length)) return undefined;
  return { length, tests: str.map((chk) => chk.bytes!) };
}

/**
 * The keys (by index into `keys`) that raw bytes can spell (rawInJson), by their first byte (QUOTE
 * for the empty key), in their order: a key is matched in place by its first byte, then its bytes up
 * to its closing quote, with no scan of it first.
 */
export function keysByFirstByte(keys: Buffer[]): Map<number, Array<{ bytes: Buffer; x: number }>> {
  const byFirst = new Map<number, Array<{ bytes: Buffer; x: number }>>();
  keys.forEach((bytes, x) => {
    if (!rawInJson(bytes)) return;
    const first = bytes.length === 0 ? QUOTE : bytes[0];
    byFirst.set(first, [...(byFirst.get(first) ?? []), { bytes, x }]);
  });
  return byFirst;
}

/** Whether a JSON string holds `bytes` as they are: none is a quote, a backslash or a control byte, which only an escape spells. */
function rawInJson(bytes: Buffer): boolean {
  return !bytes.some((c) => c < 0x20 || c === QUOTE || c === 0x5c);
}

/** Source of a test that `b[at …]` holds `bytes` (its length already known to match), from byte `from` on. */
function spells(bytes: Buffer, at: string, from = 0): string {
  return bytes.length <= from ? 'true' : [...bytes.subarray(from)].map((c, j) => `b[${at} + ${j + from}] === ${c}`).join(' && ');
}

/** Source of a test that the `len` bytes at `b[at …]` spell one of `members`, by inline comparisons. */
function spellsOneOf(members: Buffer[], at: string, len: string): string {
  return members.length === 0 ? 'false' : members.map((m) => `(${len} === ${m.length} && ${spells(m, at)})`).join(' || ');
}

/** Whether the bytes `b[from, to)` spell one of `members`. */
export function isOneOf(members: Buffer[], b: Buffer, from: number, to: number): boolean {
  for (let k = 0; k < members.length; k++) {
    const m = members[k];
    if (m.length === to - from && b.compare(m, 0, m.length, from, to) === 0) return true;
  }
  return false;
}

export function enumHas(others: unknown[], value: unknown): boolean {
  return others.some((m) => equal(m, value));
}

/**
 * Whether the items of the JSON array `b[start, end)` (already scanned) are distinct as ajv's
 * uniqueItems sees them. Items that are all strings without escapes are equal exactly when their
 * bytes are: compared in place. Anything else is parsed and compared with ajv's `equal`.
 */
export function itemsDistinct(b: Buffer, start: number, end: number): boolean {
  let n = 0;
  let i = skipWs(b, start + 1, end);
  while (i < end && b[i] === QUOTE) {
    const e = scanString(b, i + 1, end);
    if (e < 0 || scanned.hadEscape) break;
    for (let x = 0; x < n; x++) if (sameBytes(b, itemFrom[x], itemTo[x], i, e)) return false;
    itemFrom[n] = i;
    itemTo[n++] = e;
    i = skipWs(b, e, end);
    if (b[i] === 0x2c) i = skipWs(b, i + 1, end);
    else if (b[i] === 0x5d) return true;
    else break;
  }
  return allDistinct(JSON.parse(b.toString('utf8', start, end)));
}
/** Where itemsDistinct's strings start and end (the array checks, generated or closures, call it for at most 1000 items). */
const itemFrom = new Int32Array(1000);
const itemTo = new Int32Array(1000);

/** Whether `b[f1, t1)` and `b[f2, t2)` hold the same bytes: compared in place, as the short strings of a line mostly are. */
function sameBytes(b: Buffer, f1: number, t1: number, f2: number, t2: number): boolean {
  if (t1 - f1 !== t2 - f2) return false;
  for (let k = 0; k < t1 - f1; k++) if (b[f1 + k] !== b[f2 + k]) return false;
  return true;
}

function allDistinct(items: unknown[]): boolean {
  for (let x = 1; x < items.length; x++) for (let y = 0; y < x; y++) if (equal(items[x], items[y])) return false;
  return true;
}
