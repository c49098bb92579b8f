/**
 * Loads a rules file (a JSON Schema) and compiles it once, refusing a bad one before any work starts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction, type ErrorObject, type Options } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import AjvDraft04Module from 'ajv-draft-04';
import addFormatsModule from 'ajv-formats';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };
import { SchemaError } from '../errors.js';
import { defaultSchema } from './default-schema.js';
import { compileFastAccept, type FastAccept, type FormatDef } from './fast-path.js';

// ajv-formats and ajv-draft-04 are CommonJS with a default export; under NodeNext the callable is on `.default`.
const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as typeof import('ajv-formats').default;
const AjvDraft04 = ((AjvDraft04Module as any).default ?? AjvDraft04Module) as typeof import('ajv-draft-04').default;

/** One schema violation as it appears in a reject record. */
export interface Violation {
  path: string;
  keyword: string;
  message: string;
}

/** A compiled rules file. */
export interface Rules {
  /** Where the rules came from: a file path, or "default". */
  origin: string;
  /** The schema text, stored with the run so `resume` applies exactly the same rules. */
  text: string;
  /** sha256 of `text`: a changed schema means objects are cleaned again. */
  hash: string;
  /** Problems that did not stop compilation (unknown keywords or formats). */
  warnings: string[];
  /**
   * A one-pass check of a line's bytes that answers true only for a line these rules accept
   * (see fast-path.ts); absent when the schema is outside the subset it understands.
   */
  fastAccept?: FastAccept;
  /** Stops at the first violation: the fast path for the common, valid line. */
  isValid: (data: unknown) => boolean;
  /** Every violation of a line already known to be invalid. */
  violations: (data: unknown) => Violation[];
}

const DRAFTS: Array<{ match: RegExp; make: (o: Options) => Ajv }> = [
  { match: /json-schema\.org\/(draft-04\/)?schema#?$/, make: (o) => new AjvDraft04(o) as unknown as Ajv },
  { match: /json-schema\.org\/draft-0[67]\/schema#?$/, make: (o) => { const a = new Ajv(o); a.addMetaSchema(draft06); return a; } },
  { match: /json-schema\.org\/draft\/2019-09\/schema#?$/, make: (o) => new Ajv2019(o) as unknown as Ajv },
  { match: /json-schema\.org\/draft\/2020-12\/schema#?$/, make: (o) => new Ajv2020(o) as unknown as Ajv },
];

/** Reads and compiles the rules file at `path`, or the built-in web-event rules when `path` is undefined. */
export function loadRules(path: string | undefined): Rules {
  if (path === undefined) return compileRules('default', JSON.stringify(defaultSchema, null, 2));
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SchemaError(path, e.code === 'ENOENT' ? 'file not found' : e.code === 'EISDIR' ? 'is a directory, not a file' : `cannot be read (${e.code ?? e.message})`);
  }
  return compileRules(path, text);
}

/** Compiles schema text; `origin` names it in messages. Throws SchemaError with a one-line reason. */
export function compileRules(origin: string, text: string): Rules {
  let schema: unknown;
  try {
    schema = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new SchemaError(origin, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof schema === 'boolean') schema = schema ? {} : { not: {} };
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    throw new SchemaError(origin, 'a JSON Schema must be an object (or true/false)');
  }
  const warnings: string[] = [];
  const s = { ...(schema as Record<string, unknown>) };
  let make = DRAFTS[1].make; // draft-07 when $schema is absent, as most real-world rule files assume
  if (s.$schema !== undefined) {
    const found = typeof s.$schema === 'string' ? DRAFTS.find((d) => d.match.test(s.$schema as string)) : undefined;
    if (found) make = found.make;
    else {
      warnings.push(`unknown $schema ${JSON.stringify(s.$schema)}: validating as draft-07`);
      delete s.$schema;
    }
  }
  const logger = {
    log: () => {},
    warn: (...args: unknown[]) => warnings.push(args.map(String).join(' ')),
    error: (...args: unknown[]) => warnings.push(args.map(String).join(' ')),
  };
  const base: Options = {
    // Real-world schemas carry unknown keywords and formats: warn, never crash.
    strict: false,
    strictSchema: 'log',
    logger,
    // Rules must not depend on the network.
    loadSchema: undefined,
    // Our reject records want messages; `verbose` would copy whole data into every error.
    messages: true,
  };
  let fast: ValidateFunction;
  let full: ValidateFunction;
  let fastAccept: FastAccept | undefined;
  try {
    const fastAjv = make({ ...base, allErrors: false });
    const fullAjv = make({ ...base, allErrors: true, logger: { log() {}, warn() {}, error() {} } });
    addFormats(fastAjv, { mode: 'full' });
    addFormats(fullAjv, { mode: 'full' });
    // ajv throws on an unknown format even when asked only to log; accept any value for it, and say so.
    for (let attempt = 0; ; attempt++) {
      try {
        fast = fastAjv.compile(s);
        break;
      } catch (err) {
        const m = /^unknown format "(.*)" ignored in schema/.exec((err as Error).message);
        if (!m || attempt > 100) throw err;
        warnings.push(`unknown format "${m[1]}": not checked`);
        fastAjv.addFormat(m[1], true);
        fullAjv.addFormat(m[1], true);
      }
    }
    full = fullAjv.compile(s);
    // The same format checks ajv applies, unknown formats included (accepted as `true`). Only a
    // speed-up: if building it fails, every line takes the exact path.
    try {
      fastAccept = compileFastAccept(s, fastAjv.formats as Record<string, FormatDef | undefined>);
    } catch {
      fastAccept = undefined;
    }
  } catch (err) {
    throw new SchemaError(origin, describeCompileError(err as Error));
  }
  return {
    origin,
    text,
    hash: createHash('sha256').update(text).digest('hex'),
    warnings: [...new Set(warnings)],
    fastAccept,
    isValid: (data) => fast(data) as boolean,
    violations: (data) => {
      full(data);
      return (full.errors ?? []).map(toViolation);
    },
  };
}

function toViolation(e: ErrorObject): Violation {
  let message = e.message ?? e.keyword;
  if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') message = `must have required property '${e.params.missingProperty}'`;
  if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') message = `must NOT have additional property '${e.params.additionalProperty}'`;
  let path = e.instancePath;
  // A missing property is reported at its own pointer, so reports group "/session_id required"
  // apart from "/event_id required" rather than lumping both under "/".
  if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') path += '/' + escapePointer(e.params.missingProperty);
  if (e.keyword === 'dependentRequired' && typeof e.params.missingProperty === 'string') path += '/' + escapePointer(e.params.missingProperty);
  return { path: path === '' ? '/' : path, keyword: e.keyword, message };
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function describeCompileError(err: Error): string {
  const msg = err.message.split('\n')[0];
  if ((err as { missingRef?: string }).missingRef !== undefined || /can't resolve reference/.test(msg)) {
    return `unresolvable $ref: ${msg}`;
  }
  if (/schema is invalid/.test(msg)) return `not a valid JSON Schema: ${msg.replace(/^schema is invalid: /, '')}`;
  return `cannot be compiled: ${msg}`;
}
