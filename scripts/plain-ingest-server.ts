/**
 * The yardstick of `npm run bench:ingest`: a plain uWebSockets.js server that takes the
 * same `POST /v1/events` bodies and appends each as it came (no parsing, no validation,
 * no keys) as one entry to a Redis stream, answering 202 `{"accepted": BATCH}`. Driven by
 * the same k6 load on the same machine, it is what ingest's events/s compare with: the
 * same units (bodies of BATCH events), the same HTTP and Redis work minus ingest's own.
 * Settings: PORT, REDIS_URL, STREAM_KEY, BATCH. Prints `listening` once it listens; stops
 * on SIGTERM.
 */
import { createRedis } from '../core/redis.js';
import { uWS } from '../core/uws.js';

const port = Number(process.env.PORT);
const key = process.env.STREAM_KEY!;
const answer = JSON.stringify({ accepted: Number(process.env.BATCH ?? 50) });
const redis = createRedis(process.env.REDIS_URL!, 'plain-ingest', { enableAutoPipelining: true });

uWS
  .App()
  .post('/v1/events', (res) => {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    const chunks: Buffer[] = [];
    res.onData((chunk, last) => {
      // uWS reuses the chunk's memory once this returns: copy it.
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (!last) return;
      redis.xadd(key, 'MAXLEN', '~', '100000', '*', 'b', Buffer.concat(chunks)).then(
        () => void (aborted || res.cork(() => res.writeStatus('202 Accepted').writeHeader('content-type', 'application/json').end(answer))),
        () => void (aborted || res.cork(() => res.writeStatus('503 Service Unavailable').end())),
      );
    });
  })
  .listen('127.0.0.1', port, (listening) => {
    if (listening === false) {
      console.error(`plain-ingest-server: cannot listen on ${port}`);
      process.exit(1);
    }
    console.log('listening');
  });

process.once('SIGTERM', () => {
  redis.disconnect();
  process.exit(0);
});
