/**
 * Maps object keys to paths under <local-dir>/{input,output,errors}. The mapping is one-to-one and
 * can never leave the folder it is joined to: every path segment is escaped so that it is a plain,
 * non-empty file name of at most 255 bytes that is neither "." nor "..".
 *
 * Per segment (split on "/"):
 *  - "%", "\\", "~", NUL and other control characters are written as %XX (uppercase hex);
 *  - an empty segment (from a leading "/", a trailing "/" or "//") becomes "%";
 *  - "." and ".." become "%2E" and "%2E%2E";
 *  - a segment longer than 255 bytes once escaped keeps its first 200 bytes, then "~" and the
 *    first 16 hex digits of the SHA-256 of the original segment.
 * Because "%" and "~" are always escaped, the markers above cannot come from any other key.
 */
import { createHash } from 'node:crypto';

const MAX_NAME_BYTES = 255;
const KEEP_BYTES = 200;

/** The part of `key` below the listing base of `prefix`: what `aws s3 sync` would use as the file name. */
export function relativeKey(key: string, prefix: string): string {
  const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  return key.startsWith(base) ? key.slice(base.length) : key;
}

/** The safe relative path (with "/" separators) for a relative key. */
export function encodeRelPath(rel: string): string {
  return rel.split('/').map(encodeSegment).join('/');
}

function encodeSegment(seg: string): string {
  if (seg === '') return '%';
  if (seg === '.') return '%2E';
  if (seg === '..') return '%2E%2E';
  let out = '';
  for (const ch of seg) {
    const c = ch.codePointAt(0)!;
    if (ch === '%' || ch === '\\' || ch === '~' || c < 0x20 || c === 0x7f) out += '%' + c.toString(16).toUpperCase().padStart(2, '0');
    else out += ch;
  }
  if (Buffer.byteLength(out) <= MAX_NAME_BYTES) return out;
  const hash = createHash('sha256').update(seg).digest('hex').slice(0, 16);
  return truncateUtf8(out, KEEP_BYTES) + '~' + hash;
}

/** The longest prefix of `s` that fits in `bytes` UTF-8 bytes without splitting a character or an escape. */
function truncateUtf8(s: string, bytes: number): string {
  let out = '';
  let used = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (used + n > bytes) break;
    out += ch;
    used += n;
  }
  // Do not end inside a %XX escape: a dangling "%" or "%X" would read as a different marker.
  const m = /%[0-9A-F]?$/.exec(out);
  return m ? out.slice(0, m.index) : out;
}
