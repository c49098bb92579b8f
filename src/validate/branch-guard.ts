/**
 * Guards for the branches of a `oneOf`/`anyOf`: a condition each branch's subschema puts on a value
 * that is cheap to test on the bytes (the value's kind, an object's required keys, the spelling of a
 * discriminating string such as `action: {enum: ["created"]}`), so the fast path (fast-path.ts) can
 * drop a branch that surely fails without reading the value through it.
 *
 * Why: on GitHub's webhook schema (a root `oneOf` over 66 events, most a `oneOf` over per-action
 * variants) every branch read the same 5–30 KB payload, and the fast path ran at 27 MB/s per core;
 * with guards one or two branches read it.
 *
 * A guard is a necessary condition: when a value fails it, ajv rejects the value against that
 * subschema (provided the bytes are JSON). So it is built only from keywords ajv surely applies, and
 * anything unsure widens it: a keyword not understood adds nothing, a `$ref` cycle or a subschema
 * with its own id says nothing, a `oneOf`/`anyOf` is the loosest condition any of its branches puts.
 */
import { keysAmong, knownSpans, objectDistinct, QUOTE, scanned, scanString, valueAfter } from './json-scan.js';
import { NOT_FOUND, pointerTarget } from './schema-pointer.js';

// Kinds of JSON value, as bits (a guard tells them by their first byte, so an integer is a number).
const T_STRING = 1;
const T_NUMBER = 2;
const T_BOOLEAN = 4;
const T_NULL = 8;
const T_OBJECT = 16;
const T_ARRAY = 32;
const T_ANY = 63;

/** What a subschema asks of a value, as far as a guard tests it. */
interface Condition {
  /** The kinds the value may be (T_* bits). */
  kinds: number;
  /** A string value must be one of these; undefined: any string. */
  strings: Set<string> | undefined;
  /** Keys an object value must have. */
  required: Set<string>;
  /** For each key an object value has: what its value must be (kinds and strings only). */
  props: Map<string, Condition>;
  /** The only keys an object value may have (`additionalProperties: false`); undefined: any. */
  closed: Set<string> | undefined;
}

/** A guard as the generated code tests it: see guardFails. */
export interface Guard {
  kinds: number;
  /** The allowed strings' UTF-8 spellings, or undefined: any string. */
  strings: Buffer[] | undefined;
  required: string[];
  props: Array<{ key: string; guard: Guard }>;
  /** The only keys an object value may have, as UTF-8 bytes; undefined: any. */
  closed: Buffer[] | undefined;
  /** `required` and `props`' keys as UTF-8 bytes, as guardFails looks them up. */
  requiredBytes: Buffer[];
  propBytes: Buffer[];
}

const TOP: Condition = { kinds: T_ANY, strings: undefined, required: new Set(), props: new Map(), closed: undefined };
const BOTTOM: Condition = { ...TOP, kinds: 0, strings: new Set() };

const TYPE_KINDS: Record<string, number> = {
  string: T_STRING,
  number: T_NUMBER,
  integer: T_NUMBER,
  boolean: T_BOOLEAN,
  null: T_NULL,
  object: T_OBJECT,
  array: T_ARRAY,
};

/** The kind of a JSON value by its first byte (a T_* bit, as Guard.kinds holds them); 0 where that byte starts no value. */
export const KINDS = new Uint8Array(256);
/** The kind of an object in KINDS. */
export const KIND_OBJECT = T_OBJECT;
KINDS[QUOTE] = T_STRING;
KINDS[0x2d] = T_NUMBER;
for (let c = 0x30; c <= 0x39; c++) KINDS[c] = T_NUMBER;
KINDS[0x74] = KINDS[0x66] = T_BOOLEAN;
KINDS[0x6e] = T_NULL;
KINDS[0x7b] = T_OBJECT;
KINDS[0x5b] = T_ARRAY;

/** Both conditions (allOf). */
function meet(a: Condition, b: Condition): Condition {
  const strings = a.strings === undefined ? b.strings : b.strings === undefined ? a.strings : new Set([...a.strings].filter((x) => b.strings!.has(x)));
  const props = new Map(a.props);
  for (const [k, c] of b.props) props.set(k, props.has(k) ? meet(props.get(k)!, c) : c);
  const closed = a.closed === undefined ? b.closed : b.closed === undefined ? a.closed : new Set([...a.closed].filter((x) => b.closed!.has(x)));
  return { kinds: a.kinds & b.kinds, strings, required: new Set([...a.required, ...b.required]), props, closed };
}

