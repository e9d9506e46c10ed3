import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBrowserSdk, GZIP_BUDGET_BYTES, type BuiltFile } from '../../scripts/build-sdk.js';

const API = ['init', 'track', 'page', 'identify', 'reset', 'optOut', 'optIn', 'flush', 'queueStatus'];

let outDir: string;
let built: BuiltFile[];
const file = (name: string) => {
  const found = built.find((b) => basename(b.file) === name);
  if (found === undefined) throw new Error(`${name} was not built (built: ${built.map((b) => b.file).join(', ')})`);
  return found;
};

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'signalboard-sdk-'));
  built = await buildBrowserSdk(outDir);
}, 30_000);
afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
});

describe('the browser build', () => {
  it('writes signalboard.min.js and signalboard.esm.js into the directory given', () => {
    expect(built.map((b) => b.file)).toEqual([join(outDir, 'signalboard.min.js'), join(outDir, 'signalboard.esm.js')]);
  });

  it(`keeps signalboard.min.js under ${GZIP_BUDGET_BYTES} bytes gzipped`, () => {
    const { gzipBytes, bytes } = file('signalboard.min.js');
    expect(gzipBytes).toBeGreaterThan(0);
    expect(gzipBytes).toBeLessThan(bytes);
    expect(gzipBytes).toBeLessThan(GZIP_BUDGET_BYTES);
  });

  it('defines the global signalboard with the whole API, and touches nothing else at load', async () => {
    const code = await readFile(file('signalboard.min.js').file, 'utf8');
    const window: Record<string, unknown> = {};
    vm.runInNewContext(code, { window });
    expect(Object.keys(window)).toEqual(['signalboard']);
    const api = window.signalboard as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual([...API].sort());
    expect(API.filter((name) => typeof api[name] !== 'function')).toEqual([]);
  });

  it('does nothing before init(): queueStatus() is empty and track() does not throw', async () => {
    const code = await readFile(file('signalboard.min.js').file, 'utf8');
    const window: Record<string, unknown> = {};
    vm.runInNewContext(code, { window });
    const api = window.signalboard as { track(event: string): void; queueStatus(): { queued: number; dropped: number } };
    expect(() => api.track('early')).not.toThrow();
    expect(api.queueStatus()).toEqual({ queued: 0, dropped: 0 });
  });

  it.each(['signalboard.min.js', 'signalboard.esm.js'])('targets ES2019 in %s: no __publicField helper, no optional chaining', async (name) => {
    const code = await readFile(file(name).file, 'utf8');
    expect(code).not.toContain('__publicField');
    expect(code).not.toContain('?.');
  });

  it('exports the API from the ES module build', async () => {
    const module = (await import(pathToFileURL(file('signalboard.esm.js').file).href)) as Record<string, unknown>;
    expect(Object.keys(module).sort()).toEqual([...API].sort());
    expect(API.filter((name) => typeof module[name] !== 'function')).toEqual([]);
  });
});
