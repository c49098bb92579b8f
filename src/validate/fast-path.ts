/**
 * A shortcut for the common case, a valid line: one pass over the line's bytes that checks the JSON
 * grammar and the rules without building the value. It answers `true` only when JSON.parse would
 * return an object that the rules accept; for anything else (a broken line, a line that breaks a
 * rule, or anything it is not sure about) it answers `false`, and classify() takes the exact path
 * (JSON.parse + ajv) that decides and explains. So it can make cleaner faster, never different.
 *
 * Why: on the web-event data of `npm run bench`, JSON.parse alone runs at about 100 MB/s per core
 * on a 2-core EPYC VM and ajv with formats halves that; this pass runs several times faster, since
 * it allocates nothing but the few strings the rules look at.
 *
 * The schema is compiled into one checker per subschema. A checker answers, for the value starting
 * at a byte: accepted (the index after it), REJECT (ajv rejects this value, provided the bytes turn
 * out to be JSON), or UNSURE. `not`, `oneOf` and `if` need REJECT to be certain; anything the
 * compiler does not understand exactly (`unevaluatedItems`, an `unevaluatedProperties` whose
 * evaluated keys depend on which branches pass, `$dynamicRef`, a `$ref` outside the document, a
 * custom keyword, an escaped key...) answers UNSURE for the values that reach it only, so those
 * lines take the exact path and the rest stay fast.
 *
 * Understood, per draft as ajv reads it: `$ref` to "#" or "#/…" pointers (recursion included), and
 * in rules that name their parts by `$id`/`$anchor`, to wherever ajv resolves them (ref-resolve.ts),
 * `type` (unions too), `enum`/`const` of any JSON value, numeric keywords, string keywords (lengths
 * in code points as ajv counts them, `pattern` with the `u` flag, every synchronous string format),
 * `properties`/`patternProperties`/`additionalProperties`/`propertyNames`/`required`/
 * `min|maxProperties`/`dependencies`/`dependentRequired`/`dependentSchemas`, `items`/`prefixItems`/
 * `additionalItems`/`contains`/`min|maxContains`/`min|maxItems`/`uniqueItems`, `allOf`/`anyOf`/
 * `oneOf`/`not`/`if`-`then`-`else`, `unevaluatedProperties` over keys fixed by `allOf` and `$ref`
 * (closeUnevaluated), boolean schemas; at any depth.
 */
import ucs2lengthModule from 'ajv/dist/runtime/ucs2length.js';
import { fullFormats as fullFormatsExport } from 'ajv-formats/dist/formats.js';
import { BYTE_FORMATS, codePoints, formatCheck, patternBytes } from './byte-formats.js';
import { GuardDeriver } from './branch-guard.js';
import { skipWs } from './json-scan.js';
import { INERT, lineRootPointer, NOT_FOUND, pointerTarget } from './schema-pointer.js';
import { ClosureEmitter } from './fast-path-closures.js';
import type { RefResolver } from './ref-resolve.js';
import { ANY, Emitter, LINE_REJECT, LINE_REJECT_EXTRA, LINE_REJECT_MISSING, LINE_REJECT_ONE, NEVER, oneBroken, T_ANY, T_ARRAY, T_BOOLEAN, T_INTEGER, T_NULL, T_NUMBER, T_OBJECT, T_STRING, UNSURE, type ArraySpec, type CheckEmitter, type EnumList, type Name, type NumberSpec, type ObjectSpec, type StringCheck } from './fast-path-emit.js';

const ucs2length = ((ucs2lengthModule as any).default ?? ucs2lengthModule) as (s: string) => number;
const fullFormats = fullFormatsExport as Record<string, unknown>;

/** True only when the UTF-8 bytes `buf[start, end)` are a JSON object that the rules accept. */
export type FastAccept = (buf: Buffer, start: number, end: number) => boolean;

/** The fast path's answer for a line: see FastCheck. Every kind of REJECT is below UNSURE_LINE. */
export const ACCEPT = 1;
export const UNSURE_LINE = 0;
export const REJECT = -1;
/** REJECT, with the one broken member of the root object where oneBroken (fast-path-emit.ts) says. */
export const REJECT_ONE = -2;
/** REJECT, the line's only fault being keys of the root object that are not allowed (oneBroken.extras, fast-path-emit.ts). */
export const REJECT_EXTRA = -3;
/** REJECT, the line's only fault being required keys of the root object that are missing (oneBroken.missing, fast-path-emit.ts). */
export const REJECT_MISSING = -4;
export type FastVerdict = typeof ACCEPT | typeof UNSURE_LINE | typeof REJECT | typeof REJECT_ONE | typeof REJECT_EXTRA | typeof REJECT_MISSING;

/**
 * The fast path with its whole answer for the bytes `buf[start, end)`: ACCEPT only when they are a
 * JSON object that the rules accept; REJECT only when the rules reject them *if* they are JSON and
 * no key of that object repeats (the caller must still find out whether they are, by parsing and
 * explaining them, and ask ajv when the explanation finds nothing wrong); REJECT_ONE when they are
 * a JSON object whose one fault is the value of one of its `properties` (oneBroken says which);
 * REJECT_EXTRA when its only fault is keys that are not allowed, REJECT_MISSING when it is required
 * keys that are missing (oneBroken says which); UNSURE_LINE for anything else.
 */
export type FastCheck = (buf: Buffer, start: number, end: number) => FastVerdict;

/** See compileRootCheck. */
export type RootCheck = (buf: Buffer, i: number, end: number) => number;

/** A format as ajv holds it (ajv.formats[name]). */
export type FormatDef = true | RegExp | ((s: string) => boolean) | { type?: string; async?: boolean; validate: RegExp | ((s: string) => boolean) };

/** The JSON Schema draft the rules are compiled as. */
export type Draft = 'draft-04' | 'draft-07' | '2019-09' | '2020-12';

/** What the compiler must know of the ajv instance that decides. */
export interface FastPathOptions {
  draft: Draft;
  /** Whether ajv knows `keyword`: one the compiler does not understand then makes its subschema unsure. */
  isKeyword: (keyword: string) => boolean;
  /** How the checks are built: generated source or closures (fast-path-closures.ts); by default, by their number (CLOSURES_FROM). */
  emitter?: 'generated' | 'closures';
  /**
   * Where `$ref`s lead in rules that name their parts by id (ref-resolve.ts), asked only of such
   * rules (namesById); without it their `$ref`s are unsure.
   */
  refs?: () => RefResolver | undefined;
}

