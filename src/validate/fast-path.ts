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
 * compiler does not understand exactly (`unevaluated*`, `$dynamicRef`, a `$ref` outside the
 * document, a custom keyword, an escaped key...) answers UNSURE for the values that reach it only, so
 * those lines take the exact path and the rest stay fast.
 *
 * Understood, per draft as ajv reads it: `$ref` to "#" or "#/…" pointers (recursion included),
 * `type` (unions too), `enum`/`const` of any JSON value, numeric keywords, string keywords (lengths
 * in code points as ajv counts them, `pattern` with the `u` flag, every synchronous string format),
 * `properties`/`patternProperties`/`additionalProperties`/`propertyNames`/`required`/
 * `min|maxProperties`/`dependencies`/`dependentRequired`/`dependentSchemas`, `items`/`prefixItems`/
 * `additionalItems`/`contains`/`min|maxContains`/`min|maxItems`/`uniqueItems`, `allOf`/`anyOf`/
 * `oneOf`/`not`/`if`-`then`-`else`, boolean schemas; at any depth.
 */
import ucs2lengthModule from 'ajv/dist/runtime/ucs2length.js';
import equalModule from 'ajv/dist/runtime/equal.js';
import { fullFormats as fullFormatsExport } from 'ajv-formats/dist/formats.js';
import { BYTE_FORMATS, codePoints, formatCheck, hasAsciiNonSpace } from './byte-formats.js';
import { FALSE, NULL, QUOTE, TRUE, scanned, scanNumber, scanString, scanWord, skipValue, skipWs } from './json-scan.js';

const ucs2length = ((ucs2lengthModule as any).default ?? ucs2lengthModule) as (s: string) => number;
const equal = ((equalModule as any).default ?? equalModule) as (a: unknown, b: unknown) => boolean;
const fullFormats = fullFormatsExport as Record<string, unknown>;

/** True only when the UTF-8 bytes `buf[start, end)` are a JSON object that the rules accept. */
export type FastAccept = (buf: Buffer, start: number, end: number) => boolean;

/** A format as ajv holds it (ajv.formats[name]). */
export type FormatDef = true | RegExp | ((s: string) => boolean) | { type?: string; async?: boolean; validate: RegExp | ((s: string) => boolean) };

/** The JSON Schema draft the rules are compiled as. */
export type Draft = 'draft-04' | 'draft-07' | '2019-09' | '2020-12';

/** What the compiler must know of the ajv instance that decides. */
export interface FastPathOptions {
  draft: Draft;
  /** Whether ajv knows `keyword`: one the compiler does not understand then makes its subschema unsure. */
  isKeyword: (keyword: string) => boolean;
}

/**
 * A compiled subschema: for the value whose first byte is `b[i]` (not whitespace), the index after
 * the value when the subschema accepts it, else REJECT or UNSURE.
 */
type Check = (b: Buffer, i: number, end: number) => number;
const REJECT = -1;
const UNSURE = -2;

// Value kinds, as bits.
const T_STRING = 1;
const T_NUMBER = 2; // any JSON number
const T_INTEGER = 4; // a number whose value is whole
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

