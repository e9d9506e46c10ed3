/**
 * npm run bench:ingest — Signalboard (`all`) against local Redis and MongoDB, k6 driving
 * POST /v1/events on the same machine; prints events/s accepted and latency.
 * Settings: BATCH (default 50), VUS (32), DURATION (30s).
 */
import { startBenchStack, runK6, log } from './bench-stack.js';
import { findK6 } from './local-services.js';

async function main(): Promise<void> {
  const batch = process.env.BATCH ?? '50';
  const vus = process.env.VUS ?? '32';
  const duration = process.env.DURATION ?? '30s';
  const k6 = findK6(log);
  const stack = await startBenchStack('all');
  try {
    log(`k6: ${vus} VUs, batches of ${batch}, ${duration}`);
    const summary = await runK6(k6, 'loadtest/ingest.js', { BASE_URL: stack.base, WRITE_KEY: stack.writeKey, BATCH: batch, VUS: vus, DURATION: duration });
    console.log(JSON.stringify({ benchmark: 'ingest', ...summary }, null, 2));
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
