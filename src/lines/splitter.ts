/**
 * Byte-exact line splitting with absolute offsets and a hard bound on what is held in memory.
 *
 * Only `\n` ends a line. A `\r` right before it (or at the very end of the input) is part of the
 * terminator, not of the content; a lone `\r` elsewhere is content. A UTF-8 BOM at byte 0 of the
 * input belongs to no line. A last line without `\n` is still a line.
 */
import { isUtf8 } from 'node:buffer';

const LF = 0x0a;
const CR = 0x0d;

/** Receives what the splitter finds, in input order. */
export interface LineHandler {
  /**
   * A complete line: `buf[start, contentEnd)` is its content, `buf[start, end)` the content plus its
   * terminator exactly as in the input. `offset` is the absolute byte offset of `buf[start]`.
   * The buffer is only valid during the call. `utf8` is true when the line's bytes are known to be
   * valid UTF-8 (the stretch of whole lines of its chunk was checked at once); false means unknown.
   */
  line(buf: Buffer, start: number, contentEnd: number, end: number, offset: number, utf8: boolean): void;
  /**
   * A line whose content is longer than `maxLineBytes`: only its first `headBytes` bytes were kept.
   * `contentLength` excludes the terminator, `totalLength` includes it.
   */
  overlong(head: Buffer, contentLength: number, totalLength: number, offset: number): void;
}

export interface SplitterOptions {
  /** Longest line content accepted whole; longer lines are reported through `overlong`. */
  maxLineBytes: number;
  /** How much of an overlong line is kept for the reject record. */
  headBytes?: number;
  /** Absolute offset of the first byte pushed (non-zero when resuming mid-file). */
  startOffset?: number;
  /**
   * Absolute offset where this splitter's share of the input ends: a line that starts at or after
   * it is not emitted, and everything after it is ignored (`stopped` turns true). A line that starts
   * before it is emitted whole, however far past it it runs. Default: no end.
   */
  stopAt?: number;
}

/** Splits a byte stream into lines; holds at most about `maxLineBytes` of one unfinished line. */
export class LineSplitter {
  private readonly handler: LineHandler;
  private readonly max: number;
  private readonly headBytes: number;
  /** Absolute offset where the unfinished line starts: the resume point once it is emitted. */
  private lineStart: number;
  private pending: Buffer[] = [];
  private pendingLen = 0;
  /** Set while skipping the rest of an overlong line: its head and its length so far. */
  private overlongHead: Buffer | null = null;
  private overlongLen = 0;
  /** The last two bytes of the overlong line seen so far: enough to tell a "\r\n" terminator. */
  private overlongTail = [-1, -1];
  private atFileStart: boolean;
  /** Bytes seen at the start of the input, held until we know whether they are a BOM. */
  private bomProbe: Buffer | null = null;
  private readonly stopAt: number;
  private done = false;
  /** Whether the lines emitted straight from the current chunk are known to be valid UTF-8. */
  private chunkUtf8 = false;

  constructor(handler: LineHandler, opts: SplitterOptions) {
    this.handler = handler;
    this.stopAt = opts.stopAt ?? Infinity;
    this.max = opts.maxLineBytes;
    this.headBytes = Math.min(opts.headBytes ?? 4096, opts.maxLineBytes);
    this.lineStart = opts.startOffset ?? 0;
    this.atFileStart = this.lineStart === 0;
  }

  /** Absolute offset of the first byte not yet part of an emitted line: where a resume starts. */
  get offset(): number {
    return this.lineStart;
  }

  /** True once a line starting at or after `stopAt` was reached: nothing more will be emitted. */
  get stopped(): boolean {
    return this.done;
  }

