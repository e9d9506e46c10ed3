/**
 * Retention and lifecycle (docs/reports.md#retention, #lifecycle): persons by the
 * periods they were active in. Pure.
 */
import type { ReportDefinition, ReportRange } from '../model/report-definition.js';
import { inDays, markRows, type ReportData } from './report-data.js';
import { intervalIndex } from './trends.js';

type RetentionDefinition = Extract<ReportDefinition, { kind: 'retention' }>;
type LifecycleDefinition = Extract<ReportDefinition, { kind: 'lifecycle' }>;

export interface RetentionResult {
  cohorts: Array<{ cohort: string; size: number; retained: number[] }>;
}

export interface LifecycleResult {
  intervals: string[];
  new: number[];
  returning: number[];
  resurrecting: number[];
  /** Negative: persons active in the interval before and not in this one. */
  dormant: number[];
}

/**
 * A bit per person and period (interval), for the persons that have any: set in one pass
 * over rows in time order. Grouping the rows by person first read them out of order and
 * was 3-4 times slower.
 */
class PeriodBits {
  readonly words: number;
  /** Person → their slot plus one (0: no bit yet). */
  private readonly slots: Int32Array;
  private bits: Uint32Array;
  private used = 0;

  constructor(persons: number, periods: number) {
    this.words = Math.ceil(periods / 32);
    this.slots = new Int32Array(persons);
    this.bits = new Uint32Array(this.words * 1024);
  }

  set(person: number, period: number): void {
    let slot = this.slots[person]! - 1;
    if (slot === -1) {
      slot = this.used++;
      this.slots[person] = slot + 1;
      if (this.used * this.words > this.bits.length) {
        const grown = new Uint32Array(this.bits.length * 2);
        grown.set(this.bits);
        this.bits = grown;
      }
    }
    this.bits[slot * this.words + (period >> 5)]! |= 1 << (period & 31);
  }

  /** Bits 32w … 32w + 31 of a person (bit i: period 32w + i). */
  word(person: number, w: number): number {
    const slot = this.slots[person]!;
    return slot === 0 ? 0 : this.bits[(slot - 1) * this.words + w]!;
  }

  has(person: number, period: number): boolean {
    return (this.word(person, period >> 5) & (1 << (period & 31))) !== 0;
  }
}

/** The lowest set bit's index of a 32-bit word. */
function lowestBit(bits: number): number {
  return 31 - Math.clz32(bits & -bits);
}

/**
 * Walks rows in time order with the index of the period each falls in (-1 before the
 * first): the index only moves forward.
 */
function forEachPeriod(time: Float64Array, starts: readonly number[], checkTime: () => void, visit: (row: number, period: number) => void): void {
  let k = -1;
  for (let r = 0; r < time.length; r++) {
    if ((r & 0xffff) === 0) checkTime();
    while (k + 1 < starts.length && starts[k + 1]! <= time[r]!) k++;
    visit(r, k);
  }
}

/**
 * `starts` are the periods from the one holding `from` to the one holding `to`; `history`
 * is where the data begins (first_time looks for each person's first start event from there).
 */