/** Keywords that never change a verdict (containers of definitions included). */
const INERT = new Set(['title', 'description', '$comment', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly', '$schema', 'definitions', '$defs', '$anchor']);
const COMMON = ['type', 'enum', 'properties', 'patternProperties', 'additionalProperties', 'required', 'minProperties', 'maxProperties', 'items', 'minItems', 'maxItems', 'uniqueItems', 'minLength', 'maxLength', 'pattern', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'allOf', 'anyOf', 'oneOf', 'not', '$ref'];
const SINCE_06 = ['const', 'contains', 'propertyNames', 'if', 'then', 'else'];
/** The keywords this compiler decides exactly, per draft (ajv's vocabulary for it). */
const UNDERSTOOD: Record<Draft, Set<string>> = {
  'draft-04': new Set([...COMMON, 'additionalItems', 'dependencies']),
  'draft-07': new Set([...COMMON, ...SINCE_06, 'additionalItems', 'dependencies']),
  '2019-09': new Set([...COMMON, ...SINCE_06, 'additionalItems', 'dependentRequired', 'dependentSchemas', 'minContains', 'maxContains']),
  '2020-12': new Set([...COMMON, ...SINCE_06, 'prefixItems', 'dependentRequired', 'dependentSchemas', 'minContains', 'maxContains']),
};

/** Containers nested deeper than this take the exact path (the JS stack is the limit here). */
const MAX_NESTING = 400;
let nesting = 0;

const unsure: Check = () => UNSURE;
const never: Check = () => REJECT;
/** `true`: any JSON value. */
const anything: Check = (b, i, end) => {
  const e = skipValue(b, i, end);
  return e < 0 ? UNSURE : e;
};

/** Builds the shortcut for a schema, or returns undefined when it would never accept anything. */
export function compileFastAccept(schema: unknown, formats: Record<string, FormatDef | undefined>, options: FastPathOptions = { draft: 'draft-07', isKeyword: () => true }): FastAccept | undefined {
  const c = new Compiler(schema, formats, options);
  const root = c.compile(schema, true);
  if (root === unsure) return undefined;
  return (b, start, end) => {
    const i = skipWs(b, start, end);
    if (i >= end || b[i] !== 0x7b) return false;
    nesting = 0;
    const e = root(b, i, end);
    return e >= 0 && skipWs(b, e, end) === end;
  };
}

class Compiler {
  /** Checks of `$ref` targets by pointer, filled in once compiled (so recursion works). */
  private refs = new Map<string, { check: Check }>();
  private understood: Set<string>;
  private idKey: string;

  constructor(
    private root: unknown,
    private formats: Record<string, FormatDef | undefined>,
    private options: FastPathOptions,
  ) {
    this.understood = UNDERSTOOD[options.draft];
    this.idKey = options.draft === 'draft-04' ? 'id' : '$id';
  }

  compile(schema: unknown, isRoot = false): Check {
    if (schema === true) return anything;
    if (schema === false) return never;
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return unsure;
    const s = schema as Record<string, unknown>;
    // A nested id changes what "#/…" means inside: leave such a subschema to ajv.
    if (!isRoot && typeof s[this.idKey] === 'string') return unsure;
    for (const k of Object.keys(s)) {
      if (INERT.has(k) || k === this.idKey || this.understood.has(k)) continue;
      if (this.options.isKeyword(k)) return unsure;
    }
    const parts: Check[] = [];
    if (s.$ref !== undefined) {
      // Whether ajv applies the keywords beside a $ref differs by draft: leave that to ajv.
      if (this.options.draft === 'draft-04' || this.options.draft === 'draft-07') {
        for (const k of Object.keys(s)) if (k !== '$ref' && this.understood.has(k)) return unsure;
      }
      parts.push(this.ref(s.$ref));
    }
    const own = this.own(s);
    if (own === unsure) return unsure;
    if (own !== anything) parts.unshift(own);
    for (const k of ['allOf', 'anyOf', 'oneOf'] as const) {
      if (s[k] === undefined) continue;
      if (!Array.isArray(s[k]) || (s[k] as unknown[]).length === 0) return unsure;
      const subs = (s[k] as unknown[]).map((x) => this.compile(x));
      parts.push(k === 'allOf' ? allOf(subs) : k === 'anyOf' ? anyOf(subs) : oneOf(subs));
    }
    if (s.not !== undefined) parts.push(not(this.compile(s.not)));
    if (s.if !== undefined && this.understood.has('if') && (s.then !== undefined || s.else !== undefined)) {
      parts.push(ifThenElse(this.compile(s.if), s.then === undefined ? undefined : this.compile(s.then), s.else === undefined ? undefined : this.compile(s.else)));
    }
    if (parts.length === 0) return anything;
    return parts.length === 1 ? parts[0] : allOf(parts);
  }

  /** The check of a `$ref`: "#" and "#/…" pointers into this document; anything else is unsure. */
  private ref(ref: unknown): Check {
    if (typeof ref !== 'string' || (ref !== '#' && !ref.startsWith('#/'))) return unsure;
    let cell = this.refs.get(ref);
    if (cell) return viaRef(cell);
    cell = { check: unsure };
    this.refs.set(ref, cell);
    let at: unknown = this.root;
    let ok = true;
    if (ref !== '#') {
      for (const raw of ref.slice(2).split('/')) {
        let key: string;
        try {
          key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
        } catch {
          ok = false;
          break;
        }
        if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) {
          ok = false;
          break;
        }
        at = (at as Record<string, unknown>)[key];
        // Walking through a subschema with its own id changes the base URI: ajv's business.
        if (at !== null && typeof at === 'object' && typeof (at as Record<string, unknown>)[this.idKey] === 'string') ok = false;
      }
    }
    const target = at;
    if (ok) cell.check = this.compile(target, ref === '#');
    return viaRef(cell);
  }

  /** The type-specific keywords of `s` (everything but $ref and the combinators), as one check. */
  private own(s: Record<string, unknown>): Check {
    let types = T_ANY;
    if (s.type !== undefined) {
      const list = Array.isArray(s.type) ? s.type : [s.type];
      types = 0;
      for (const t of list) {
        if (typeof t !== 'string' || !Object.hasOwn(TYPE_BITS, t)) return unsure;
        types |= TYPE_BITS[t];
      }
    }
    const str = this.stringChecks(s);
    const num = this.numberChecks(s);
    const obj = this.objectCheck(s);
    const arr = this.arrayCheck(s);
    const en = this.enumCheck(s);
    if (str === null || num === null || obj === unsure || arr === unsure || en === null) return unsure;
    if (types === T_ANY && str.length === 0 && num.length === 0 && obj === undefined && arr === undefined && en === undefined) return anything;
    return valueCheck(types, str, num, obj as ObjectSpec | undefined, arr as ArraySpec | undefined, en);
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
      // "\\S" (not blank) is the common idiom: an ASCII byte that is not whitespace settles it.
      checks.push({ str: (x) => re.test(x), bytes: o.pattern === '\\S' ? hasAsciiNonSpace : undefined });
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

  private numberChecks(o: Record<string, unknown>): Array<(n: number) => boolean> | null {
    const checks: Array<(n: number) => boolean> = [];
    const limit = (k: string): number | undefined | null => (o[k] === undefined ? undefined : typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : null);
    const min = limit('minimum');
    const max = limit('maximum');
    const xmin = limit('exclusiveMinimum');
    const xmax = limit('exclusiveMaximum');
    const mult = limit('multipleOf');
    // draft-04's boolean exclusiveMinimum/Maximum (null here) modify minimum/maximum: ajv decides.
    if (min === null || max === null || xmin === null || xmax === null || mult === null) return null;
    if (min !== undefined) checks.push((n) => n >= min);
    if (max !== undefined) checks.push((n) => n <= max);
    if (xmin !== undefined) checks.push((n) => n > xmin);
    if (xmax !== undefined) checks.push((n) => n < xmax);
    if (mult !== undefined) {
      if (mult <= 0) return null;
      // ajv's own test (without multipleOfPrecision): the quotient equals parseInt of itself.
      checks.push((n) => {
        const q = n / mult;
        return q === parseInt(q as unknown as string);
      });
    }
    return checks;
  }

  private enumCheck(o: Record<string, unknown>): EnumCheck | undefined | null {
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

  private objectCheck(o: Record<string, unknown>): ObjectSpec | undefined | typeof unsure {
    const keywords = ['properties', 'patternProperties', 'additionalProperties', 'required', 'minProperties', 'maxProperties', 'propertyNames', 'dependencies', 'dependentRequired', 'dependentSchemas'];
    if (!keywords.some((k) => o[k] !== undefined && this.understood.has(k))) return undefined;
    const spec: ObjectSpec = { keys: [], byLength: new Map(), patterns: [], additional: undefined, propertyNames: undefined, required: [], min: 0, max: Infinity, dependencies: [], keySensitive: false, distinct: false };
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
        if (props === null || typeof props !== 'object' || Array.isArray(props)) return unsure;
        for (const [name, sub] of Object.entries(props)) {
          const k = keyIndex(name);
          spec.keys[k].inProperties = true;
          spec.keys[k].check = this.compile(sub);
        }
      }
      if (o.patternProperties !== undefined) {
        const pp = o.patternProperties;
        if (pp === null || typeof pp !== 'object' || Array.isArray(pp)) return unsure;
        for (const [pattern, sub] of Object.entries(pp)) {
          let re: RegExp;
          try {
            re = new RegExp(pattern, 'u');
          } catch {
            return unsure;
          }
          spec.patterns.push({ re, check: this.compile(sub) });
        }
      }
      if (o.additionalProperties !== undefined && o.additionalProperties !== true) spec.additional = this.compile(o.additionalProperties);
      if (o.propertyNames !== undefined && this.understood.has('propertyNames') && o.propertyNames !== true) spec.propertyNames = this.compile(o.propertyNames);
      if (o.required !== undefined) {
        if (!Array.isArray(o.required) || !o.required.every((r) => typeof r === 'string')) return unsure;
        for (const r of new Set(o.required as string[])) spec.required.push(keyIndex(r));
      }
      for (const [k, field] of [['minProperties', 'min'], ['maxProperties', 'max']] as const) {
        if (o[k] === undefined) continue;
        if (typeof o[k] !== 'number' || !Number.isInteger(o[k]) || (o[k] as number) < 0) return unsure;
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
          if (!v.every((x) => typeof x === 'string')) return unsure;
          spec.dependencies.push({ key: k, names: (v as string[]).map(keyIndex), check: undefined });
        } else if (kind !== 'names') spec.dependencies.push({ key: k, names: [], check: this.compile(v) });
        else return unsure;
      }
    } catch (err) {
      if (err === UNSURE_SCHEMA) return unsure;
      throw err;
    }
    if (spec.keys.length > 64) return unsure;
    for (const k of spec.keys) {
      const list = spec.byLength.get(k.bytes.length) ?? [];
      list.push(spec.keys.indexOf(k));
      spec.byLength.set(k.bytes.length, list);
    }
    // Whether a key's exact spelling matters to anything beyond the named keys.
    spec.keySensitive = spec.patterns.length > 0 || spec.additional !== undefined || spec.propertyNames !== undefined || spec.distinct;
    // Whether a repeated unnamed key could change the verdict (JSON.parse keeps its last value).
    spec.distinct ||= spec.patterns.length > 0 || spec.additional !== undefined;
    return spec;
  }

  private arrayCheck(o: Record<string, unknown>): ArraySpec | undefined | typeof unsure {
    const keywords = ['items', 'prefixItems', 'additionalItems', 'contains', 'minItems', 'maxItems', 'uniqueItems'];
    if (!keywords.some((k) => o[k] !== undefined && this.understood.has(k))) return undefined;
    const spec: ArraySpec = { prefix: [], rest: undefined, contains: undefined, minContains: 1, maxContains: Infinity, min: 0, max: Infinity, unique: false };
    const draft = this.options.draft;
    if (draft === '2020-12') {
      if (o.prefixItems !== undefined) {
        if (!Array.isArray(o.prefixItems)) return unsure;
        spec.prefix = o.prefixItems.map((x) => this.compile(x));
      }
      if (o.items !== undefined) {
        if (Array.isArray(o.items)) return unsure;
        spec.rest = this.compile(o.items);
      }
    } else if (Array.isArray(o.items)) {
      spec.prefix = o.items.map((x) => this.compile(x));
      if (o.additionalItems !== undefined) spec.rest = this.compile(o.additionalItems);
    } else if (o.items !== undefined) spec.rest = this.compile(o.items);
    if (o.contains !== undefined && this.understood.has('contains')) {
      spec.contains = this.compile(o.contains);
      for (const [k, field] of [['minContains', 'minContains'], ['maxContains', 'maxContains']] as const) {
        if (o[k] === undefined || !this.understood.has(k)) continue;
        if (typeof o[k] !== 'number' || !Number.isInteger(o[k]) || (o[k] as number) < 0) return unsure;
        spec[field] = o[k] as number;
      }
    }
    for (const [k, field] of [['minItems', 'min'], ['maxItems', 'max']] as const) {
      if (o[k] === undefined) continue;
      if (typeof o[k] !== 'number' || !Number.isInteger(o[k]) || (o[k] as number) < 0) return unsure;
      spec[field] = o[k] as number;
    }
    if (o.uniqueItems === true) {
      // ajv skips items of a type `items` does not allow when comparing; with prefixItems in front,
      // such items can be valid, and ajv's answer is then not plain uniqueness.
      if (spec.prefix.length > 0) return unsure;
      spec.unique = true;
    }
    return spec;
  }
}

