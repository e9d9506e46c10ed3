import { describe, expect, it } from 'vitest';
import { WriteGate } from './write-gate.js';

describe('WriteGate', () => {
  it.each([1, 3])('never runs more than %i at once, even when callers arrive as a slot frees', async (limit) => {
    const gate = new WriteGate(limit);
    let running = 0;
    let most = 0;
    const work = () =>
      gate.run(async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 1));
        running--;
      });
    const first = Array.from({ length: 10 }, work);
    // Newcomers arriving while slots are being handed over.
    const late = first.map((p) => p.then(() => work()));
    await Promise.all([...first, ...late]);
    expect(most).toBe(limit);
  });
});