/** A fast path of more checks than this is built as closures, fewer as generated code: see compileRootCheck. */
const CLOSURES_FROM = 64;

const TYPE_BITS: Record<string, number> = {
  string: T_STRING,
  number: T_NUMBER | T_INTEGER,
  integer: T_INTEGER,
  boolean: T_BOOLEAN,
  null: T_NULL,
  object: T_OBJECT,
  array: T_ARRAY,
};

const COMMON = ['type', 'enum', 'properties', 'patternProperties', 'additionalProperties', 'required', 'minProperties', 'maxProperties', 'items', 'minItems', 'maxItems', 'uniqueItems', 'minLength', 'maxLength', 'pattern', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'allOf', 'anyOf', 'oneOf', 'not', '$ref'];
const SINCE_06 = ['const', 'contains', 'propertyNames', 'if', 'then', 'else'];
/** The keywords this compiler decides exactly, per draft (ajv's vocabulary for it). */
const UNDERSTOOD: Record<Draft, Set<string>> = {
  'draft-04': new Set([...COMMON, 'additionalItems', 'dependencies']),
  'draft-07': new Set([...COMMON, ...SINCE_06, 'additionalItems', 'dependencies']),
  '2019-09': new Set([...COMMON, ...SINCE_06, 'additionalItems', 'dependentRequired', 'dependentSchemas', 'minContains', 'maxContains']),
  '2020-12': new Set([...COMMON, ...SINCE_06, 'prefixItems', 'dependentRequired', 'dependentSchemas', 'minContains', 'maxContains']),
};

/** Builds the shortcut for a schema (see FastCheck), or returns undefined when it would never accept anything. */
export function compileFastCheck(schema: unknown, formats: Record<string, FormatDef | undefined>, options: FastPathOptions = { draft: 'draft-07', isKeyword: () => true }): FastCheck | undefined {
  const check = compileRootCheck(schema, formats, options);
  if (check === undefined) return undefined;
  return (b, start, end) => {
    const i = skipWs(b, start, end);
    if (i >= end || b[i] !== 0x7b) return UNSURE_LINE;
    try {
      const e = check(b, i, end);
      if (e >= 0) return skipWs(b, e, end) === end ? ACCEPT : UNSURE_LINE;
      // The root object breaks a rule: if the line is JSON at all, that object is its value (and,
      // for LINE_REJECT, if none of its keys repeats).
      if (e === LINE_REJECT_ONE) return skipWs(b, oneBroken.end, end) === end ? REJECT_ONE : REJECT;
      if (e === LINE_REJECT_EXTRA) return skipWs(b, oneBroken.end, end) === end ? REJECT_EXTRA : REJECT;
      if (e === LINE_REJECT_MISSING) return skipWs(b, oneBroken.end, end) === end ? REJECT_MISSING : REJECT;
      return e === -1 || e === LINE_REJECT ? REJECT : UNSURE_LINE;
    } catch {
      // A schema nested deeper than the JS stack: the exact path decides.
      return UNSURE_LINE;
    }
  };
}

/**
 * The root check itself, for the value whose first byte (not whitespace) is `b[i]`: the index after
 * it when the rules accept it, -1 when ajv surely rejects it (provided the bytes are JSON), -3
 * (LINE_REJECT) when it does unless a key of the root object repeats, -2 when unsure. Undefined when
 * the root is unsure.
 */
export function compileRootCheck(schema: unknown, formats: Record<string, FormatDef | undefined>, options: FastPathOptions = { draft: 'draft-07', isKeyword: () => true }): RootCheck | undefined {
  const idKey = options.draft === 'draft-04' ? 'id' : '$id';
  const byId = namesById(schema, idKey) ? options.refs?.() : undefined;
  // A $ref cycle that never moves into the data recurses until ajv's stack runs out, a reject whose
  // timing depends on the order ajv tries keywords and branches: no fast path can match that.
  if (loopsInPlace(schema, idKey, byId)) return undefined;
  const compile = (emit: CheckEmitter): Name => new Compiler(schema, formats, options, emit, byId).compile(schema, true);
  if (options.emitter === 'generated') {
    const emit = new Emitter();
    const root = compile(emit);
    return root === UNSURE ? undefined : emit.build(root);
  }
  // Closures cost next to nothing to build, so they count the checks; a small fast path is compiled
  // again as generated code, which V8 warms up quickly and runs faster once warm. CPU ms of the fast
  // path over the same 30-40 MB, first pass / second pass in one process, generated vs closures:
  //   built-in rules (6 checks): 386/144 vs 376/155; steady, closures 13% slower
  //   orders-nested.json (34): 426/164 vs 381/242; steady, closures 35% slower
  //   one webhook event type (82): 978/391 vs 552/411
  //   events-oneof.json (102): 2748/2103 vs 2377/2274; steady, closures 5% slower
  //   two webhook event types (319): 860/303 vs 302/178
  //   GitHub's webhook schema (1,675): 3202/1647 vs 852/621; a whole run, 40% less CPU
  // Thousands of distinct generated functions are each compiled by TurboFan on its own; closures
  // of a few literals are optimized once for all.
  const closures = new ClosureEmitter();
  const root = compile(closures);
  if (root === UNSURE) return undefined;
  if (options.emitter === 'closures' || closures.size > CLOSURES_FROM) return closures.build(root);
  const emit = new Emitter();
  return emit.build(compile(emit));
}

class Compiler {
  /** Checks of `$ref` targets by pointer; a target still being compiled when referred to is recursive. */
  private refs = new Map<string, { name: Name; compiling: boolean; recursive: boolean }>();
  private understood: Set<string>;
  private idKey: string;
  private guards: GuardDeriver;
  /** Checks by the schema text they were compiled from. */
  private same = new Map<string, Name>();
  /** Until the root schema is compiled: the next compileOwn is the line's root. */
  private atLineRoot = true;
  /** With `byId`: the base URI `$ref`s resolve against where the compiler is. */
  private base: string;

