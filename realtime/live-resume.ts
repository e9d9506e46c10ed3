import { LIVE_FEED_KEPT, type FeedEntry } from '../live/feed.js';
import { FeedCoalescer, type CoalescedFeed } from './live-messages.js';

/** Why a resume is answered with snapshots instead (shown to the client as the snapshot's reason). */
export type ResumeRefusal = 'resume-unknown-seq' | 'resume-too-old' | 'reset';

export type ResumeOutcome =
  /** The deltas after `since`, coalesced: the figures the client missed. */
  | { kind: 'feed'; feed: CoalescedFeed; seq: number }
  | { kind: 'snapshot'; reason: ResumeRefusal }
  /** The project is reloading (its figures are not ready): it answers when ready. */
  | { kind: 'reloading' }
  /** The socket closed or subscribed again meanwhile: nothing to answer. */
  | { kind: 'stale' };

export interface ResumeSource {
  /** How far this gateway has published; undefined while the project reloads. */
  position(): number | undefined;
  /** Feed entries after `after`, up to `to`, oldest first, one page. */
  readPage(after: number, to: number): Promise<FeedEntry[]>;
  /** Whether the socket still wants this answer. */
  current(): boolean;
}

/**
 * The deltas after `since` from the feed, read page by page and coalesced as they come
 * (a resume holds the figures, never the entries), up to what this gateway has
 * published (later entries come through the topics). Snapshots instead when the
 * entries are gone (a gap, or more than the feed keeps), span a reset, or `since` is
 * beyond the feed.
 */
export async function resumeFeed(since: number, source: ResumeSource, now: number): Promise<ResumeOutcome> {
  const missed = new FeedCoalescer(now, false);
  for (let read = since; ;) {
    const target = source.position();
    if (target === undefined) return { kind: 'reloading' };
    if (since > target) return { kind: 'snapshot', reason: 'resume-unknown-seq' };
    if (target - since > LIVE_FEED_KEPT) return { kind: 'snapshot', reason: 'resume-too-old' };
    if (read >= target) return { kind: 'feed', feed: missed.finish(target), seq: target };
    const page = await source.readPage(read, target);
    if (!source.current()) return { kind: 'stale' };
    if (page.length === 0 || page[0]!.seq !== read + 1) return { kind: 'snapshot', reason: 'resume-too-old' };
    if (page.some((e) => e.type === 'reset')) return { kind: 'snapshot', reason: 'reset' };
    for (const entry of page) missed.add(entry);
    read = page[page.length - 1]!.seq;
  }
}
