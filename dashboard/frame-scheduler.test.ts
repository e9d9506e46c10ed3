import { describe, expect, it } from 'vitest';
import { FrameScheduler } from './frame-scheduler.js';

describe('FrameScheduler', () => {
  it('renders once per frame however many changes came', () => {
    const frames: (() => void)[] = [];
    let renders = 0;
    const scheduler = new FrameScheduler((cb) => frames.push(cb), () => renders++);
    for (let i = 0; i < 10_000; i++) scheduler.invalidate();
    expect(frames).toHaveLength(1);
    frames.shift()!();
    expect(renders).toBe(1);
    scheduler.invalidate();
    expect(frames).toHaveLength(1);
  });

  it('takes a change made while rendering into the next frame', () => {
    const frames: (() => void)[] = [];
    let renders = 0;
    const scheduler: FrameScheduler = new FrameScheduler((cb) => frames.push(cb), () => {
      renders++;
      if (renders === 1) scheduler.invalidate();
    });
    scheduler.invalidate();
    frames.shift()!();
    expect(frames).toHaveLength(1);
    frames.shift()!();
    expect(renders).toBe(2);
  });
});