  constructor(
    private root: unknown,
    private formats: Record<string, FormatDef | undefined>,
    private options: FastPathOptions,
    private emit: CheckEmitter,
    /** For rules that name their parts by id: where their `$ref`s lead (else they are unsure). */
    private byId?: RefResolver,
  ) {
    this.understood = UNDERSTOOD[options.draft];
    this.idKey = options.draft === 'draft-04' ? 'id' : '$id';
    this.guards = new GuardDeriver(root, this.idKey, options.draft === '2019-09' || options.draft === '2020-12', this.understood.has('const'));
    this.base = byId?.rootBase ?? '';
  }

  compile(schema: unknown, isRoot = false): Name {
    if (schema === true) return ANY;
    if (schema === false) return NEVER;
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return UNSURE;
    if (isRoot) return this.compileOwn(schema as Record<string, unknown>, true);
    const id = (schema as Record<string, unknown>)[this.idKey];
    if (typeof id !== 'string') return this.compileShared(schema as Record<string, unknown>);
    // A nested id changes what the `$ref`s inside mean: ajv's business, unless it says where they lead.
    if (this.byId === undefined) return UNSURE;
    return this.under(this.byId.within(this.base, id), () => this.compileShared(schema as Record<string, unknown>));
  }

  /** `make()` compiled where `$ref`s resolve against `base`. */
  private under<T>(base: string, make: () => T): T {
    const outer = this.base;
    this.base = base;
    try {
      return make();
    } finally {
      this.base = outer;
    }
  }

  /**
   * One function for all copies of the same text under the same base: they mean the same check.
   * GitHub's webhook schema spells \`{"type":"string","format":"uri"}\` and whole payload parts
   * again in every variant; shared, they run hot enough for V8 to optimize them.
   */
  private compileShared(s: Record<string, unknown>): Name {
    const text = this.byId === undefined ? JSON.stringify(s) : `${this.base} ${JSON.stringify(s)}`;
    let name = this.same.get(text);
    if (name === undefined) {
      name = this.compileOwn(s, false);
      this.same.set(text, name);
    }
    return name;
  }

  private compileOwn(s: Record<string, unknown>, isRoot: boolean): Name {
    // A root that is only a $ref: its target judges the line's root object, compiled apart from its
    // other uses (as "#" is), so that it may answer for the root object (below).
    if (isRoot && this.atLineRoot && s === this.root) {
      const at = lineRootPointer(this.root, this.idKey);
      if (at !== '#') return this.compileOwn(pointerTarget(this.root, at, this.idKey) as Record<string, unknown>, true);
    }
    // The schema's own object keywords check the line's root object when nothing else at the root
    // weighs their answer (ObjectSpec.lineRoot); "#" referred to from inside is compiled again, apart.
    const lineRoot = isRoot && this.atLineRoot && s.$ref === undefined && ['allOf', 'anyOf', 'oneOf', 'not', 'if'].every((k) => s[k] === undefined);
    // An enum or const beside them judges the root object too: another fault, which LINE_REJECT_ONE must not hide.
    const alone = lineRoot && s.enum === undefined && s.const === undefined;
    this.atLineRoot = false;
    if (s.unevaluatedProperties !== undefined && this.options.isKeyword('unevaluatedProperties')) {
      const closed = this.closeUnevaluated(s);
      if (closed === undefined) return UNSURE;
      s = closed;
    }
    for (const k of Object.keys(s)) {
      if (INERT.has(k) || k === this.idKey || this.understood.has(k)) continue;
      if (this.options.isKeyword(k)) return UNSURE;
    }
    const parts: Name[] = [];
    if (s.$ref !== undefined) {
      // Whether ajv applies the keywords beside a $ref differs by draft: leave that to ajv.
      if (this.options.draft === 'draft-04' || this.options.draft === 'draft-07') {
        for (const k of Object.keys(s)) if (k !== '$ref' && this.understood.has(k)) return UNSURE;
      }
      parts.push(this.ref(s.$ref));
    }
    // Conditions, an allOf and a union's guards and branches read the object again, after its own check (see own()).
    const conditions = s.if !== undefined && this.understood.has('if') && (s.then !== undefined || s.else !== undefined);
    const own = this.own(s, lineRoot, alone, !lineRoot && (conditions || s.allOf !== undefined || s.oneOf !== undefined || s.anyOf !== undefined));
    if (own === UNSURE) return UNSURE;
    if (own !== ANY) parts.unshift(own);
    for (const k of ['allOf', 'anyOf', 'oneOf'] as const) {
      if (s[k] === undefined) continue;
      if (!Array.isArray(s[k]) || (s[k] as unknown[]).length === 0) return UNSURE;
      const list = s[k] as unknown[];
      const subs = list.map((x) => this.compile(x));
      if (k === 'allOf') parts.push(this.emit.allOf(subs));
      // The guards follow "#/…" pointers from the document's root: only right in the root's resource.
      else parts.push(this.emit[k](subs, list.map((x) => (this.base === (this.byId?.rootBase ?? '') ? this.guards.guard(x) : undefined))));
    }
    if (s.not !== undefined) parts.push(this.emit.not(this.compile(s.not)));
    if (conditions) {
      parts.push(this.emit.ifThenElse(this.compile(s.if), s.then === undefined ? undefined : this.compile(s.then), s.else === undefined ? undefined : this.compile(s.else)));
    }
    if (parts.length === 0) return ANY;
    return this.emit.allOf(parts);
  }

