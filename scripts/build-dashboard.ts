import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildBrowserSdk } from './build-sdk.js';
import { REPO_ROOT as ROOT } from './repo-root.js';

/**
 * Builds the dashboard (dashboard/) into static files: `index.html`, and under
 * `assets/` the bundled, minified script and stylesheet (uPlot's CSS included) named
 * with their content hash, so they can be cached for good (api/dashboard-routes.ts);
 * and under `sdk/` the browser SDK (scripts/build-sdk.ts), which the api role serves
 * beside the dashboard for script tags.
 *
 *   npx tsx scripts/build-dashboard.ts [outDir]     (default dist/dashboard)
 */

const SOURCE = join(ROOT, 'dashboard');

export async function buildDashboard(outDir: string): Promise<void> {
  const out = resolve(outDir);
  const assets = join(out, 'assets');
  // Only what a previous build wrote: hashed names would otherwise pile up.
  await rm(assets, { recursive: true, force: true });
  await rm(join(out, 'index.html'), { force: true });
  await mkdir(assets, { recursive: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { app: join(SOURCE, 'main.ts'), style: join(SOURCE, 'styles.css') },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    outdir: assets,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
    tsconfig: join(SOURCE, 'tsconfig.json'),
  });
  const outputs = Object.entries(result.metafile.outputs);
  const entry = (name: string, ext: string) => {
    const found = outputs.find(([path, o]) => o.entryPoint !== undefined && basename(o.entryPoint) === name && path.endsWith(ext));
    if (found === undefined) throw new Error(`the dashboard build made no output for ${name}`);
    return `assets/${basename(found[0])}`;
  };
  const template = await readFile(join(SOURCE, 'index.html'), 'utf8');
  // Relative paths: the page works behind a proxy that serves it under a path prefix.
  const html = template.replace('%SCRIPT%', entry('main.ts', '.js')).replace('%STYLE%', entry('styles.css', '.css'));
  await writeFile(join(out, 'index.html'), html);
  await buildBrowserSdk(join(out, 'sdk'));
}

function displayPath(dir: string): string {
  const path = relative(process.cwd(), resolve(dir));
  return path === '' ? '.' : path.startsWith('..') ? resolve(dir) : path;
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const outDir = process.argv[2] ?? join(ROOT, 'dist', 'dashboard');
  const started = Date.now();
  buildDashboard(outDir).then(
    () => console.log(`dashboard built into ${displayPath(outDir)} in ${Date.now() - started} ms`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
