import type { Db } from 'mongodb';
import { COLLECTIONS, type ActivityDoc, type CountDoc, type RetentionDoc, type Watermarks } from '../model/collections.js';
import { findRollups, readDeltas } from '../model/rollup-deltas.js';
import { dayNumber, dayToDate } from '../model/time-buckets.js';
import { activityDocId, activityKey, countDocId, countKey, retentionDocId, retentionKey, storedDimensionKey, windowStart, type LiveNeeds } from './cells.js';
import type { LoadedDoc } from './live-figures.js';

/** A rollup document's watermarks: partition → the last batch of it the document holds. */
function marksOf(wm: Watermarks | undefined): { marks: Map<number, number> } {
  return { marks: new Map(Object.entries(wm ?? {}).map(([key, batch]) => [Number(key.slice(1)), batch])) };
}

/** The rollup documents holding the figures `needs` names, as cells with their watermarks (rollup deltas not yet folded included). */
export async function loadLiveDocs(db: Db, projectId: string, needs: LiveNeeds, now: number): Promise<LoadedDoc[]> {
  const docs: LoadedDoc[] = [];
  const today = dayNumber(now);
  // Once for the three collections, before their documents (see withDeltas).
  const deltas = await readDeltas(db, projectId);
  const reads: Promise<void>[] = [];
  if (needs.minutes > 0 && (needs.events === undefined || needs.events.size > 0)) {
    const filter = { projectId, bucket: { $gte: new Date(windowStart(needs, now)) }, ...(needs.events === undefined ? {} : { event: { $in: [...needs.events] } }) };
    reads.push(
      findRollups<CountDoc>(db, COLLECTIONS.countsMinute, filter, deltas).then((found) => {
        for (const d of found) {
          const t = d.bucket.getTime();
          const cells: [string, number][] = [[countKey(d.event, t), d.count]];
          if (needs.dimensions) {
            for (const [dimension, values] of Object.entries(d.by ?? {})) {
              for (const [value, n] of Object.entries(values)) cells.push([storedDimensionKey(d.event, t, `${dimension}.${value}`), n]);
            }
          }
          docs.push({ doc: countDocId(d.event, t), ...marksOf(d.wm), cells });
        }
      }),
    );
  }
  if (needs.activity) {
    reads.push(
      findRollups<ActivityDoc>(db, COLLECTIONS.activity, { projectId, day: { $gte: dayToDate(today - 1), $lte: dayToDate(today + 1) } }, deltas).then((found) => {
        for (const d of found) {
          const day = dayNumber(d.day.getTime());
          docs.push({ doc: activityDocId(day), ...marksOf(d.wm), cells: [[activityKey(day, 'dau'), d.dau], [activityKey(day, 'wau'), d.wau], [activityKey(day, 'mau'), d.mau]] });
        }
      }),
    );
  }
  if (needs.retentionDays > 0) {
    reads.push(
      findRollups<RetentionDoc>(db, COLLECTIONS.retentionDaily, { projectId, cohort: { $gte: dayToDate(today - needs.retentionDays + 1) } }, deltas).then((found) => {
        for (const d of found) {
          const cohort = dayNumber(d.cohort.getTime());
          docs.push({ doc: retentionDocId(cohort), ...marksOf(d.wm), cells: Object.entries(d.r).map(([offset, n]) => [retentionKey(cohort, Number(offset)), n] as const) });
        }
      }),
    );
  }
  await Promise.all(reads);
  return docs;
}