  /**
   * `s` with its `unevaluatedProperties` written as keywords the compiler reads, or undefined.
   * When what a passing `s` evaluates does not depend on the data (the names and patterns of its own
   * `properties` and `patternProperties` and those of every `allOf` member and `$ref` target;
   * `additionalProperties` or a nested `unevaluatedProperties` among them evaluates every key), the
   * keys none of them names must pass `unevaluatedProperties` as they would an
   * `additionalProperties`. A `oneOf` whose branches name keys: each branch with what it adds
   * (the one that passes is the one ajv counts). An `if` naming no keys but those counted anyway,
   * with a `then` or an `else` that names more: the keys of the one that ran. An anyOf: see
   * closeAnyOf. Other branches that may or may not pass and name keys (dependentSchemas, the if
   * itself, two of a oneOf, an anyOf and an if): undefined, which ones count then depends on the
   * line in more ways.
   * Composing a closed event from a base (`allOf` or `$ref`, then `unevaluatedProperties: false`),
   * or a discriminated `oneOf` of event kinds, is how 2019-09 and 2020-12 rules are written; left
   * unsure, every such line took ajv.
   */
  private closeUnevaluated(s: Record<string, unknown>): Record<string, unknown> | undefined {
    const { unevaluatedProperties: rest, ...others } = s;
    if (rest === true) return others;
    const names = (x: unknown): boolean => this.namesProperties(x, this.base, 1, false);
    const byBranch = Array.isArray(s.oneOf) && s.oneOf.some(names);
    const byCondition = s.if !== undefined && (s.then !== undefined || s.else !== undefined) && [s.then, s.else].some(names);
    const byAny = Array.isArray(s.anyOf) && s.anyOf.some(names);
    if (Number(byBranch) + Number(byCondition) + Number(byAny) > 1) return undefined;
    const fixed: Record<string, unknown> = { ...others };
    if (byBranch) delete fixed.oneOf;
    if (byAny) delete fixed.anyOf;
    if (byCondition) for (const k of ['if', 'then', 'else']) delete fixed[k];
    const e = this.evaluated(fixed, this.base, 0, true);
    if (e === undefined) return undefined;
    if (e.all) return others;
    const allOf = Array.isArray(s.allOf) ? s.allOf : [];
    if (byAny) return this.closeAnyOf(s, others, e, rest);
    if (!byBranch && !byCondition) return closeOwn(others, e, rest);
    if (byCondition) {
      // ajv 8 counts the keys an if names only where a then or an else ran after it and passed, and
      // not those it matches by pattern: only an if whose keys count anyway (the discriminator
      // named beside it) is written down here.
      const ifKeys = this.evaluated(s.if, this.base, 1, false);
      if (ifKeys === undefined || ifKeys.all || ifKeys.patterns.size > 0 || [...ifKeys.names].some((n) => !e.names.has(n))) return undefined;
    }
    // The branches, one of which passes where s does (a oneOf's, or the then and the else), and the
    // keys each evaluates then; ajv counts those of the one that passed.
    const branches: unknown[] = byBranch ? (s.oneOf as unknown[]) : [s.then ?? true, s.else ?? true];
    const keys = branches.map((x) => this.evaluated(x, this.base, 1, false));
    if (keys.some((k) => k === undefined)) return undefined;
    let outer: Record<string, unknown>;
    let arms: unknown[];
    if (keys.every((k) => !k!.all && k!.patterns.size === 0)) {
      // By name: the object's own check lets through every key some branch names (one pass over it),
      // and each branch holds the keys only the others name to `rest` (looked up by key). Closing
      // each branch whole read every key of the object again: web events as a closed oneOf of
      // kinds took 4.2 us a line that way.
      const union: Evaluated = { names: new Set(e.names), patterns: e.patterns, all: false };
      for (const k of keys) for (const n of k!.names) union.names.add(n);
      let patterns: RegExp[];
      try {
        patterns = [...e.patterns].map((p) => new RegExp(p, 'u'));
      } catch {
        return undefined;
      }
      outer = closeOwn(byBranch ? others : fixed, union, rest);
      arms = branches.map((x, i) => {
        const onlyOthers: Record<string, unknown> = {};
        for (const n of union.names) {
          if (e.names.has(n) || keys[i]!.names.has(n) || patterns.some((re) => re.test(n))) continue;
          Object.defineProperty(onlyOthers, n, { value: rest, enumerable: true, writable: true, configurable: true });
        }
        return Object.keys(onlyOthers).length === 0 ? x : { allOf: [x, { properties: onlyOthers }] };
      });
    } else {
      // Each branch closed whole over what it and the rest of s evaluate.
      outer = byBranch ? others : fixed;
      arms = branches.map((x, i) => {
        const k = keys[i]!;
        const all: Evaluated = { names: new Set([...e.names, ...k.names]), patterns: new Set([...e.patterns, ...k.patterns]), all: k.all };
        return all.all ? x : { allOf: [x, closed(all, rest)] };
      });
    }
    // No branch left with keys to hold: the branches as they were (a oneOf's kinds all naming the same keys).
    if (arms.every((a, i) => a === branches[i])) return byBranch ? outer : { ...outer, if: s.if, ...(s.then === undefined ? {} : { then: s.then }), ...(s.else === undefined ? {} : { else: s.else }) };
    // Exactly one branch passes when the oneOf does: the anyOf then holds exactly where its arm does.
    if (byBranch) return { ...outer, allOf: [...allOf, { anyOf: arms }] };
    return { ...outer, allOf: [...allOf, { if: s.if, then: arms[0], else: arms[1] }] };
  }

  /**
   * closeUnevaluated for an anyOf whose branches name keys: ajv reads every branch and counts the
   * keys of each that passed. The object's own check lets through every key some branch names;
   * each key that only branches name must then be absent, pass `rest`, or be named by a branch
   * that passes (an anyOf of those, per key). Branches with patterns or every key evaluated: undefined.
   */
  private closeAnyOf(s: Record<string, unknown>, others: Record<string, unknown>, e: Evaluated, rest: unknown): Record<string, unknown> | undefined {
    const branches = s.anyOf as unknown[];
    const keys = branches.map((x) => this.evaluated(x, this.base, 1, false));
    if (keys.some((k) => k === undefined || k.all || k.patterns.size > 0)) return undefined;
    let patterns: RegExp[];
    try {
      patterns = [...e.patterns].map((p) => new RegExp(p, 'u'));
    } catch {
      return undefined;
    }
    const union: Evaluated = { names: new Set(e.names), patterns: e.patterns, all: false };
    for (const k of keys) for (const n of k!.names) union.names.add(n);
    const perKey: unknown[] = [];
    for (const n of union.names) {
      if (e.names.has(n) || patterns.some((re) => re.test(n))) continue;
      const own: Record<string, unknown> = {};
      Object.defineProperty(own, n, { value: rest, enumerable: true, writable: true, configurable: true });
      perKey.push({ anyOf: [{ properties: own }, ...branches.filter((_, i) => keys[i]!.names.has(n))] });
    }
    const outer = closeOwn(others, union, rest);
    return perKey.length === 0 ? outer : { ...outer, allOf: [...(Array.isArray(s.allOf) ? s.allOf : []), ...perKey] };
  }