/** Either condition (anyOf, oneOf): a side that allows no strings (or objects) has no say on them. */
function join(a: Condition, b: Condition): Condition {
  const kinds = a.kinds | b.kinds;
  let strings: Set<string> | undefined;
  if ((a.kinds & T_STRING) === 0) strings = b.strings;
  else if ((b.kinds & T_STRING) === 0) strings = a.strings;
  else strings = a.strings === undefined || b.strings === undefined ? undefined : new Set([...a.strings, ...b.strings]);
  if ((a.kinds & T_OBJECT) === 0) return { ...b, kinds, strings };
  if ((b.kinds & T_OBJECT) === 0) return { ...a, kinds, strings };
  const props = new Map<string, Condition>();
  for (const [k, c] of a.props) if (b.props.has(k)) props.set(k, join(c, b.props.get(k)!));
  const closed = a.closed === undefined || b.closed === undefined ? undefined : new Set([...a.closed, ...b.closed]);
  return { kinds, strings, required: new Set([...a.required].filter((x) => b.required.has(x))), props, closed };
}

/** The condition an enum (or const) puts on a value: one of its members. */
function members(list: unknown[]): Condition {
  let kinds = 0;
  const strings = new Set<string>();
  for (const m of list) {
    if (typeof m === 'string') strings.add(m);
    kinds |= m === null ? T_NULL : Array.isArray(m) ? T_ARRAY : typeof m === 'string' ? T_STRING : typeof m === 'number' ? T_NUMBER : typeof m === 'boolean' ? T_BOOLEAN : T_OBJECT;
  }
  // Bytes that are not UTF-8 read as U+FFFD, and a lone surrogate has no UTF-8 spelling: a member
  // with either could equal a value whose bytes differ from its own. Such an enum tests kinds only.
  const spelledOnce = [...strings].every((m) => !m.includes('\uFFFD') && Buffer.from(m, 'utf8').toString('utf8') === m);
  return { ...TOP, kinds, strings: spelledOnce ? strings : undefined };
}

/** A key ajv may find on any object through the prototype chain (`constructor`, `toString`…): no guard speaks of it. */
const inherited = (name: string): boolean => name in Object.prototype;

/** Derives guards from the subschemas of one rules document, as ajv reads it in the given draft. */
export class GuardDeriver {
  private memo = new Map<string, Condition>();

  constructor(
    private root: unknown,
    /** `id` or `$id`: a subschema with one changes what its pointers mean. */
    private idKey: string,
    /** Whether ajv applies the keywords beside a `$ref` (2019-09 on); before, only the `$ref` is used. */
    private refSiblings: boolean,
    /** Whether `const` is a keyword (not in draft-04). */
    private hasConst: boolean,
  ) {}

  /** The guard of `schema` as the branch of a oneOf/anyOf, or undefined when it tests nothing. */
  guard(schema: unknown): Guard | undefined {
    const c = this.condition(schema, false);
    if (c.kinds === T_ANY && c.strings === undefined && c.required.size === 0 && c.props.size === 0 && c.closed === undefined) return undefined;
    return toGuard(c);
  }

  /** `shallow`: kinds and strings only, for the value of a property (the guard reads no deeper). */
  private condition(schema: unknown, shallow: boolean): Condition {
    if (schema === false) return BOTTOM;
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return TOP;
    const s = schema as Record<string, unknown>;
    if (schema !== this.root && typeof s[this.idKey] === 'string') return TOP;
    let c = TOP;
    if (typeof s.$ref === 'string') {
      c = this.ref(s.$ref, shallow);
      if (!this.refSiblings) return c;
    }
    if (s.type !== undefined) {
      const list = Array.isArray(s.type) ? s.type : [s.type];
      if (list.every((t) => typeof t === 'string' && Object.hasOwn(TYPE_KINDS, t))) c = meet(c, { ...TOP, kinds: list.reduce((k: number, t: string) => k | TYPE_KINDS[t], 0) });
    }
    if (Array.isArray(s.enum)) c = meet(c, members(s.enum));
    if (this.hasConst && Object.hasOwn(s, 'const')) c = meet(c, members([s.const]));
    if (!shallow) {
      if (Array.isArray(s.required) && s.required.every((r) => typeof r === 'string')) {
        c = meet(c, { ...TOP, required: new Set((s.required as string[]).filter((r) => !inherited(r))) });
      }
      const props = s.properties;
      if (props !== null && typeof props === 'object' && !Array.isArray(props)) {
        const map = new Map<string, Condition>();
        for (const [name, sub] of Object.entries(props)) if (!inherited(name)) map.set(name, this.condition(sub, true));
        c = meet(c, { ...TOP, props: map });
      }
      // Every key is checked against `properties` by its exact name (inherited names too); with
      // patternProperties the allowed keys are no list.
      if (s.additionalProperties === false && s.patternProperties === undefined) {
        c = meet(c, { ...TOP, closed: new Set(props !== null && typeof props === 'object' && !Array.isArray(props) ? Object.keys(props) : []) });
      }
    }
    if (Array.isArray(s.allOf)) for (const x of s.allOf) c = meet(c, this.condition(x, shallow));
    for (const k of ['anyOf', 'oneOf'] as const) {
      const list = s[k];
      if (Array.isArray(list) && list.length > 0) c = meet(c, list.map((x) => this.condition(x, shallow)).reduce(join));
    }
    return c;
  }

