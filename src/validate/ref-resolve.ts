/**
 * Where a `$ref` leads when the rules name their parts by id: `$id`s nested in the document
 * (bundled schemas), `$anchor`s, draft-07's `"$id": "#name"`, or a `$ref` spelled as a URI
 * relative to an id. Asked of the ajv that decides, after it compiled the rules, so the fast path
 * follows every such `$ref` to the very subschema, under the very base URI, that ajv's own check
 * does: resolving URIs by hand would be a second opinion on what a reference means.
 */
import { createRequire } from 'node:module';
import type { Ajv, ValidateFunction } from 'ajv';
import type { SchemaEnv } from 'ajv/dist/compile/index.js';

// Loaded when first asked, as schema.ts loads ajv: a thread whose rules name nothing by id, or
// that never compiles rules, does not load ajv's compiler for this (about 0.1 CPU-s a thread; the
// bench's rows ran 5-8% slower with it imported at the top).
const require = createRequire(import.meta.url);

/** A `$ref`'s target: the subschema, the base URI its own `$ref`s resolve against, and its full URI. */
export interface RefTarget {
  /** The full URI the `$ref` resolved to: two `$ref`s with the same key lead to the same check. */
  key: string;
  schema: unknown;
  /** The base URI inside the target (its own id applied, as ajv's code for it starts from). */
  base: string;
}

/** Resolves `$ref`s of one rules document as its compiled validator did. */
export interface RefResolver {
  /** The base URI at the document's root. */
  rootBase: string;
  /** The base URI inside a subschema with the id `id`, nested where the base is `base`. */
  within(base: string, id: string): string;
  /** Where `ref`, written where the base URI is `base`, leads; undefined when not inside this document. */
  resolve(base: string, ref: string): RefTarget | undefined;
}

/** A resolver over `validate`, compiled by `ajv` from the whole rules document. */
export function ajvRefResolver(ajv: Ajv, validate: ValidateFunction): RefResolver | undefined {
  const { resolveRef, SchemaEnv } = require('ajv/dist/compile/index.js') as typeof import('ajv/dist/compile/index.js');
  const { getFullPath, resolveUrl } = require('ajv/dist/compile/resolve.js') as typeof import('ajv/dist/compile/resolve.js');
  const env = (validate as unknown as { schemaEnv?: SchemaEnv }).schemaEnv;
  if (env === undefined || env.root !== env) return undefined;
  const uris = ajv.opts.uriResolver;
  // As ajv's compileSchema: the root function starts from the root's id, or an empty document URI.
  const rootBase = env.baseId || getFullPath(uris, env.root.baseId);
  return {
    rootBase,
    within: (base, id) => resolveUrl(uris, base, id),
    resolve(base, ref) {
      // ajv's $ref keyword calls the root function itself for "#" at the root's base.
      if ((ref === '#' || ref === '#/') && base === env.baseId) return { key: rootBase, schema: env.schema, base: rootBase };
      let found: unknown;
      try {
        found = resolveRef.call(ajv, env, base, ref);
      } catch {
        return undefined;
      }
      const key = resolveUrl(uris, base, ref);
      // With inlineRefs off (schema.ts) ajv inlines only boolean schemas.
      if (typeof found === 'boolean') return { key, schema: found, base };
      if (!(found instanceof SchemaEnv) || found.root !== env) return undefined;
      return { key, schema: found.schema, base: found.baseId || getFullPath(uris, found.root.baseId) };
    },
  };
}
