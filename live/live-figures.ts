/**
 * A project's live figures in memory (realtime gateway, alerts evaluator): loaded once
 * from MongoDB, then kept current by the feed's deltas. Pure, no I/O.
 *
 * The figures are cells (key → number). Rollup documents carry, per partition, the last
 * batch of it applied to them (`wm`), and a delta names its partition and batch, so:
 * - a delta whose batch a loaded document already holds is not added again;
 * - the state is *settled* once, for every partition, the feed has carried the batch
 *   of the newest document loaded: from then on the state equals exactly the sum of
 *   the feed's deltas up to `seq`, the same meaning on every gateway, so a snapshot
 *   plus the deltas after its seq is exact (docs/realtime.md#consistency).
 * Before it settles, the state may hold batches whose deltas are still on their way
 * (applied to MongoDB, not yet appended): no snapshot is served from it.
 */

/** One rollup document as loaded: its identity, the batches it holds, and the cells it adds to. */
export interface LoadedDoc {
  doc: string;
  /** Partition → the last batch of it applied to the document. */
  marks: ReadonlyMap<number, number>;
  cells: ReadonlyArray<readonly [key: string, value: number]>;
}

/** What one delta changes in one document. */
export interface DocChange {
  doc: string;
  cells: ReadonlyArray<readonly [key: string, increment: number]>;
}

export class LiveFigures {
  readonly cells = new Map<string, number>();
  /** The feed position the figures stand at. */
  seq: number;
  /** `doc|partition` → wm, while deltas may still repeat what was loaded. */
  private loadedMarks: Map<string, number> | null = new Map();
  /** Partition → the newest batch among the loaded documents, until the feed has carried it. */
  private readonly awaited = new Map<number, number>();

  /**
   * @param seq the feed's last seq, read before the documents
   * @param appended partition → the last batch the feed had carried, read with seq
   */
  constructor(docs: readonly LoadedDoc[], seq: number, appended: ReadonlyMap<number, number>) {
    this.seq = seq;
    for (const d of docs) {
      for (const [partition, wm] of d.marks) {
        // Two documents of one identity (a store written before rollups were one document
        // per figure holds one per partition): the newer batch is what both hold together.
        const key = `${d.doc}|${partition}`;
        this.loadedMarks!.set(key, Math.max(wm, this.loadedMarks!.get(key) ?? 0));
        if (wm > (appended.get(partition) ?? 0) && wm > (this.awaited.get(partition) ?? 0)) this.awaited.set(partition, wm);
      }
      for (const [key, value] of d.cells) this.add(key, value);
    }
    this.dropMarksWhenSettled();
  }

  get settled(): boolean {
    return this.awaited.size === 0;
  }

  /** Partitions still awaited (for logs when settling takes long). */
  awaitedPartitions(): number[] {
    return [...this.awaited.keys()];
  }

  /** Applies one feed delta (in seq order); changes a loaded document already holds are skipped. */
  applyDelta(seq: number, partition: number, batch: number, changes: readonly DocChange[]): void {
    this.seq = seq;
    for (const change of changes) {
      const mark = this.loadedMarks?.get(`${change.doc}|${partition}`);
      if (mark !== undefined && mark >= batch) continue;
      for (const [key, increment] of change.cells) this.add(key, increment);
    }
    const awaited = this.awaited.get(partition);
    if (awaited !== undefined && batch >= awaited) {
      this.awaited.delete(partition);
      this.dropMarksWhenSettled();
    }
  }

  /** Moves the position past an entry that changes no figure (an alert). */
  skip(seq: number): void {
    this.seq = seq;
  }

  /**
   * Gives up waiting (the aggregator that applied a batch died before appending it, and
   * its replay is slow). The state itself stays exact (the marks stay), but a client
   * given a snapshot now counts that batch twice when its delta comes.
   */
  settleNow(): void {
    this.awaited.clear();
  }

  /** Forgets cells the caller no longer needs (older than its window). */
  prune(stale: (key: string) => boolean): void {
    for (const key of this.cells.keys()) if (stale(key)) this.cells.delete(key);
  }

  private add(key: string, value: number): void {
    const next = (this.cells.get(key) ?? 0) + value;
    if (next === 0) this.cells.delete(key);
    else this.cells.set(key, next);
  }

  private dropMarksWhenSettled(): void {
    // Once every loaded batch has come through the feed, later deltas are all newer than any mark.
    if (this.awaited.size === 0) this.loadedMarks = null;
  }
}
