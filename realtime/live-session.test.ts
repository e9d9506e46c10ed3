import { describe, expect, it } from 'vitest';
import type { Project } from '../core/project-store.js';
import { authenticated, catchingUp, countSubscribe, degraded, newSession, reset, resumeRefused, subscribed, unsubscribedAll, wentLive, type LiveSocket } from './live-session.js';

const PROJECT = { id: 'p1' } as Project;

/** A socket that authenticated and subscribed to events after seq 7 of epoch "e1". */
function waiting(): LiveSocket {
  const s = newSession(null, '127.0.0.1');
  authenticated(s, PROJECT);
  subscribed(s, { channels: ['events'], events: ['signup'], resume: 7, epoch: 'e1' });
  return s;
}

describe('live session transitions', () => {
  it('starts waiting for its key, and is idle once it has one', () => {
    const s = newSession(null, '127.0.0.1');
    expect(s).toMatchObject({ phase: 'auth', project: null, generation: 0 });
    authenticated(s, PROJECT);
    expect(s).toMatchObject({ phase: 'idle', project: PROJECT, generation: 0 });
  });

  it('waits for its answer once subscribed, with what it asked for', () => {
    const s = waiting();
    expect(s).toMatchObject({ phase: 'waiting', channels: new Set(['events']), filter: new Set(['signup']), resume: 7, resumeEpoch: 'e1', generation: 1 });
    subscribed(s, { channels: ['alerts', 'events'], events: undefined, resume: undefined, epoch: undefined });
    expect(s).toMatchObject({ phase: 'waiting', channels: new Set(['alerts', 'events']), filter: null, resume: null, resumeEpoch: undefined, generation: 2 });
  });

  it.each<[string, (s: LiveSocket) => void, Partial<LiveSocket>]>([
    ['wentLive', wentLive, { phase: 'live', resume: null, reason: undefined, generation: 1 }],
    ['reset', (s) => reset(s, 'recomputed'), { phase: 'waiting', resume: null, reason: 'recomputed', generation: 2 }],
    ['resumeRefused', (s) => resumeRefused(s, 'gone from the feed'), { phase: 'waiting', resume: null, reason: 'gone from the feed', generation: 1 }],
    ['unsubscribedAll', unsubscribedAll, { phase: 'idle', generation: 2 }],
  ])('%s', (_, step, expected) => {
    const s = waiting();
    step(s);
    expect(s).toMatchObject(expected);
  });

  it('falls behind with what it was sent, and catches up from there in the current epoch', () => {
    const s = waiting();
    wentLive(s);
    degraded(s, 42, 1_000);
    expect(s).toMatchObject({ phase: 'lagging', sentSeq: 42, laggingSince: 1_000, generation: 2 });
    catchingUp(s, 'e2');
    expect(s).toMatchObject({ phase: 'waiting', resume: 42, resumeEpoch: 'e2', generation: 3 });
  });

  it('counts subscribes per minute, from zero in each new minute', () => {
    const s = waiting();
    expect([countSubscribe(s, 60_000), countSubscribe(s, 61_000), countSubscribe(s, 119_999)]).toEqual([1, 2, 3]);
    expect(countSubscribe(s, 120_000)).toBe(1);
  });
});
