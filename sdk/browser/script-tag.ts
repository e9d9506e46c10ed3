/**
 * The script-tag build's entry (signalboard.min.js): the API as the global `signalboard`.
 * A plain object rather than esbuild's `globalName`, whose module wrapper costs about
 * 150 bytes gzipped of the 5 KB budget.
 */
import { flush, identify, init, optIn, optOut, page, queueStatus, reset, track } from './index.js';

(window as unknown as { signalboard: object }).signalboard = { init, track, page, identify, reset, optOut, optIn, flush, queueStatus };
