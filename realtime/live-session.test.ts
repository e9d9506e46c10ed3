import { describe, expect, it } from 'vitest';
import type { Project } from '../core/project-store.js';
import {
  authenticated, catchingUp, countSubscribe, degraded, isSubscribed, newSocket, reset, resumeRefused, subscribed, unsubscribed, wentLive,
  type LiveSocket, type Session, type Waiting,
} from './live-session.js';

const PROJECT = { id: 'p1' } as Project;

/** Narrows the socket's session to one phase, failing the test when it is in another. */
function inPhase<P extends Session['phase']>(s: LiveSocket, phase: P): Extract<Session, { phase: P }> {
  expect(s.session.phase).toBe(phase);
  return s.session as Extract<Session, { phase: P }>;
}

/** A socket that authenticated and subscribed to signup events after seq 7 of epoch "e1". */
function waiting(): LiveSocket & { session: Waiting } {
  const s = newSocket(null, '127.0.0.1');
  authenticated(s, PROJECT);
  subscribed(s, inPhase(s, 'idle'), { channels: ['events', 'activeUsers'], events: ['signup'], resume: { after: 7, epoch: 'e1' } });
  return s as LiveSocket & { session: Waiting };
}

describe('live session transitions', () => {
  it('starts waiting for its key, and is idle once it has one', () => {
    const s = newSocket(PROJECT, '127.0.0.1');
    expect(s).toMatchObject({ session: { phase: 'auth', admitted: PROJECT }, generation: 0 });
    expect(isSubscribed(s.session)).toBe(false);
    authenticated(s, PROJECT);
    expect(s).toMatchObject({ session: { phase: 'idle', project: PROJECT }, generation: 0 });
  });

  it('waits for its answer once subscribed, with what it asked for; a new subscription replaces it', () => {
    const s = waiting();
    expect(s.session).toEqual({ phase: 'waiting', project: PROJECT, subscription: { channels: new Set(['events', 'activeUsers']), filter: new Set(['signup']) }, resume: { after: 7, epoch: 'e1' }, reason: undefined });
    expect(s.generation).toBe(1);
    subscribed(s, s.session, { channels: ['alerts'], events: undefined, resume: null });
    expect(s.session).toEqual({ phase: 'waiting', project: PROJECT, subscription: { channels: new Set(['alerts']), filter: null }, resume: null, reason: undefined });
    expect(s.generation).toBe(2);
  });

  it.each<[string, (s: LiveSocket & { session: Waiting }) => void, Session, number]>([
    ['wentLive', (s) => wentLive(s, s.session), { phase: 'live', project: PROJECT, subscription: { channels: new Set(['events', 'activeUsers']), filter: new Set(['signup']) } }, 1],
    ['reset', (s) => reset(s, s.session, 'recomputed'), { phase: 'waiting', project: PROJECT, subscription: { channels: new Set(['events', 'activeUsers']), filter: new Set(['signup']) }, resume: null, reason: 'recomputed' }, 2],
    ['resumeRefused', (s) => resumeRefused(s, s.session, 'gone from the feed'), { phase: 'waiting', project: PROJECT, subscription: { channels: new Set(['events', 'activeUsers']), filter: new Set(['signup']) }, resume: null, reason: 'gone from the feed' }, 1],
    ['unsubscribed from one channel', (s) => unsubscribed(s, s.session, new Set(['activeUsers'])), { phase: 'waiting', project: PROJECT, subscription: { channels: new Set(['events']), filter: new Set(['signup']) }, resume: { after: 7, epoch: 'e1' }, reason: undefined }, 1],
    ['unsubscribed from all', (s) => unsubscribed(s, s.session, new Set(['events', 'activeUsers'])), { phase: 'idle', project: PROJECT }, 2],
  ])('%s', (_, step, expected, generation) => {
    const s = waiting();
    step(s);
    expect(s.session).toEqual(expected);
    expect(s.generation).toBe(generation);
  });

  it('falls behind with what it was sent, and catches up from there in the current epoch', () => {
    const s = waiting();
    wentLive(s, s.session);
    degraded(s, inPhase(s, 'live'), 42, 1_000);
    expect(inPhase(s, 'lagging')).toMatchObject({ sentSeq: 42, since: 1_000 });
    expect(s.generation).toBe(2);
    catchingUp(s, inPhase(s, 'lagging'), 'e2');
    expect(inPhase(s, 'waiting')).toMatchObject({ resume: { after: 42, epoch: 'e2' }, reason: undefined });
    expect(s.generation).toBe(3);
  });

  it('counts subscribes per minute, from zero in each new minute', () => {
    const s = waiting();
    expect([countSubscribe(s, 60_000), countSubscribe(s, 61_000), countSubscribe(s, 119_999)]).toEqual([1, 2, 3]);
    expect(countSubscribe(s, 120_000)).toBe(1);
  });
});
