import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, headless (playwright-core downloads no browser). Without the
 * background-networking flags it keeps trying Google's hosts, which this machine's
 * closed network refuses.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  });
}
