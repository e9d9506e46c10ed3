/**
 * The browser SDK: `signalboard.min.js` (script tag, global `signalboard`) and
 * `signalboard.esm.js` are built from this file by scripts/build-sdk.ts. Calls before
 * init() do nothing; a second init() is ignored.
 */
import { createBrowserClient, type BrowserClient, type BrowserOptions } from './browser-client.js';
import { windowEnv } from './browser-env.js';
import type { Properties } from '../shared/event.js';

export type { BrowserOptions } from './browser-client.js';
export type { DeliveryError, DeliveryFailure } from '../shared/delivery-error.js';

let client: BrowserClient | undefined;

// No optional chaining: target ES2019 would spell out each `?.` (scripts/build-sdk.ts).
export function init(options: BrowserOptions): void {
  if (!client) client = createBrowserClient(windowEnv(), options);
}

export const track = (event: string, properties?: Properties): void => client && client.track(event, properties);
export const page = (properties?: Properties): void => client && client.page(properties);
export const identify = (userId: string, traits?: Properties): void => client && client.identify(userId, traits);
export const reset = (): void => client && client.reset();
export const optOut = (): void => client && client.optOut();
export const optIn = (): void => client && client.optIn();
export const flush = (): Promise<void> => (client ? client.flush() : Promise.resolve());
export const queueStatus = (): { queued: number; dropped: number } => (client ? client.queueStatus() : { queued: 0, dropped: 0 });