  /** What `x` evaluates whenever it passes, where `$ref`s resolve against `base` (closeUnevaluated); undefined when that depends on the data. */
  private evaluated(x: unknown, base: string, depth: number, idApplied: boolean): Evaluated | undefined {
    const out: Evaluated = { names: new Set(), patterns: new Set(), all: false };
    if (x === null || typeof x !== 'object' || Array.isArray(x)) return out;
    if (depth > 32) return undefined;
    const o = x as Record<string, unknown>;
    const at = idApplied ? base : this.inside(o, base);
    if (at === undefined) return undefined;
    base = at;
    if (o.$recursiveRef !== undefined || o.$dynamicRef !== undefined) return undefined;
    if (isPlain(o.properties)) for (const k of Object.keys(o.properties)) out.names.add(k);
    if (isPlain(o.patternProperties)) for (const k of Object.keys(o.patternProperties)) out.patterns.add(k);
    if (o.additionalProperties !== undefined || (depth > 0 && o.unevaluatedProperties !== undefined)) out.all = true;
    const add = (e: Evaluated | undefined): boolean => {
      if (e === undefined) return false;
      for (const n of e.names) out.names.add(n);
      for (const p of e.patterns) out.patterns.add(p);
      out.all ||= e.all;
      return true;
    };
    if (o.$ref !== undefined) {
      const target = this.refTarget(o.$ref, base);
      if (target === undefined || !add(this.evaluated(target.schema, target.base, depth + 1, true))) return undefined;
    }
    if (o.allOf !== undefined) {
      if (!Array.isArray(o.allOf)) return undefined;
      for (const m of o.allOf) if (!add(this.evaluated(m, base, depth + 1, false))) return undefined;
    }
    // ajv counts no key a `not` names (its annotations are dropped, as the spec says).
    const maybe: unknown[] = [o.if, o.then, o.else];
    for (const k of ['anyOf', 'oneOf']) if (Array.isArray(o[k])) maybe.push(...(o[k] as unknown[]));
    if (isPlain(o.dependentSchemas)) maybe.push(...Object.values(o.dependentSchemas));
    for (const m of maybe) if (this.namesProperties(m, base, depth + 1, false)) return undefined;
    return out;
  }

