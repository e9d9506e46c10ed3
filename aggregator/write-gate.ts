/**
 * Bounds how many batches of one worker write to MongoDB at once. FerretDB on SQLite
 * has a single writer: measured, one partition applied 4,000 events in 0.5 s while two
 * or more writing at once starved each other for seconds in SQLite's busy waits. With
 * MongoDB more concurrency pays (AGGREGATOR_WRITE_CONCURRENCY).
 */
export class WriteGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    // A finishing holder hands its slot straight to the first waiter, so no newcomer
    // can take it in between.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.active--;
      else next();
    }
  }
}
