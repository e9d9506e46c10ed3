import { describe, expect, it } from 'vitest';
import { RecentEventIds } from './recent-event-ids.js';

describe('RecentEventIds', () => {
  it('tells which batch stored an id, and forgets the oldest past its size', () => {
    const recent = new RecentEventIds(2);
    recent.remember('p|a', '0:1');
    recent.remember('p|b', '0:1');
    recent.remember('p|a', '0:1'); // seen again: now the newest
    recent.remember('p|c', '0:2');
    expect([recent.get('p|a'), recent.get('p|b'), recent.get('p|c')]).toEqual(['0:1', undefined, '0:2']);
  });

  it('remembers nothing when sized 0', () => {
    const recent = new RecentEventIds(0);
    recent.remember('p|a', '0:1');
    expect(recent.get('p|a')).toBeUndefined();
  });
});