/**
 * A `$ref`'s check, read when it runs (so a recursive one finds itself), counted as nesting: a
 * schema that refers to itself without descending ("$ref": "#" at the root) must end, as UNSURE.
 */
function viaRef(cell: { check: Check }): Check {
  return (b, i, end) => {
    if (++nesting > MAX_NESTING) return UNSURE;
    try {
      return cell.check(b, i, end);
    } finally {
      nesting--;
    }
  };
}

/** Thrown inside the compiler when a subschema must be left to ajv. */
const UNSURE_SCHEMA = Symbol('unsure');

/**
 * One check on a string value. `str` is exactly ajv's check, on the value as JSON.parse gives it.
 * `bytes`, when present, looks at the raw UTF-8 bytes of a value without escapes and never
 * allocates: it answers true only when `str` would, and false when unsure, and `str` then decides.
 */
interface StringCheck {
  bytes?: (b: Buffer, from: number, to: number) => boolean;
  str: (s: string) => boolean;
}

/** enum and const: each list must contain the value. */
type EnumCheck = Array<{ strings: Set<string>; encoded: Buffer[]; others: unknown[] }>;

interface ObjectSpec {
  /** Every key the keywords name (properties, required, dependencies), with its subschema if any. */
  keys: Array<{ name: string; bytes: Buffer; check: Check | undefined; inProperties: boolean }>;
  /** Indexes into `keys` by the key's byte length. */
  byLength: Map<number, number[]>;
  patterns: Array<{ re: RegExp; check: Check }>;
  /** additionalProperties when not `true`. */
  additional: Check | undefined;
  propertyNames: Check | undefined;
  required: number[];
  min: number;
  max: number;
  dependencies: Array<{ key: number; names: number[]; check: Check | undefined }>;
  /** An escaped key could change the verdict. */
  keySensitive: boolean;
  /** Every key's spelling is collected to catch repeats. */
  distinct: boolean;
}