  /** Whether `x`, or what applies to the same value through it, names properties (or may: a `$ref` not followed). */
  private namesProperties(x: unknown, base: string, depth: number, idApplied: boolean): boolean {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) return false;
    if (depth > 32) return true;
    const o = x as Record<string, unknown>;
    const at = idApplied ? base : this.inside(o, base);
    if (at === undefined) return true;
    base = at;
    if (['properties', 'patternProperties', 'additionalProperties', 'unevaluatedProperties', '$recursiveRef', '$dynamicRef'].some((k) => o[k] !== undefined)) return true;
    if (o.$ref !== undefined) {
      const target = this.refTarget(o.$ref, base);
      if (target === undefined || this.namesProperties(target.schema, target.base, depth + 1, true)) return true;
    }
    const inPlace: unknown[] = [o.if, o.then, o.else, o.not];
    for (const k of ['allOf', 'anyOf', 'oneOf']) if (Array.isArray(o[k])) inPlace.push(...(o[k] as unknown[]));
    if (isPlain(o.dependentSchemas)) inPlace.push(...Object.values(o.dependentSchemas));
    return inPlace.some((m) => this.namesProperties(m, base, depth + 1, false));
  }

  /** The base URI inside `o`, nested where it is `base`; undefined for an id without `byId` to follow it. */
  private inside(o: Record<string, unknown>, base: string): string | undefined {
    const id = o[this.idKey];
    if (typeof id !== 'string') return base;
    return this.byId === undefined ? undefined : this.byId.within(base, id);
  }

  /** Where `ref`, written where the base URI is `base`, leads, as ref() follows it; undefined when it does not. */
  private refTarget(ref: unknown, base: string): { schema: unknown; base: string } | undefined {
    if (typeof ref !== 'string') return undefined;
    if (this.byId !== undefined) return this.byId.resolve(base, ref);
    if (ref !== '#' && !ref.startsWith('#/')) return undefined;
    const at = pointerTarget(this.root, ref, this.idKey);
    return at === NOT_FOUND ? undefined : { schema: at, base };
  }

  /**
   * The check of a `$ref`: "#" and "#/…" pointers into this document, or wherever ajv says a `$ref`
   * leads in rules that name their parts by id; anything else is unsure.
   */
  private ref(ref: unknown): Name {
    if (typeof ref !== 'string') return UNSURE;
    if (this.byId !== undefined) return this.refById(ref);
    if (ref !== '#' && !ref.startsWith('#/')) return UNSURE;
    let cell = this.refs.get(ref);
    if (cell) {
      if (cell.compiling) cell.recursive = true;
      return cell.name;
    }
    cell = { name: this.emit.reserve(), compiling: true, recursive: false };
    this.refs.set(ref, cell);
    const at = pointerTarget(this.root, ref, this.idKey);
    const target = at !== NOT_FOUND ? this.compile(at, ref === '#') : UNSURE;
    cell.compiling = false;
    // Only a cycle needs its depth counted: a schema that refers to itself without descending must end.
    if (cell.recursive) this.emit.recursive(cell.name, target);
    else this.emit.alias(cell.name, target);
    return cell.name;
  }

  /** ref() in rules that name their parts by id: the target ajv resolves, by its full URI. */
  private refById(ref: string): Name {
    const found = this.byId!.resolve(this.base, ref);
    if (found === undefined) return UNSURE;
    let cell = this.refs.get(found.key);
    if (cell) {
      if (cell.compiling) cell.recursive = true;
      return cell.name;
    }
    cell = { name: this.emit.reserve(), compiling: true, recursive: false };
    this.refs.set(found.key, cell);
    // The target's own id is in found.base already (ajv starts its function there).
    const s = found.schema;
    const target =
      s === this.root ? this.under(found.base, () => this.compile(s, true))
      : s === null || typeof s !== 'object' || Array.isArray(s) ? this.compile(s)
      : this.under(found.base, () => this.compileShared(s as Record<string, unknown>));
    cell.compiling = false;
    if (cell.recursive) this.emit.recursive(cell.name, target);
    else this.emit.alias(cell.name, target);
    return cell.name;
  }

  /**
   * The type-specific keywords of `s` (everything but $ref and the combinators), as one check.
   * `rereads`: checks after it read the same object again (conditions, an allOf, a oneOf or anyOf).
   */
  private own(s: Record<string, unknown>, lineRoot = false, alone = false, rereads = false): Name {
    let types = T_ANY;
    if (s.type !== undefined) {
      const list = Array.isArray(s.type) ? s.type : [s.type];
      types = 0;
      for (const t of list) {
        if (typeof t !== 'string' || !Object.hasOwn(TYPE_BITS, t)) return UNSURE;
        types |= TYPE_BITS[t];
      }
    }
    const str = this.stringChecks(s);
    const num = this.numberChecks(s);
    const obj = this.objectCheck(s, lineRoot, alone);
    // Read again after it: the check remembers where each key is, and the others read by key
    // (readsByKey in fast-path-emit.ts). Web events under three `if`/`then` conditions on their
    // type: the fast path took 38 us a line, against 17 for JSON.parse and ajv; 18 with the object
    // read whole first (primeKeys), 13 with the check remembering as it reads, which it cannot
    // where patternProperties name keys by their decoded names: there the object is read first.
    if (obj && rereads) obj.records = obj.patterns.length === 0;
    const arr = this.arrayCheck(s);
    const en = this.enumCheck(s);
    if (str === null || num === null || obj === null || arr === null || en === null) return UNSURE;
    if (types === T_ANY && str.length === 0 && Object.keys(num).length === 0 && obj === undefined && arr === undefined && en === undefined) return ANY;
    const check = this.emit.value(types, str, num, obj, arr, en);
    return obj?.records === false ? this.emit.allOf([this.emit.primeKeys(), check]) : check;
  }

  private stringChecks(o: Record<string, unknown>): StringCheck[] | null {
    const checks: StringCheck[] = [];
    if (o.format !== undefined) {
      if (typeof o.format !== 'string') return null;
      const def = this.formats[o.format];
      // A format for numbers (int32...), an async one or one ajv does not know: ajv decides.
      const check = formatCheck(def);
      if (!check) return null;
      // ajv-formats' own full-mode format (not one the schema's user replaced): a byte check helps.
      const bytes = def === fullFormats[o.format] ? BYTE_FORMATS[o.format] : undefined;
      checks.push({ str: check, bytes });
    }
    if (o.pattern !== undefined) {
      if (typeof o.pattern !== 'string') return null;
      // As ajv compiles it (unicodeRegExp is on by default).
      let re: RegExp;
      try {
        re = new RegExp(o.pattern, 'u');
      } catch {
        return null;
      }
      // "\\S" (not blank) and anchored ASCII patterns ("^[A-Z]{3}-[0-9]{4}$") are settled on the bytes.
      checks.push({ str: (x) => re.test(x), bytes: patternBytes(o.pattern) });
    }
    for (const [k, cmp] of [['minLength', (n: number, l: number) => n >= l], ['maxLength', (n: number, l: number) => n <= l]] as const) {
      if (o[k] === undefined) continue;
      const limit = o[k];
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) return null;
      // In valid UTF-8 without escapes, code points (what ucs2length counts) are the non-continuation bytes.
      checks.push({ str: (x) => cmp(ucs2length(x), limit), bytes: (b, from, to) => cmp(codePoints(b, from, to), limit) });
    }
    return checks;
  }

  private numberChecks(o: Record<string, unknown>): NumberSpec | null {
    const limit = (k: string): number | undefined | null => (o[k] === undefined ? undefined : typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : null);
    const spec: NumberSpec = {};
    if (this.options.draft === 'draft-04') {
      // draft-04's exclusiveMinimum/Maximum are booleans that make minimum/maximum strict (as
      // ajv-draft-04 reads them: the flag set makes the comparison strict). Left unsure, every line
      // reaching a number under them took ajv.
      for (const [k, strict] of [['minimum', 'exclusiveMinimum'], ['maximum', 'exclusiveMaximum']] as const) {
        const v = limit(k);
        const flag = o[strict];
        if (v === null || (flag !== undefined && typeof flag !== 'boolean') || (flag === true && v === undefined)) return null;
        if (v !== undefined) spec[flag === true ? strict : k] = v;
      }
      const m = limit('multipleOf');
      if (m === null) return null;
      if (m !== undefined) spec.multipleOf = m;
    } else {
      for (const k of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'] as const) {
        const v = limit(k);
        if (v === null) return null;
        if (v !== undefined) spec[k] = v;
      }
    }
    if (spec.multipleOf !== undefined && spec.multipleOf <= 0) return null;
    return spec;
  }

  private enumCheck(o: Record<string, unknown>): EnumList[] | undefined | null {
    if (o.enum === undefined && (o.const === undefined || !this.understood.has('const'))) return undefined;
    if (o.enum !== undefined && !Array.isArray(o.enum)) return null;
    const lists: unknown[][] = [];
    if (o.enum !== undefined) lists.push(o.enum as unknown[]);
    if (o.const !== undefined && this.understood.has('const')) lists.push([o.const]);
    return lists.map((members) => {
      const strings = new Set(members.filter((m): m is string => typeof m === 'string'));
      const encoded = [...strings].map((m) => Buffer.from(m, 'utf8'));
      const others = members.filter((m) => typeof m !== 'string');
      return { strings, encoded, others };
    });
  }

  private objectCheck(o: Record<string, unknown>, lineRoot: boolean, alone: boolean): ObjectSpec | undefined | null {
    const keywords = ['properties', 'patternProperties', 'additionalProperties', 'required', 'minProperties', 'maxProperties', 'propertyNames', 'dependencies', 'dependentRequired', 'dependentSchemas'];
    if (!keywords.some((k) => o[k] !== undefined && this.understood.has(k))) return undefined;
    const spec: ObjectSpec = { keys: [], patterns: [], additional: undefined, propertyNames: undefined, required: [], min: 0, max: Infinity, dependencies: [], keySensitive: false, distinct: false, lineRoot, alone };
    const keyIndex = (name: string): number => {
      // ajv reads `data.constructor`, `data.toString`, ... through the prototype chain: those names
      // are present on every object as far as ajv is concerned. A name with a lone surrogate has no
      // UTF-8 spelling to compare keys' bytes with. Leave both to ajv.
      if (name in Object.prototype || Buffer.from(name, 'utf8').toString('utf8') !== name) throw UNSURE_SCHEMA;
      let k = spec.keys.findIndex((x) => x.name === name);
      if (k < 0) {
        k = spec.keys.length;
        spec.keys.push({ name, bytes: Buffer.from(name, 'utf8'), check: undefined, inProperties: false });
      }
      return k;
    };
    try {
      const props = o.properties;
      if (props !== undefined) {
        if (props === null || typeof props !== 'object' || Array.isArray(props)) return null;
        for (const [name, sub] of Object.entries(props)) {
          const k = keyIndex(name);
          spec.keys[k].inProperties = true;
          spec.keys[k].check = this.compile(sub);
        }
      }
      if (o.patternProperties !== undefined) {
        const pp = o.patternProperties;
        if (pp === null || typeof pp !== 'object' || Array.isArray(pp)) return null;
        for (const [pattern, sub] of Object.entries(pp)) {
          let re: RegExp;
          try {
            re = new RegExp(pattern, 'u');
          } catch {
            return null;
          }
          spec.patterns.push({ re, check: this.compile(sub) });
        }
      }
      if (o.additionalProperties !== undefined && o.additionalProperties !== true) spec.additional = this.compile(o.additionalProperties);
      if (o.propertyNames !== undefined && this.understood.has('propertyNames') && o.propertyNames !== true) spec.propertyNames = this.compile(o.propertyNames);
      if (o.required !== undefined) {
        if (!Array.isArray(o.required) || !o.required.every((r) => typeof r === 'string')) return null;
        for (const r of new Set(o.required as string[])) spec.required.push(keyIndex(r));
      }
      for (const [k, field] of [['minProperties', 'min'], ['maxProperties', 'max']] as const) {
        if (o[k] === undefined) continue;
        if (typeof o[k] !== 'number' || !Number.isInteger(o[k]) || (o[k] as number) < 0) return null;
        spec[field] = o[k] as number;
        spec.distinct = true;
      }
      const deps: Array<[string, unknown, 'any' | 'names' | 'schema']> = [];
      if (o.dependencies !== undefined && this.understood.has('dependencies')) for (const [n, v] of Object.entries(o.dependencies as object)) deps.push([n, v, 'any']);
      if (o.dependentRequired !== undefined && this.understood.has('dependentRequired')) for (const [n, v] of Object.entries(o.dependentRequired as object)) deps.push([n, v, 'names']);
      if (o.dependentSchemas !== undefined && this.understood.has('dependentSchemas')) for (const [n, v] of Object.entries(o.dependentSchemas as object)) deps.push([n, v, 'schema']);
      for (const [name, v, kind] of deps) {
        const k = keyIndex(name);
        if (Array.isArray(v) && kind !== 'schema') {
          if (!v.every((x) => typeof x === 'string')) return null;
          spec.dependencies.push({ key: k, names: (v as string[]).map(keyIndex), check: undefined });
        } else if (kind !== 'names') spec.dependencies.push({ key: k, names: [], check: this.compile(v) });
        else return null;
      }
    } catch (err) {
      if (err === UNSURE_SCHEMA) return null;
      throw err;
    }
    // Whether a key's exact spelling matters to anything beyond the named keys.
    spec.keySensitive = spec.patterns.length > 0 || spec.additional !== undefined || spec.propertyNames !== undefined || spec.distinct;
    // Whether a repeated unnamed key could change the verdict (JSON.parse keeps its last value).
    spec.distinct ||= spec.patterns.length > 0 || spec.additional !== undefined;
    return spec;
  }

  private arrayCheck(o: Record<string, unknown>): ArraySpec | undefined | null {
    const keywords = ['items', 'prefixItems', 'additionalItems', 'contains', 'minItems', 'maxItems', 'uniqueItems'];
    if (!keywords.some((k) => o[k] !== undefined && this.understood.has(k))) return undefined;
    const spec: ArraySpec = { prefix: [], rest: undefined, contains: undefined, containsSkippedUpTo: -1, minContains: 1, maxContains: Infinity, min: 0, max: Infinity, unique: false };
    const draft = this.options.draft;
    if (draft === '2020-12') {
      if (o.prefixItems !== undefined) {
        if (!Array.isArray(o.prefixItems)) return null;
        spec.prefix = o.prefixItems.map((x) => this.compile(x));
      }
      if (o.items !== undefined) {
        if (Array.isArray(o.items)) return null;
        spec.rest = this.compile(o.items);
      }
    } else if (Array.isArray(o.items)) {
      spec.prefix = o.items.map((x) => this.compile(x));
      if (o.additionalItems !== undefined) spec.rest = this.compile(o.additionalItems);
    } else if (o.items !== undefined) spec.rest = this.compile(o.items);
    if (o.contains !== undefined && this.understood.has('contains')) {
      spec.contains = this.compile(o.contains);
      // ajv's `valid` flag is the tuple's until it checks an item against a schema with a keyword in it (its alwaysValidSchema).
      const tuple = draft === '2020-12' ? o.prefixItems : o.items;
      if (Array.isArray(tuple)) spec.containsSkippedUpTo = tuple.findIndex((x) => x !== true && !(x !== null && typeof x === 'object' && !Array.isArray(x) && Object.keys(x).every((k) => !this.options.isKeyword(k))));
      for (const [k, field] of [['minContains', 'minContains'], ['maxContains', 'maxContains']] as const) {
        if (o[k] === undefined || !this.understood.has(k)) continue;
        if (typeof o[k] !== 'number' || !Number.isInteger(o[k]) || (o[k] as number) < 0) return null;
        spec[field] = o[k] as number;
      }
    }
    for (const [k, field] of [['minItems', 'min'], ['maxItems', 'max']] as const) {
      if (o[k] === undefined) continue;
      if (typeof o[k] !== 'number' || !Number.isInteger(o[k]) || (o[k] as number) < 0) return null;
      spec[field] = o[k] as number;
    }
    if (o.uniqueItems === true) {
      // ajv skips items of a type `items` does not allow when comparing; with prefixItems in front,
      // such items can be valid, and ajv's answer is then not plain uniqueness.
      if (spec.prefix.length > 0) return null;
      spec.unique = true;
    }
    return spec;
  }
}

