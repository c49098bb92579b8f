/**
 * `--redact FIELD,...`: masks the named fields in the `raw` of reject records, for teams that must
 * not copy emails or IPs into error files.
 */
import type { Redactor } from './reject.js';

const MASK = '[REDACTED]';

/** A redactor for the given top-level field names, or undefined when there are none. */
export function makeRedactor(fields: string[]): Redactor | undefined {
  if (fields.length === 0) return undefined;
  const names = new Set(fields);
  return (raw) => {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      // Not JSON: mask `"field": <anything up to , or }>` textually, so a broken line leaks nothing either.
      let text = raw;
      for (const f of names) {
        const re = new RegExp(`("${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"?|[^,}\\]]*)`, 'g');
        text = text.replace(re, `$1"${MASK}"`);
      }
      return text;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return raw;
    // A null-prototype copy: a "__proto__" key stays an ordinary field and cannot reach any prototype.
    const copy: Record<string, unknown> = Object.create(null);
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) copy[k] = names.has(k) ? MASK : v;
    return JSON.stringify(copy);
  };
}