interface ArraySpec {
  prefix: Check[];
  rest: Check | undefined;
  contains: Check | undefined;
  minContains: number;
  maxContains: number;
  min: number;
  max: number;
  unique: boolean;
}

function allOf(subs: Check[]): Check {
  return (b, i, end) => {
    let e = UNSURE;
    for (let k = 0; k < subs.length; k++) {
      const r = subs[k](b, i, end);
      if (r < 0) return r;
      if (k > 0 && r !== e) return UNSURE;
      e = r;
    }
    return e;
  };
}

function anyOf(subs: Check[]): Check {
  return (b, i, end) => {
    let result = REJECT;
    for (const s of subs) {
      const r = s(b, i, end);
      if (r >= 0) return r;
      if (r === UNSURE) result = UNSURE;
    }
    return result;
  };
}

function oneOf(subs: Check[]): Check {
  return (b, i, end) => {
    let e = REJECT;
    let passing = 0;
    for (const s of subs) {
      const r = s(b, i, end);
      if (r === UNSURE) return UNSURE;
      if (r >= 0) {
        passing++;
        e = r;
      }
    }
    return passing === 1 ? e : REJECT;
  };
}

function not(sub: Check): Check {
  return (b, i, end) => {
    const r = sub(b, i, end);
    if (r >= 0) return REJECT;
    if (r === UNSURE) return UNSURE;
    // REJECT is certain only for JSON: make sure it is.
    return anything(b, i, end);
  };
}

