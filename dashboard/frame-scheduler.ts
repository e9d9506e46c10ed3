/**
 * Coalesces redraws to animation frames: any number of changes between two frames cost
 * one render. At 10,000 events/s the live feed still brings one sync per flush (50 ms);
 * each updates the model only, and the page draws at most once per frame (none while
 * the tab is hidden: browsers pause animation frames there).
 */
export class FrameScheduler {
  private pending = false;

  constructor(private readonly requestFrame: (callback: () => void) => void, private readonly render: () => void) {}

  invalidate(): void {
    if (this.pending) return;
    this.pending = true;
    this.requestFrame(() => {
      this.pending = false;
      this.render();
    });
  }
}