/** Keywords whose subschemas apply to the same value (not to a member or an item of it). */
const IN_PLACE_LISTS = ['allOf', 'anyOf', 'oneOf'];
const IN_PLACE_ONE = ['not', 'if', 'then', 'else'];
const IN_PLACE_MAPS = ['dependentSchemas', 'dependencies'];

/**
 * Whether following `$ref`s and the keywords that apply to the same value can come back to a `$ref`
 * already being followed: a schema that recurses without reading further into the data. A `$ref`
 * that cannot be followed here (not a "#" or "#/…" pointer, unless `byId` says where it leads)
 * counts as such a loop.
 */
function loopsInPlace(root: unknown, idKey: string, byId?: RefResolver): boolean {
  const state = new Map<string, 'open' | 'done'>();
  let loops = false;
  /** The base URI inside `s`, nested where it is `base`. */
  const inside = (s: unknown, base: string): string => {
    const id = s !== root && s !== null && typeof s === 'object' ? (s as Record<string, unknown>)[idKey] : undefined;
    return byId !== undefined && typeof id === 'string' ? byId.within(base, id) : base;
  };
  /** `s` where `$ref`s resolve against `base`. */
  const visitSchema = (s: unknown, base: string): void => {
    if (loops || s === null || typeof s !== 'object' || Array.isArray(s)) return;
    const o = s as Record<string, unknown>;
    const visit = (x: unknown): void => visitSchema(x, inside(x, base));
    // Only a string: the walk below visits maps of properties too, and the draft-07 meta-schema
    // names a property "$ref" (a schema there would have been refused with a $ref of another type).
    if (typeof o.$ref === 'string') visitRef(o.$ref, base);
    for (const k of IN_PLACE_LISTS) if (Array.isArray(o[k])) for (const x of o[k] as unknown[]) visit(x);
    for (const k of IN_PLACE_ONE) visit(o[k]);
    for (const k of IN_PLACE_MAPS) if (o[k] !== null && typeof o[k] === 'object') for (const x of Object.values(o[k] as object)) visit(x);
  };
  const visitRef = (ref: unknown, base: string): void => {
    let key: string;
    let target: unknown;
    let targetBase = base;
    if (byId !== undefined && typeof ref === 'string') {
      const found = byId.resolve(base, ref);
      if (found === undefined) {
        loops = true;
        return;
      }
      ({ key, schema: target, base: targetBase } = found);
    } else {
      if (typeof ref !== 'string' || (ref !== '#' && !ref.startsWith('#/'))) {
        loops = true;
        return;
      }
      key = ref;
      const at = pointerTarget(root, ref);
      target = at === NOT_FOUND ? undefined : at;
    }
    const seen = state.get(key);
    if (seen === 'open') loops = true;
    if (seen !== undefined) return;
    state.set(key, 'open');
    visitSchema(target, targetBase);
    state.set(key, 'done');
  };
  // Every subschema of the document, wherever it sits, may be where a line's check starts.
  const walk = (x: unknown, base: string): void => {
    if (loops || x === null || typeof x !== 'object') return;
    const at = Array.isArray(x) ? base : inside(x, base);
    if (!Array.isArray(x)) visitSchema(x, at);
    for (const v of Object.values(x as object)) walk(v, at);
  };
  walk(root, byId?.rootBase ?? '');
  return loops;
}