function ifThenElse(cond: Check, then: Check | undefined, otherwise: Check | undefined): Check {
  return (b, i, end) => {
    const r = cond(b, i, end);
    if (r === UNSURE) return UNSURE;
    const next = r >= 0 ? then : otherwise;
    if (next === undefined) return r >= 0 ? r : anything(b, i, end);
    return next(b, i, end);
  };
}

/** The check of a subschema's own keywords, for a value of any kind. */
function valueCheck(types: number, str: StringCheck[], num: Array<(n: number) => boolean>, obj: ObjectSpec | undefined, arr: ArraySpec | undefined, en: EnumCheck | undefined): Check {
  const objCheck = obj ? objectChecker(obj) : undefined;
  const arrCheck = arr ? arrayChecker(arr) : undefined;
  const wholeOnly = (types & T_NUMBER) === 0 && (types & T_INTEGER) !== 0;
  return (b, i, end) => {
    const c = b[i];
    let e: number;
    if (c === QUOTE) {
      e = scanString(b, i + 1, end);
      if (e < 0) return UNSURE;
      if ((types & T_STRING) === 0) return REJECT;
      const escaped = scanned.hadEscape;
      if (str.length > 0 || en !== undefined) {
        let s: string | undefined;
        for (let k = 0; k < str.length; k++) {
          const chk = str[k];
          if (!escaped && chk.bytes !== undefined && chk.bytes(b, i + 1, e - 1)) continue;
          // The value as JSON.parse gives it: decode escapes only when there are any.
          s ??= escaped ? (JSON.parse(b.toString('utf8', i, e)) as string) : b.toString('utf8', i + 1, e - 1);
          if (!chk.str(s)) return REJECT;
        }
        if (en !== undefined) {
          for (const list of en) {
            if (!escaped && isOneOf(list.encoded, b, i + 1, e - 1)) continue;
            s ??= escaped ? (JSON.parse(b.toString('utf8', i, e)) as string) : b.toString('utf8', i + 1, e - 1);
            if (!list.strings.has(s)) return REJECT;
          }
        }
      }
      return e;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      e = scanNumber(b, i, end);
      if (e < 0) return UNSURE;
      if ((types & (T_NUMBER | T_INTEGER)) === 0) return REJECT;
      const plain = scanned.numberIsPlainInteger;
      if (num.length > 0 || en !== undefined || (wholeOnly && !plain)) {
        const n = Number(b.toString('latin1', i, e));
        // 1e400 is Infinity to JSON.parse, and a number to ajv only without strictNumbers: unsure.
        if (!Number.isFinite(n)) return UNSURE;
        if (wholeOnly && n % 1 !== 0) return REJECT;
        for (let k = 0; k < num.length; k++) if (!num[k](n)) return REJECT;
        if (en !== undefined && !enumHas(en, n)) return REJECT;
      }
      return e;
    }
    if (c === 0x7b) {
      if ((types & T_OBJECT) === 0) return REJECT;
      e = objCheck ? objCheck(b, i, end) : anything(b, i, end);
    } else if (c === 0x5b) {
      if ((types & T_ARRAY) === 0) return REJECT;
      e = arrCheck ? arrCheck(b, i, end) : anything(b, i, end);
    } else if (c === 0x74 || c === 0x66) {
      e = scanWord(b, i, end, c === 0x74 ? TRUE : FALSE);
      if (e < 0) return UNSURE;
      if ((types & T_BOOLEAN) === 0) return REJECT;
    } else if (c === 0x6e) {
      e = scanWord(b, i, end, NULL);
      if (e < 0) return UNSURE;
      if ((types & T_NULL) === 0) return REJECT;
    } else return UNSURE;
    if (e >= 0 && en !== undefined && !enumHas(en, JSON.parse(b.toString('utf8', i, e)))) return REJECT;
    return e;
  };
}

