import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The repository: the build scripts run from scripts/ (tsx) or compiled from dist/scripts/ (`npm run build`), and read sources either way. */
export const REPO_ROOT = basename(dirname(HERE)) === 'dist' ? resolve(HERE, '..', '..') : resolve(HERE, '..');
