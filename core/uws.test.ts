import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { assertNativeUws, isNativeUws } from './uws.js';

describe('uWebSockets.js native check', () => {
  it('recognises the native binary this machine loads', () => {
    expect(isNativeUws()).toBe(true);
    expect(() => assertNativeUws(false)).not.toThrow();
  });

  it('recognises the slow JavaScript fallback the package swaps in silently', () => {
    // The package's own fallback module, as it loads when the binary fails.
    const fallback = createRequire(import.meta.url)('uWebSockets.js/dist/index.js') as object;
    expect(isNativeUws(fallback)).toBe(false);
  });
});