export function runRetention(definition: RetentionDefinition, data: ReportData, range: ReportRange, starts: readonly number[], history: number): RetentionResult {
  const startBit = 1;
  const returnBit = 2;
  const firstTime = definition.type === 'first_time';
  // Start events from `history` (first_time looks for the first ever), returns only inside the range.
  const rows = markRows(data, [{ event: definition.startEvent?.event, filters: definition.startEvent?.filters }, { event: definition.returnEvent?.event, filters: definition.returnEvent?.filters, from: range.from }], history, range.to);
  const periods = starts.length;
  const cohorts = new PeriodBits(data.persons.length, periods);
  const returns = new PeriodBits(data.persons.length, periods);
  const started = new Uint8Array(firstTime ? data.persons.length : 0);
  forEachPeriod(rows.time, starts, data.checkTime, (r, k) => {
    const p = rows.person[r]!;
    const inRange = rows.time[r]! >= range.from;
    if ((rows.mask[r]! & startBit) !== 0) {
      // first_time: only the person's first start event ever, and only when it is inside the range.
      if (!firstTime) {
        if (inRange) cohorts.set(p, k);
      } else if (started[p] === 0) {
        started[p] = 1;
        if (inRange) cohorts.set(p, k);
      }
    }
    if ((rows.mask[r]! & returnBit) !== 0 && inRange) returns.set(p, k);
  });
  const size = new Array<number>(periods).fill(0);
  const retained = starts.map((_, c) => new Array<number>(periods - c).fill(0));
  for (let p = 0; p < data.persons.length; p++) {
    for (let w = 0; w < cohorts.words; w++) {
      for (let bits = cohorts.word(p, w); bits !== 0; bits &= bits - 1) {
        const c = w * 32 + lowestBit(bits);
        size[c]!++;
        retained[c]![0]!++;
        for (let j = 1; c + j < periods; j++) if (returns.has(p, c + j)) retained[c]![j]!++;
      }
    }
  }
  return { cohorts: starts.map((t, c) => ({ cohort: new Date(t).toISOString(), size: size[c]!, retained: retained[c]! })) };
}

/**
 * `starts` are the range's intervals with the one before them first (for dormant and
 * returning in the first interval); `history` is where the data begins: a person is new
 * in the interval of their first event of any kind from there.
 */
export function runLifecycle(definition: LifecycleDefinition, data: ReportData, range: ReportRange, starts: readonly number[], history: number): LifecycleResult {
  const rows = markRows(data, [{ event: definition.event, filters: definition.filters }], starts[0]!, range.to);
  // Each person's first event of any kind: the earliest first row of their actors over the days from `history`.
  const firstSeen = new Float64Array(data.persons.length).fill(Infinity);
  for (const s of inDays(data, history, Infinity)) {
    const segment = data.segments[s]!;
    const personOf = data.personOfActor[s]!;
    for (let a = 0; a < segment.actors.length; a++) {
      const p = personOf[a]!;
      if (segment.actorFirst[a]! < firstSeen[p]!) firstSeen[p] = segment.actorFirst[a]!;
    }
  }
  const n = starts.length - 1;
  const result: LifecycleResult = { intervals: starts.slice(1).map((t) => new Date(t).toISOString()), new: new Array<number>(n).fill(0), returning: new Array<number>(n).fill(0), resurrecting: new Array<number>(n).fill(0), dormant: new Array<number>(n).fill(0) };
  const active = new PeriodBits(data.persons.length, starts.length);
  forEachPeriod(rows.time, starts, data.checkTime, (r, k) => active.set(rows.person[r]!, k));
  for (let p = 0; p < data.persons.length; p++) {
    const bornIn = firstSeen[p]! >= starts[0]! ? intervalIndex(starts, firstSeen[p]!) : -1;
    for (let w = 0; w < active.words; w++) {
      const now = active.word(p, w);
      // Bit i: active in the interval before 32w + i.
      const before = (now << 1) | (w > 0 ? active.word(p, w - 1) >>> 31 : 0);
      // Interval 0 is the one before the range: it only decides the first one's returning or resurrecting, and dormant.
      for (let bits = now; bits !== 0; bits &= bits - 1) {
        const k = w * 32 + lowestBit(bits);
        if (k === 0) continue;
        if (bornIn === k) result.new[k - 1]!++;
        else if ((before & (1 << (k & 31))) !== 0) result.returning[k - 1]!++;
        else result.resurrecting[k - 1]!++;
      }
      for (let bits = before & ~now; bits !== 0; bits &= bits - 1) {
        const k = w * 32 + lowestBit(bits);
        if (k >= 1 && k <= n) result.dormant[k - 1]!--;
      }
    }
  }
  return result;
}