/**
 * Whether the rules name parts by id: a `$ref` that is no "#" or "#/…" pointer, or an id below the
 * root (which changes what the pointers inside it mean). Only such rules need ajv's resolver.
 */
function namesById(root: unknown, idKey: string): boolean {
  const visit = (x: unknown): boolean => {
    if (x === null || typeof x !== 'object') return false;
    if (!Array.isArray(x)) {
      const o = x as Record<string, unknown>;
      if (typeof o.$ref === 'string' && o.$ref !== '#' && !o.$ref.startsWith('#/')) return true;
      if (x !== root && typeof o[idKey] === 'string') return true;
    }
    return Object.values(x).some(visit);
  };
  return visit(root);
}

/** The properties a subschema evaluates whenever it passes: by name, by pattern, or every one. */
interface Evaluated {
  names: Set<string>;
  patterns: Set<string>;
  all: boolean;
}

/** `s` (without unevaluatedProperties) whose own object check lets the keys `e` names through and holds every other key to `rest`. */
function closeOwn(s: Record<string, unknown>, e: Evaluated, rest: unknown): Record<string, unknown> {
  // The keys s names keep their own schemas; the others it evaluates may be anything.
  const own = closed(e, rest);
  const patterns = own.patternProperties === undefined ? {} : { patternProperties: { ...(own.patternProperties as object), ...(isPlain(s.patternProperties) ? s.patternProperties : {}) } };
  return { ...s, properties: { ...(own.properties as object), ...(isPlain(s.properties) ? s.properties : {}) }, ...patterns, additionalProperties: rest };
}

/** An object schema under which the keys `e` names may be anything and every other key must pass `rest`. */
function closed(e: Evaluated, rest: unknown): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const patterns: Record<string, unknown> = {};
  // defineProperty: a key named "__proto__" is a key like any other.
  for (const n of e.names) Object.defineProperty(properties, n, { value: true, enumerable: true, writable: true, configurable: true });
  for (const p of e.patterns) Object.defineProperty(patterns, p, { value: true, enumerable: true, writable: true, configurable: true });
  return { properties, ...(e.patterns.size > 0 ? { patternProperties: patterns } : {}), additionalProperties: rest };
}

function isPlain(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/** Thrown inside the compiler when a subschema must be left to ajv. */
const UNSURE_SCHEMA = Symbol('unsure');
