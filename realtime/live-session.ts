import type { Project } from '../core/project-store.js';
import type { Channel } from './live-messages.js';

/**
 * A /v1/live socket's session: a discriminated union over its phase, so each phase
 * holds exactly what it needs (a lagging socket has what it was sent, a waiting one the
 * resume it asked for) and the gateway must check the phase before it can read them.
 * Every change of phase is one of the functions below, from the phase it leaves:
 *
 *   auth ──authenticated──▶ idle ──subscribed──▶ waiting ──wentLive──▶ live
 *   live ──degraded──▶ lagging ──catchingUp──▶ waiting
 *   waiting | live | lagging ──reset──▶ waiting (a fresh snapshot)
 *   waiting | live | lagging ──unsubscribed──▶ the same phase with fewer channels, or idle
 *
 * The socket (uWS user data, one object for the socket's life) holds the session and
 * what belongs to the connection whatever its phase. A change that makes answers under
 * way stale (a new subscription, a reset, falling behind) bumps its `generation`.
 */

/** What a subscribed socket asked for. */
export interface Subscription {
  channels: ReadonlySet<Channel>;
  /** The events of the events channel; null: all. */
  filter: ReadonlySet<string> | null;
}

/** A resume asked for: the feed position the client has everything up to, and the feed epoch it belongs to (null: the feed was empty; undefined: the client did not say, so it cannot resume). */
export interface ResumePoint {
  after: number;
  epoch: string | null | undefined;
}

/** Connected, its key not yet counted: `admitted` when the URL or a header carried one, checked at the upgrade. */
export interface Authenticating { phase: 'auth'; admitted: Project | null }
export interface Idle { phase: 'idle'; project: Project }
/** Subscribed, its answer (a resume or snapshots) not yet sent. */
export interface Waiting { phase: 'waiting'; project: Project; subscription: Subscription; resume: ResumePoint | null; reason: string | undefined }
export interface Live { phase: 'live'; project: Project; subscription: Subscription }
/** Live messages stopped: the socket isn't reading. It has everything up to `sentSeq`. */
export interface Lagging { phase: 'lagging'; project: Project; subscription: Subscription; sentSeq: number; since: number }

export type Session = Authenticating | Idle | Waiting | Live | Lagging;
export type Subscribed = Waiting | Live | Lagging;

export interface LiveSocket {
  session: Session;
  /** The client's address, for the key check of a first message (see ProjectAccess). */
  client: string;
  /** Bumped on every change that makes an answer under way stale, so it is dropped. */
  generation: number;
  closed: boolean;
  /** end() was called: nothing more is sent. */
  closing: boolean;
  /** Subscribes in the current minute: each costs a snapshot, so they are limited. */
  subscribes: number;
  subscribesMinute: number;
  authTimer: NodeJS.Timeout | null;
  /** The socket's messages are handled one at a time, in order: a subscribe sent right behind its auth waits for the key check. */
  inbox: Promise<void>;
  queued: number;
}

export function newSocket(admitted: Project | null, client: string): LiveSocket {
  return {
    session: { phase: 'auth', admitted }, client, generation: 0, closed: false, closing: false,
    subscribes: 0, subscribesMinute: 0, authTimer: null, inbox: Promise.resolve(), queued: 0,
  };
}

export function isSubscribed(session: Session): session is Subscribed {
  return session.phase === 'waiting' || session.phase === 'live' || session.phase === 'lagging';
}

function enter(s: LiveSocket, next: Session, stale: boolean): void {
  s.session = next;
  if (stale) s.generation++;
}

export function authenticated(s: LiveSocket, project: Project): void {
  enter(s, { phase: 'idle', project }, false);
}

/** Counts a subscribe in the current minute (each costs a snapshot); returns this minute's count. */
export function countSubscribe(s: LiveSocket, now: number): number {
  const minute = Math.floor(now / 60_000);
  if (s.subscribesMinute !== minute) {
    s.subscribes = 0;
    s.subscribesMinute = minute;
  }
  return ++s.subscribes;
}

/** A (new) subscription replaces the one before, whatever the phase. */
export function subscribed(s: LiveSocket, from: Idle | Subscribed, to: { channels: readonly Channel[]; events: readonly string[] | undefined; resume: ResumePoint | null }): void {
  const subscription = { channels: new Set(to.channels), filter: to.events === undefined ? null : new Set(to.events) };
  enter(s, { phase: 'waiting', project: from.project, subscription, resume: to.resume, reason: undefined }, true);
}

/** Leaves some channels: the socket stays in its phase with the rest, or is idle when none is left. */
export function unsubscribed(s: LiveSocket, from: Subscribed, leave: ReadonlySet<Channel>): void {
  const channels = new Set([...from.subscription.channels].filter((c) => !leave.has(c)));
  if (channels.size === 0) enter(s, { phase: 'idle', project: from.project }, true);
  else enter(s, { ...from, subscription: { ...from.subscription, channels } }, false);
}

/** The figures changed under the socket (a recompute, a lost feed): a fresh snapshot, saying why. */
export function reset(s: LiveSocket, from: Subscribed, reason: string): void {
  enter(s, { phase: 'waiting', project: from.project, subscription: from.subscription, resume: null, reason }, true);
}

/** A resume that cannot be served (gone from the feed, another epoch): a snapshot instead, saying why. */
export function resumeRefused(s: LiveSocket, from: Waiting, reason: string): void {
  enter(s, { ...from, resume: null, reason }, false);
}

export function wentLive(s: LiveSocket, from: Waiting): void {
  enter(s, { phase: 'live', project: from.project, subscription: from.subscription }, false);
}

/** Stops live messages to a socket that isn't reading: it has everything up to `sentSeq`. */
export function degraded(s: LiveSocket, from: Live, sentSeq: number, now: number): void {
  enter(s, { phase: 'lagging', project: from.project, subscription: from.subscription, sentSeq, since: now }, true);
}

/** A lagging socket drained: it resumes from what it was sent, in the feed's current epoch. */
export function catchingUp(s: LiveSocket, from: Lagging, epoch: string | null | undefined): void {
  enter(s, { phase: 'waiting', project: from.project, subscription: from.subscription, resume: { after: from.sentSeq, epoch }, reason: undefined }, true);
}
