import { describe, expect, it } from 'vitest';
import { SignalboardError } from '../core/errors.js';
import { liveProtocol } from './live-protocol.js';

const protocol = liveProtocol({ maxEventFilter: 3 });

function refusal(work: () => unknown): { code: string; message: string } {
  try {
    work();
  } catch (err) {
    if (err instanceof SignalboardError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('live protocol: reading a message', () => {
  it('reads the type, and a first message\'s key and project', () => {
    expect(protocol.read('{"type":"auth","key":"rk_1","project":"p1"}')).toMatchObject({ type: 'auth', key: 'rk_1', project: 'p1' });
    expect(protocol.read('{"type":"ping"}')).toMatchObject({ type: 'ping', key: undefined, project: undefined });
    // A key that is not a string is no key (the first message is refused as unauthenticated).
    expect(protocol.read('{"type":"auth","key":5}').key).toBeUndefined();
  });

  it.each([
    ['not json', 'SB_LIVE_MESSAGE_INVALID', /not valid JSON/],
    ['[1,2]', 'SB_LIVE_MESSAGE_INVALID', /JSON object with a "type"/],
    ['{"kind":"subscribe"}', 'SB_LIVE_MESSAGE_INVALID', /JSON object with a "type"/],
    ['{"type":7}', 'SB_LIVE_MESSAGE_INVALID', /JSON object with a "type"/],
  ])('refuses %s', (text, code, message) => {
    const r = refusal(() => protocol.read(text));
    expect(r.code).toBe(code);
    expect(r.message).toMatch(message);
  });
});

describe('live protocol: subscribe', () => {
  it('takes channels, a filter, a resume position and its epoch', () => {
    expect(protocol.subscribe({ type: 'subscribe', channels: ['events', 'alerts'], filter: { events: ['signup'] }, resume: 12, epoch: null })).toEqual({
      channels: ['events', 'alerts'],
      filter: { events: ['signup'] },
      resume: 12,
      epoch: null,
      project: undefined,
    });
  });

  it.each([
    [{ type: 'subscribe', channels: [] }, 'SB_LIVE_MESSAGE_INVALID', 'subscribe: channels: name at least one channel'],
    [{ type: 'subscribe', channels: ['events', 'events'] }, 'SB_LIVE_MESSAGE_INVALID', 'subscribe: channels: a channel is named twice'],
    [{ type: 'subscribe', channels: ['nope'] }, 'SB_LIVE_MESSAGE_INVALID', 'subscribe: channels.0:'],
    [{ type: 'subscribe', channels: ['events'], resume: -1 }, 'SB_LIVE_MESSAGE_INVALID', 'subscribe: resume:'],
    [{ type: 'subscribe', channels: ['events'], filter: { events: ['a', 'b', 'c', 'd'] } }, 'SB_LIVE_TOO_MANY_SUBSCRIPTIONS', 'at most 3 event names (LIVE_MAX_EVENT_FILTER)'],
    [{ type: 'subscribe', channels: ['events'], filter: { events: ['a'], users: ['u'] } }, 'SB_LIVE_MESSAGE_INVALID', 'subscribe: filter:'],
  ])('refuses %j', (body, code, message) => {
    const r = refusal(() => protocol.subscribe(body));
    expect(r.code).toBe(code);
    expect(r.message).toContain(message);
  });
});

describe('live protocol: unsubscribe', () => {
  it('names the channels to leave, or none for all', () => {
    expect(protocol.unsubscribe({ type: 'unsubscribe', channels: ['retention'] })).toEqual(['retention']);
    expect(protocol.unsubscribe({ type: 'unsubscribe' })).toBeUndefined();
  });

  it('refuses an unknown channel, naming it', () => {
    const r = refusal(() => protocol.unsubscribe({ type: 'unsubscribe', channels: ['events', 'bogus'] }));
    expect(r).toMatchObject({ code: 'SB_LIVE_MESSAGE_INVALID' });
    expect(r.message).toMatch(/^unsubscribe: channels\.1: /);
  });
});
