// Request bodies for the k6 scripts: 64 batches of `batch` events over `names` and 5,000
// users, built once (building JSON in k6's JavaScript per request would cost more CPU
// than the server spends on it, on the same two cores). With `clientIds`, each event
// carries an eventId `@ID@-<i>`: the caller puts a per-request value in place of @ID@.
export function eventBodies(batch, names, clientIds = false) {
  const bodies = [];
  for (let b = 0; b < 64; b++) {
    const events = [];
    for (let i = 0; i < batch; i++) {
      const user = (b * batch + i) % 5000;
      events.push({
        event: names[(b + i) % names.length],
        userId: `user-${user}`,
        ...(clientIds ? { eventId: `@ID@-${i}` } : {}),
        properties: { path: `/page/${i % 40}`, plan: user % 3 === 0 ? 'pro' : 'free', amount: i * 3 },
        context: { platform: user % 2 === 0 ? 'web' : 'ios', appVersion: '4.2.0' },
      });
    }
    bodies.push(JSON.stringify(events));
  }
  return bodies;
}

/** Unique per VU and iteration: led by the time in hex (as UUIDv7), or by random hex (as UUIDv4). */
export function requestId(randomOrder = false) {
  const lead = randomOrder ? Math.random().toString(16).slice(2, 14).padEnd(12, '0') : Date.now().toString(16).padStart(12, '0');
  return `${lead}-${__VU}-${__ITER}`;
}

/**
 * The body to send from a template of eventBodies(..., true): with fresh eventIds led by
 * `id`, or (with probability `retry`) `previous` again whole, as a client retrying a lost
 * answer.
 */
export function withEventIds(template, previous, retry, id) {
  return previous !== undefined && Math.random() < retry ? previous : template.split('@ID@').join(id);
}

/**
 * A fresh body (ids led by `id`, `batch` events) in which each event, with probability
 * `late`, carries instead the eventId it had in an earlier request (a random one of the
 * ids in `earlier`): a resend of an event acknowledged then, scattered among new ones as an
 * SDK's offline queue sends them. Returns the body and how many events it resends.
 */
export function withLateEvents(body, id, earlier, late, batch) {
  let resent = 0;
  if (earlier.length === 0) return { body, resent };
  for (let i = 0; i < batch; i++) {
    if (Math.random() >= late) continue;
    body = body.replace(`"${id}-${i}"`, `"${earlier[Math.floor(Math.random() * earlier.length)]}-${i}"`);
    resent++;
  }
  return { body, resent };
}

/**
 * The events a 202 acknowledged for the first time, for the zero-loss accounting (each
 * event counted once): a retry (`retried`, the previous body sent again) adds only what
 * the earlier sends of that body had not got acknowledged (`before`).
 */
export function newlyAcknowledged(accepted, retried, before) {
  return retried ? Math.max(0, accepted - before) : accepted;
}