  private ref(ref: string, shallow: boolean): Condition {
    if (ref !== '#' && !ref.startsWith('#/')) return TOP;
    const key = `${shallow ? 's' : 'd'}${ref}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    // A cycle says nothing while it is being followed.
    this.memo.set(key, TOP);
    const at = pointerTarget(this.root, ref, this.idKey);
    const c = at === NOT_FOUND ? TOP : this.condition(at, shallow);
    this.memo.set(key, c);
    return c;
  }
}

function toGuard(c: Condition): Guard {
  const props: Guard['props'] = [];
  for (const [key, p] of c.props) {
    // A property whose value may be anything tests nothing.
    if (p.kinds !== T_ANY || p.strings !== undefined) props.push({ key, guard: toGuard({ ...p, required: new Set(), props: new Map(), closed: undefined }) });
  }
  const required = [...c.required];
  return {
    kinds: c.kinds,
    strings: c.strings === undefined ? undefined : [...c.strings].map((x) => Buffer.from(x, 'utf8')),
    required,
    props,
    closed: c.closed === undefined ? undefined : [...c.closed].map((k) => Buffer.from(k, 'utf8')),
    requiredBytes: required.map((k) => Buffer.from(k, 'utf8')),
    propBytes: props.map((p) => Buffer.from(p.key, 'utf8')),
  };
}

/**
 * Whether the value at `b[i]` surely fails the subschema `g` guards (provided the bytes are JSON).
 * An object is looked into only when objectDistinct finds it JSON with no key repeated or escaped:
 * then JSON.parse's object has exactly those keys, each with the value read here.
 */
export function guardFails(g: Guard, b: Buffer, i: number, end: number): boolean {
  const kind = KINDS[b[i]];
  if (kind === 0) return false;
  if ((g.kinds & kind) === 0) return true;
  if (kind === T_STRING) return g.strings !== undefined && spelledNone(g.strings, b, i, end);
  if (kind !== T_OBJECT || (g.required.length === 0 && g.props.length === 0 && g.closed === undefined) || objectDistinct(b, i, end) < 0) return false;
  // Keys are looked up by their bytes (the object has no escaped key): decoding every key into a
  // map of names was a fifth of what a oneOf over web event kinds cost a line.
  const spans = knownSpans(i);
  // Not remembered (a line of more objects than the memo holds): nothing is sure.
  if (spans < 0) return false;
  for (let x = 0; x < g.requiredBytes.length; x++) if (valueAfter(spans, g.requiredBytes[x]) < 0) return true;
  for (let x = 0; x < g.propBytes.length; x++) {
    const at = valueAfter(spans, g.propBytes[x]);
    if (at >= 0 && guardFails(g.props[x].guard, b, at, end)) return true;
  }
  if (g.closed !== undefined && !keysAmong(spans, g.closed)) return true;
  return false;
}

/** Whether the string at `b[i]` has no escape and spells none of `strings` (its bytes are its value then). */
function spelledNone(strings: Buffer[], b: Buffer, i: number, end: number): boolean {
  const e = scanString(b, i + 1, end);
  if (e < 0 || scanned.hadEscape) return false;
  const len = e - i - 2;
  for (let x = 0; x < strings.length; x++) {
    const m = strings[x];
    if (m.length === len && b.compare(m, 0, len, i + 1, e - 1) === 0) return false;
  }
  return true;
}