/** Whether the bytes `b[from, to)` spell one of `members`. */
function isOneOf(members: Buffer[], b: Buffer, from: number, to: number): boolean {
  for (let k = 0; k < members.length; k++) {
    const m = members[k];
    if (m.length === to - from && b.compare(m, 0, m.length, from, to) === 0) return true;
  }
  return false;
}

function enumHas(en: EnumCheck, value: unknown): boolean {
  for (const list of en) if (!list.others.some((m) => equal(m, value))) return false;
  return true;
}

function objectChecker(spec: ObjectSpec): Check {
  const { keys, byLength, patterns, additional, propertyNames, required, min, max, dependencies, keySensitive, distinct } = spec;
  const n = keys.length;
  const small = n <= 30;
  /** The index into `keys` of the key `b[from, to)`, or -1. */
  const findKey = (b: Buffer, from: number, to: number): number => {
    const list = byLength.get(to - from);
    if (list === undefined) return -1;
    for (let x = 0; x < list.length; x++) {
      const k = keys[list[x]].bytes;
      let j = 0;
      while (j < k.length && b[from + j] === k[j]) j++;
      if (j === k.length) return list[x];
    }
    return -1;
  };
  return (b, start, end) => {
    if (++nesting > MAX_NESTING) return UNSURE;
    try {
      let i = skipWs(b, start + 1, end);
      let mask = 0;
      const seen = small ? undefined : new Uint8Array(n);
      let names: string[] | undefined;
      let count = 0;
      // A REJECT stands only once the whole object is read: a repeated key could replace the value.
      let failed = false;
      if (i < end && b[i] === 0x7d) i++;
      else {
        for (;;) {
          if (i >= end || b[i] !== QUOTE) return UNSURE;
          const keyFrom = i + 1;
          i = scanString(b, keyFrom, end);
          if (i < 0) return UNSURE;
          const keyTo = i - 1;
          if (scanned.hadEscape && (n > 0 || keySensitive)) return UNSURE;
          i = skipWs(b, i, end);
          if (i >= end || b[i] !== 0x3a) return UNSURE;
          i = skipWs(b, i + 1, end);
          if (i >= end) return UNSURE;
          const k = n > 0 ? findKey(b, keyFrom, keyTo) : -1;
          let name: string | undefined;
          if (k >= 0) {
            if (small ? mask & (1 << k) : seen![k]) return UNSURE;
            if (small) mask |= 1 << k;
            else seen![k] = 1;
          } else if (distinct) {
            name = b.toString('utf8', keyFrom, keyTo);
            names ??= [];
            if (names.includes(name)) return UNSURE;
            names.push(name);
          }
          count++;
          // Every subschema that applies to this member's value, in turn.
          let valueEnd = -1;
          if (!failed) {
            if (propertyNames !== undefined) {
              const r = propertyNames(b, keyFrom - 1, end);
              if (r === UNSURE) return UNSURE;
              if (r === REJECT) failed = true;
            }
            let matched = k >= 0 && keys[k].inProperties;
            const own = k >= 0 ? keys[k].check : undefined;
            if (own !== undefined && !failed) {
              const r = own(b, i, end);
              if (r === UNSURE) return UNSURE;
              if (r === REJECT) failed = true;
              else valueEnd = r;
            }
            if (patterns.length > 0 && !failed) {
              name ??= b.toString('utf8', keyFrom, keyTo);
              for (let p = 0; p < patterns.length && !failed; p++) {
                if (!patterns[p].re.test(name)) continue;
                matched = true;
                const r = patterns[p].check(b, i, end);
                if (r === UNSURE) return UNSURE;
                if (r === REJECT) failed = true;
                else if (valueEnd >= 0 && r !== valueEnd) return UNSURE;
                else valueEnd = r;
              }
            }
            if (!matched && additional !== undefined && !failed) {
              const r = additional(b, i, end);
              if (r === UNSURE) return UNSURE;
              if (r === REJECT) failed = true;
              else if (valueEnd >= 0 && r !== valueEnd) return UNSURE;
              else valueEnd = r;
            }
          }
          i = valueEnd >= 0 ? valueEnd : skipValue(b, i, end);
          if (i < 0) return UNSURE;
          i = skipWs(b, i, end);
          if (i >= end) return UNSURE;
          if (b[i] === 0x2c) {
            i = skipWs(b, i + 1, end);
            continue;
          }
          if (b[i] === 0x7d) {
            i++;
            break;
          }
          return UNSURE;
        }
      }
      if (failed) return REJECT;
      for (let r = 0; r < required.length; r++) if (!has(mask, seen, required[r])) return REJECT;
      if (count < min || count > max) return REJECT;
      for (const d of dependencies) {
        if (!has(mask, seen, d.key)) continue;
        for (const x of d.names) if (!has(mask, seen, x)) return REJECT;
        if (d.check !== undefined) {
          const r = d.check(b, start, end);
          if (r < 0) return r;
          if (r !== i) return UNSURE;
        }
      }
      return i;
    } finally {
      nesting--;
    }
  };
}

