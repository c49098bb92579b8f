/**
 * Rows in PostgreSQL's COPY text format, written into one growing Buffer: a chunk of thousands of
 * rows becomes one write to the server, with no Buffer or string made per value.
 */

const BACKSLASH = 0x5c;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
/** What each special byte is written as after its backslash: \\ \t \n \r. */
const ESCAPED: Record<number, number> = { [BACKSLASH]: BACKSLASH, [TAB]: 0x74, [LF]: 0x6e, [CR]: 0x72 };

/** A value in COPY's text format: backslash, tab, newline and carriage return escaped. */
export function escapeText(s: string): string {
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : s;
}

/** Values up to this long are copied byte by byte: shorter than the native calls' own cost. */
const SHORT = 64;

export class CopyText {
  private buf: Buffer;
  /** Bytes written so far. */
  length = 0;

  constructor(private readonly size = 1 << 21) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  /**
   * Bytes that need no escape (digits, true/false, prepared cells). Copied without a subarray: a
   * view made per cell was most of a load's garbage.
   */
  raw(b: Buffer, from = 0, to = b.length): void {
    this.room(to - from);
    if (to - from > SHORT) this.length += b.copy(this.buf, this.length, from, to);
    else {
      const out = this.buf;
      let at = this.length;
      for (let i = from; i < to; i++) out[at++] = b[i];
      this.length = at;
    }
  }

  /** One byte (a tab between cells). */
  byte(c: number): void {
    this.room(1);
    this.buf[this.length++] = c;
  }

  /** ASCII text that needs no escape (a line number). */
  ascii(s: string): void {
    this.room(s.length);
    this.length += this.buf.write(s, this.length, 'latin1');
  }

  /** A string's UTF-8, escaped. */
  text(s: string): void {
    const e = escapeText(s);
    this.room(Buffer.byteLength(e));
    this.length += this.buf.write(e, this.length, 'utf8');
  }

  /**
   * Bytes [from, to) of `b`, escaped; bytes as they are, so invalid UTF-8 reaches the server as it
   * is and is refused there. In a long value (a whole line) indexOf finds the backslashes at
   * memchr speed (JSON has them often, raw tabs and carriage returns seldom).
   */
  bytes(b: Buffer, from = 0, to = b.length): void {
    this.room(2 * (to - from));
    const out = this.buf;
    let at = this.length;
    // indexOf searches to the end of `b`, so only a value that ends `b` (the whole line) takes it.
    const absent = (c: number) => {
      const i = b.indexOf(c, from);
      return i < 0 || i >= to;
    };
    if (to - from > SHORT && to === b.length && absent(TAB) && absent(CR) && absent(LF)) {
      let i = from;
      for (let bs = b.indexOf(BACKSLASH, i); bs >= 0; bs = b.indexOf(BACKSLASH, i)) {
        at += b.copy(out, at, i, bs);
        out[at++] = BACKSLASH;
        out[at++] = BACKSLASH;
        i = bs + 1;
      }
      at += b.copy(out, at, i, to);
    } else {
      for (let i = from; i < to; i++) {
        const c = b[i];
        if (c === BACKSLASH || c === TAB || c === LF || c === CR) {
          out[at++] = BACKSLASH;
          out[at++] = ESCAPED[c];
        } else out[at++] = c;
      }
    }
    this.length = at;
  }

  /** The rows written so far; the writer starts again empty. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.length);
    this.buf = Buffer.allocUnsafe(this.size);
    this.length = 0;
    return out;
  }
}
