import type { Project } from '../core/project-store.js';
import type { Channel } from './live-messages.js';

/**
 * A /v1/live socket's state and its transitions, pure: every change of phase goes
 * through one of the functions below, each taking exactly what that change needs, so
 * what a phase holds is stated once (the gateway keeps the state as the socket's uWS
 * user data, one object for the socket's life, hence changed in place).
 *
 *   auth ──authenticated──▶ idle ──subscribed──▶ waiting ──wentLive──▶ live
 *   live ──degraded──▶ lagging ──catchingUp──▶ waiting
 *   waiting | live | lagging ──reset──▶ waiting (a fresh snapshot)
 *   any subscribed phase ──unsubscribedAll──▶ idle
 * A change that makes answers under way stale (a new subscription, a reset, falling
 * behind) bumps `generation`.
 */

export type SocketPhase = 'auth' | 'idle' | 'waiting' | 'live' | 'lagging';

export interface LiveSocket {
  project: Project | null;
  /** The client's address, for the key check of a first message (see ProjectAccess). */
  client: string;
  phase: SocketPhase;
  channels: Set<Channel>;
  filter: Set<string> | null;
  /** The seq a pending resume starts after; null for a snapshot. */
  resume: number | null;
  /** The feed epoch the client's seq belongs to (null: the feed was empty); undefined: it did not say, so no resume; a different one: the feed was lost. */
  resumeEpoch: string | null | undefined;
  /** Why the next snapshot is sent (reset, gap...), shown to the client. */
  reason: string | undefined;
  /** The feed position the client has everything up to, while it is lagging. */
  sentSeq: number;
  laggingSince: number;
  /** Bumped on every (re)subscribe, so an answer computed for an older one is dropped. */
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


export function newSession(project: Project | null, client: string): LiveSocket {
  return {
    project, client, phase: 'auth', channels: new Set(), filter: null, resume: null, resumeEpoch: undefined, reason: undefined, sentSeq: 0, laggingSince: 0,
    generation: 0, closed: false, closing: false, subscribes: 0, subscribesMinute: 0, authTimer: null, inbox: Promise.resolve(), queued: 0,
  };
}

export function authenticated(s: LiveSocket, project: Project): void {
  Object.assign(s, { project, phase: 'idle' } satisfies Partial<LiveSocket>);
}

/** Counts a subscribe in the current minute (each costs a snapshot); returns this minute's count. */
export function countSubscribe(s: LiveSocket, now: number): number {
  const minute = Math.floor(now / 60_000);
  if (s.subscribesMinute !== minute) Object.assign(s, { subscribes: 0, subscribesMinute: minute } satisfies Partial<LiveSocket>);
  return ++s.subscribes;
}

export function subscribed(s: LiveSocket, to: { channels: readonly Channel[]; events: readonly string[] | undefined; resume: number | undefined; epoch: string | null | undefined }): void {
  Object.assign(s, {
    channels: new Set(to.channels),
    filter: to.events === undefined ? null : new Set(to.events),
    resume: to.resume ?? null,
    resumeEpoch: to.epoch,
    reason: undefined,
    phase: 'waiting',
    generation: s.generation + 1,
  } satisfies Partial<LiveSocket>);
}

export function unsubscribedAll(s: LiveSocket): void {
  Object.assign(s, { phase: 'idle', generation: s.generation + 1 } satisfies Partial<LiveSocket>);
}

/** The figures changed under the socket (a recompute, a lost feed): a fresh snapshot, saying why. */
export function reset(s: LiveSocket, reason: string): void {
  Object.assign(s, { phase: 'waiting', resume: null, reason, generation: s.generation + 1 } satisfies Partial<LiveSocket>);
}

/** A resume that cannot be served (gone from the feed, another epoch): a snapshot instead, saying why. */
export function resumeRefused(s: LiveSocket, reason: string): void {
  Object.assign(s, { resume: null, reason } satisfies Partial<LiveSocket>);
}

export function wentLive(s: LiveSocket): void {
  Object.assign(s, { phase: 'live', resume: null, reason: undefined } satisfies Partial<LiveSocket>);
}

/** Stops live messages to a socket that isn't reading: it has everything up to `sentSeq`. */
export function degraded(s: LiveSocket, sentSeq: number, now: number): void {
  Object.assign(s, { phase: 'lagging', sentSeq, laggingSince: now, generation: s.generation + 1 } satisfies Partial<LiveSocket>);
}

/** A lagging socket drained: it resumes from what it was sent, in the feed's current epoch. */
export function catchingUp(s: LiveSocket, epoch: string | null | undefined): void {
  Object.assign(s, { phase: 'waiting', resume: s.sentSeq, resumeEpoch: epoch, generation: s.generation + 1 } satisfies Partial<LiveSocket>);
}
