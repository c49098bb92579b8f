/** A bounded set of tasks in flight: the pipeline holds a promise per object only while it works on it. */
export class Bounded {
  private readonly running = new Set<Promise<void>>();

  /** At most `max` tasks at a time; a task that throws is handed to `onError` (the run stops). */
  constructor(
    private readonly max: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Resolves once fewer than `max` tasks run. */
  async slot(): Promise<void> {
    while (this.running.size >= this.max) await Promise.race(this.running);
  }

  /** Starts `task` now (even past `max`: a finished download must hand its object on). */
  start(task: () => Promise<void>): void {
    const p: Promise<void> = task()
      .catch(this.onError)
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Resolves once every task started (including those started meanwhile) has ended. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.race(this.running);
  }
}
