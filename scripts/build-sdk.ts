/**
 * Builds the browser SDK with esbuild:
 * - signalboard.min.js: an IIFE for a script tag that defines the global `signalboard`
 *   (sdk/browser/script-tag.ts);
 * - signalboard.esm.js: an ES module (sdk/browser/index.ts);
 * both minified for ES2019 browsers. Run directly it prints their sizes:
 *
 *   npx tsx scripts/build-sdk.ts [outDir]     (default dist/sdk)
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Format } from 'esbuild';
import { REPO_ROOT } from './repo-root.js';

const source = (file: string) => join(REPO_ROOT, 'sdk', 'browser', file);

/** The budget the size test holds the script-tag build to (docs/sdk.md). */
export const GZIP_BUDGET_BYTES = 5120;

const OUTPUTS: ReadonlyArray<{ file: string; entry: string; format: Format }> = [
  { file: 'signalboard.min.js', entry: source('script-tag.ts'), format: 'iife' },
  { file: 'signalboard.esm.js', entry: source('index.ts'), format: 'esm' },
];

export interface BuiltFile {
  file: string;
  bytes: number;
  /** As a server sends it with gzip at zlib's default level (6). */
  gzipBytes: number;
}

export async function buildBrowserSdk(outDir: string): Promise<BuiltFile[]> {
  await mkdir(outDir, { recursive: true });
  const built: BuiltFile[] = [];
  for (const { file, entry, format } of OUTPUTS) {
    const outfile = join(outDir, file);
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      minify: true,
      format,
      platform: 'browser',
      target: 'es2019',
      // Class fields as assignments: defined fields would need esbuild's __publicField helper in ES2019.
      tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
      legalComments: 'none',
      logLevel: 'warning',
    });
    const code = await readFile(outfile);
    built.push({ file: outfile, bytes: code.length, gzipBytes: gzipSync(code).length });
  }
  return built;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ?? 'dist/sdk';
  for (const { file, bytes, gzipBytes } of await buildBrowserSdk(outDir)) {
    console.log(`${file}: ${bytes} bytes, ${gzipBytes} bytes gzipped${file.endsWith('.min.js') ? ` (budget ${GZIP_BUDGET_BYTES})` : ''}`);
  }
}
