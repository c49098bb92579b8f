/**
 * How a download tells a clean of the same object, running alongside it, which of its bytes are
 * there to read: `available` is a prefix of the object written to the partial file (in the page
 * cache, maybe not yet on disk: only the download's commits promise that). `final` once the
 * download is complete and recorded; `superseded` when the bytes read so far may be wrong (the
 * object changed and the download started over, or it failed): the clean drops its work.
 */
export class InputFeed {
  available = 0;
  final = false;
  superseded = false;
  private waiters: Array<() => void> = [];

  grow(bytes: number): void {
    if (bytes <= this.available) return;
    this.available = bytes;
    this.wake();
  }

  finish(): void {
    this.final = true;
    this.wake();
  }

  supersede(): void {
    this.superseded = true;
    this.wake();
  }

  /** Resolves at the next change of any of the above. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
