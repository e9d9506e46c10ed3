import { describe, expect, it } from 'vitest';
import { keyFromHash, keyHint } from './read-key.js';

describe('the key in the address', () => {
  it.each([
    ['#key=sbr_abc', 'sbr_abc', ''],
    ['#key=sbr_abc&view=retention', 'sbr_abc', '#view=retention'],
    ['#view=x&key=sbr_abc', 'sbr_abc', '#view=x'],
    ['#key=%20sbr_abc%20', 'sbr_abc', ''],
    ['#key=', undefined, ''],
    ['', undefined, ''],
    ['#other=1', undefined, '#other=1'],
  ])('%j gives the key %j and leaves %j', (hash, key, rest) => {
    expect(keyFromHash(hash)).toEqual({ key, rest });
  });

  it('says which key was given when it is not a read key', () => {
    expect(keyHint('sbw_x')).toMatch(/write key/);
    expect(keyHint('sba_x')).toMatch(/admin key/);
    expect(keyHint('sbr_x')).toBeUndefined();
  });
});