  /** Feeds the next chunk of input. */
  push(chunk: Buffer): void {
    // An empty chunk says nothing: in particular it must not end the wait for a BOM at byte 0.
    if (chunk.length === 0 || this.done) return;
    if (this.atFileStart) {
      chunk = this.stripBom(chunk);
      if (chunk.length === 0) return;
    }
    let pos = 0;
    const len = chunk.length;
    // One UTF-8 check for the whole lines of the chunk instead of one per line: splitting valid
    // UTF-8 at "\n" (never part of a multi-byte sequence) leaves every piece valid.
    this.chunkUtf8 = false;
    const lastNl = chunk.lastIndexOf(LF);
    if (lastNl !== -1) {
      const from = this.pendingLen > 0 || this.overlongHead !== null ? chunk.indexOf(LF) + 1 : 0;
      if (from <= lastNl) this.chunkUtf8 = isUtf8(chunk.subarray(from, lastNl + 1));
    }
    while (pos < len) {
      const fresh = this.pendingLen === 0 && this.overlongHead === null;
      if (fresh && this.lineStart >= this.stopAt) {
        this.done = true;
        return;
      }
      const nl = chunk.indexOf(LF, pos);
      if (nl === -1) {
        this.hold(chunk, pos, len);
        return;
      }
      if (fresh) {
        this.emit(chunk, pos, nl + 1, true, this.chunkUtf8);
      } else {
        this.hold(chunk, pos, nl + 1);
        this.flushPending(true);
      }
      pos = nl + 1;
    }
  }

  /** Ends the input: a last line without `\n` is emitted. */
  end(): void {
    if (this.done) return;
    if (this.bomProbe) {
      const probe = this.bomProbe;
      this.bomProbe = null;
      this.atFileStart = false;
      this.hold(probe, 0, probe.length);
    }
    if (this.pendingLen > 0 || this.overlongHead !== null) this.flushPending(false);
  }

  private stripBom(chunk: Buffer): Buffer {
    const data = this.bomProbe ? Buffer.concat([this.bomProbe, chunk]) : chunk;
    if (data.length < 3 && data[0] === 0xef && (data.length < 2 || data[1] === 0xbb)) {
      // Copied: the caller may reuse the chunk's buffer for its next read.
      this.bomProbe = Buffer.from(data);
      return Buffer.alloc(0);
    }
    this.bomProbe = null;
    this.atFileStart = false;
    if (data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) {
      this.lineStart += 3;
      return data.subarray(3);
    }
    return data;
  }

  /** Keeps `chunk[from, to)` as part of the unfinished line, switching to overlong mode past the limit. */
  private hold(chunk: Buffer, from: number, to: number): void {
    const n = to - from;
    if (this.overlongHead !== null) {
      this.overlongLen += n;
      this.noteTail(chunk, from, to);
      return;
    }
    // The limit is on content; allow room for a "\r\n" terminator before deciding.
    if (this.pendingLen + n > this.max + 2) {
      const all = this.pendingLen > 0 ? Buffer.concat([...this.pending, chunk.subarray(from, to)]) : chunk.subarray(from, to);
      this.overlongHead = Buffer.from(all.subarray(0, this.headBytes));
      this.overlongLen = this.pendingLen + n;
      this.pending = [];
      this.pendingLen = 0;
      this.overlongTail = [all.length > 1 ? all[all.length - 2] : -1, all[all.length - 1]];
      return;
    }
    // Copy: stream chunks may be large, and a short tail must not pin a whole chunk in memory.
    this.pending.push(Buffer.from(chunk.subarray(from, to)));
    this.pendingLen += n;
  }

  private flushPending(terminated: boolean): void {
    if (this.overlongHead !== null) {
      const total = this.overlongLen;
      const [beforeLast, last] = this.overlongTail;
      let content = total;
      if (terminated) content--;
      if ((terminated ? beforeLast : last) === CR) content--;
      const head = this.overlongHead;
      this.overlongHead = null;
      this.overlongLen = 0;
      this.handler.overlong(head, content, total, this.lineStart);
      this.lineStart += total;
      return;
    }
    const buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingLen);
    this.pending = [];
    this.pendingLen = 0;
    this.emit(buf, 0, buf.length, terminated, false);
  }

  private noteTail(chunk: Buffer, from: number, to: number): void {
    if (to - from >= 2) this.overlongTail = [chunk[to - 2], chunk[to - 1]];
    else if (to - from === 1) this.overlongTail = [this.overlongTail[1], chunk[to - 1]];
  }

  private emit(buf: Buffer, start: number, end: number, terminated: boolean, utf8: boolean): void {
    let contentEnd = end;
    if (terminated) contentEnd--; // the "\n"
    if (contentEnd > start && buf[contentEnd - 1] === CR) contentEnd--;
    const contentLength = contentEnd - start;
    if (contentLength > this.max) {
      this.handler.overlong(Buffer.from(buf.subarray(start, start + this.headBytes)), contentLength, end - start, this.lineStart);
    } else {
      this.handler.line(buf, start, contentEnd, end, this.lineStart, utf8);
    }
    this.lineStart += end - start;
  }
}
