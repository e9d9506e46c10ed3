import { Persons } from '../model/persons.js';
import type { StampedEvent } from '../model/event-stream.js';
import { reportDefinition, resolveReportRange, reportIntervals, type ReportDefinition, type ReportRange } from '../model/report-definition.js';
import { buildDaySegment } from '../reports/day-segment.js';
import { reportData, type ReportData } from '../reports/report-data.js';

/** Small hand-written cases for the reports' pure kinds: events, and a definition run over them. */
const DAY = 86_400_000;
const limits = { maxRangeDays: 366, maxIntervals: 2000 };
const definition = reportDefinition(limits);

let n = 0;
export function event(name: string, at: string, ids: { userId?: string; anonymousId?: string }, properties: Record<string, unknown> = {}): StampedEvent {
  const timestamp = Date.parse(at);
  return { eventId: `e${n++}`, projectId: 'p', event: name, ...ids, timestamp, receivedAt: timestamp, properties, context: {} };
}

/** A definition parsed as the route does, and the data, range and intervals it runs over: one segment per UTC day, persons linked from the events. */
export function reportOver(input: object, events: readonly StampedEvent[], now: number): { definition: ReportDefinition; data: ReportData; range: ReportRange; starts: number[] } {
  const d = definition.parse(input);
  const byDay = new Map<number, StampedEvent[]>();
  for (const e of events) byDay.set(Math.floor(e.timestamp / DAY), [...(byDay.get(Math.floor(e.timestamp / DAY)) ?? []), e]);
  const persons = new Persons();
  for (const e of events) persons.addEvent(e);
  const segments = [...byDay].sort(([a], [b]) => a - b).map(([day, es]) => buildDaySegment(day, es));
  const range = resolveReportRange(d, now);
  const starts = 'interval' in d ? (reportIntervals(range, d.interval, limits) as number[]) : [];
  return { definition: d, data: reportData(segments, persons), range, starts };
}
