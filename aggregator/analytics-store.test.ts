import { describe, expect, it } from 'vitest';
import { addCounters } from './analytics-store.js';

describe('addCounters: two batches\' changes to one rollup document as one', () => {
  it('adds every counter, nested ones too, and keeps the fields that name the figure', () => {
    const bucket = new Date(0);
    expect(addCounters({ _id: 'd', event: 'e', bucket, count: 2, by: { platform: { web: 2 } } }, { _id: 'd', event: 'e', bucket, count: 3, by: { platform: { web: 1, ios: 2 }, country: { de: 3 } } })).toEqual({
      _id: 'd', event: 'e', bucket, count: 5, by: { platform: { web: 3, ios: 2 }, country: { de: 3 } },
    });
  });

  it.each(['constructor', 'toString', 'hasOwnProperty', 'valueOf'])('counts a breakdown value named %s as a number, never adding to the prototype\'s', (value) => {
    const sum = addCounters({ count: 1, by: { platform: { web: 1 } } }, { count: 1, by: { platform: { [value]: 2 }, [value]: { x: 1 } } });
    expect(sum).toEqual({ count: 2, by: { platform: { web: 1, [value]: 2 }, [value]: { x: 1 } } });
  });
});
