/**
 * Who a report counts (the contract: "a person is a userId; an anonymousId that arrives
 * on an event together with a userId (or in a Segment alias) counts as that person in
 * reports, before and after the link"). Pure: a report reads the project's links, then
 * asks each event's person.
 *
 * - An event with both ids links its anonymousId to its userId; a `$alias` event (what
 *   Segment's alias call becomes at ingest) links `properties.previousId` to its userId.
 * - An anonymous id belongs to one person: when links name several, the earliest wins
 *   (by timestamp, then eventId), whatever order they arrived in, so every recount agrees.
 *   A later link to someone else is ignored, as PostHog does not merge two identified
 *   persons.
 * - A userId is always its own person, and an anonymous id never linked is a person of
 *   its own (ids share one namespace, as PostHog's distinct ids do).
 */
import type { Db } from 'mongodb';
import { COLLECTIONS } from './collections.js';
import type { StampedEvent } from './event-stream.js';

export interface IdentityLink {
  anonymousId: string;
  userId: string;
  /** The linking event's timestamp and id: the earliest link of an anonymous id wins. */
  timestamp: number;
  eventId: string;
}

export const ALIAS_EVENT = '$alias';

type Identified = Pick<StampedEvent, 'event' | 'userId' | 'anonymousId' | 'properties' | 'timestamp' | 'eventId'>;

/** The links one event makes (none for most). */
export function linksOf(e: Identified): IdentityLink[] {
  if (e.userId === undefined) return [];
  const links: IdentityLink[] = [];
  const link = (anonymousId: string) => {
    if (anonymousId !== e.userId) links.push({ anonymousId, userId: e.userId!, timestamp: e.timestamp, eventId: e.eventId });
  };
  if (e.anonymousId !== undefined) link(e.anonymousId);
  const previousId = e.event === ALIAS_EVENT ? e.properties?.previousId : undefined;
  if (typeof previousId === 'string' && previousId !== '') link(previousId);
  return links;
}

/**
 * A stored link (`person_links`, one per project and anonymous id, written by the
 * aggregator): the earliest link of that anonymous id among the events counted. Kept as
 * long as the project; the person's erasure removes it.
 */
export interface PersonLinkDoc extends IdentityLink {
  _id: string;
  projectId: string;
}

export function personLinkId(projectId: string, anonymousId: string): string {
  return `${projectId}|${anonymousId}`;
}

/** Whether link `a` comes before `b` (by timestamp, then eventId): the earlier one decides. */
export function earlier(a: Pick<IdentityLink, 'timestamp' | 'eventId'>, b: Pick<IdentityLink, 'timestamp' | 'eventId'>): boolean {
  return a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.eventId < b.eventId);
}

/** A project's persons, from its links. */
export class Persons {
  private readonly links = new Map<string, IdentityLink>();

  add(link: IdentityLink): void {
    const held = this.links.get(link.anonymousId);
    if (held === undefined || earlier(link, held)) this.links.set(link.anonymousId, link);
  }

  /** Every link an event makes. */
  addEvent(e: Identified): void {
    for (const link of linksOf(e)) this.add(link);
  }

  /** The person an event counts for. */
  personOf(e: Pick<StampedEvent, 'userId' | 'anonymousId'>): string {
    if (e.userId !== undefined) return e.userId;
    return this.links.get(e.anonymousId!)?.userId ?? e.anonymousId!;
  }
}

/** A project's persons, from the links the aggregator stored. */
export async function readPersons(db: Db, projectId: string): Promise<Persons> {
  const persons = new Persons();
  for await (const link of db.collection<PersonLinkDoc>(COLLECTIONS.personLinks).find({ projectId }, { batchSize: 1000 })) persons.add(link);
  return persons;
}