/** Whether key `k` was seen: a bit of `mask` for the first 30 keys, else a byte of `seen`. */
function has(mask: number, seen: Uint8Array | undefined, k: number): boolean {
  return seen === undefined ? (mask & (1 << k)) !== 0 : seen[k] === 1;
}

function arrayChecker(spec: ArraySpec): Check {
  const { prefix, rest, contains, minContains, maxContains, min, max, unique } = spec;
  return (b, start, end) => {
    if (++nesting > MAX_NESTING) return UNSURE;
    try {
      let i = skipWs(b, start + 1, end);
      let count = 0;
      let found = 0;
      if (i < end && b[i] === 0x5d) i++;
      else {
        for (;;) {
          if (i >= end) return UNSURE;
          const item = count < prefix.length ? prefix[count] : rest;
          let e = -1;
          if (item !== undefined) {
            const r = item(b, i, end);
            if (r < 0) return r;
            e = r;
          }
          if (contains !== undefined) {
            const r = contains(b, i, end);
            if (r === UNSURE) return UNSURE;
            if (r >= 0) {
              if (e >= 0 && r !== e) return UNSURE;
              e = r;
              found++;
            }
          }
          i = e >= 0 ? e : skipValue(b, i, end);
          if (i < 0) return UNSURE;
          count++;
          i = skipWs(b, i, end);
          if (i >= end) return UNSURE;
          if (b[i] === 0x2c) {
            i = skipWs(b, i + 1, end);
            continue;
          }
          if (b[i] === 0x5d) {
            i++;
            break;
          }
          return UNSURE;
        }
      }
      if (count < min || count > max) return REJECT;
      if (contains !== undefined && (found < minContains || found > maxContains)) return REJECT;
      if (unique) {
        if (count > 1000) return UNSURE;
        const items = JSON.parse(b.toString('utf8', start, i)) as unknown[];
        for (let x = 1; x < items.length; x++) for (let y = 0; y < x; y++) if (equal(items[x], items[y])) return REJECT;
      }
      return i;
    } finally {
      nesting--;
    }
  };
}
