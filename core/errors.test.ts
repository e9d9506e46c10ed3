import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG, SignalboardError } from './errors.js';

const documented = new Map(
  [...readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8').matchAll(/^\| `(SB_[A-Z_]+)` \| (\d{3}|—) \|/gm)].map((m) => [m[1]!, m[2]!]),
);

describe('error catalog', () => {
  it('documents every code in docs/api.md with its HTTP status, and nothing else', () => {
    for (const [code, { status }] of Object.entries(ERROR_CATALOG)) {
      expect(documented.has(code), `${code} is not in docs/api.md`).toBe(true);
      if (documented.get(code) !== '—') expect(documented.get(code), code).toBe(String(status));
    }
    expect([...documented.keys()].sort()).toEqual(Object.keys(ERROR_CATALOG).sort());
  });

  it('gives each code one HTTP status and a WebSocket close code in the application range', () => {
    for (const code of Object.keys(ERROR_CATALOG) as Array<keyof typeof ERROR_CATALOG>) {
      const err = new SignalboardError(code, 'x');
      expect(err.status).toBeGreaterThanOrEqual(400);
      expect(err.wsCloseCode).toBeGreaterThanOrEqual(4000);
      expect(err.wsCloseCode).toBeLessThan(5000);
    }
  });

  it('marks exactly the temporary refusals as retriable', () => {
    const retriable = Object.entries(ERROR_CATALOG).filter(([, e]) => e.retriable).map(([code]) => code);
    expect(retriable.sort()).toEqual(['SB_AUTH_THROTTLED', 'SB_INTERNAL', 'SB_LIVE_SLOW_CONSUMER', 'SB_LIVE_TOO_MANY_CONNECTIONS', 'SB_OVERLOADED', 'SB_RATE_LIMITED', 'SB_RECOMPUTE_BUSY', 'SB_REPORT_TIMEOUT', 'SB_SHUTTING_DOWN', 'SB_STORAGE_UNAVAILABLE']);
  });
});
