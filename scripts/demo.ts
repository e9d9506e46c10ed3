/**
 * `npm run demo`: fills a running Signalboard with a made-up shop so the dashboard has
 * something to show. It creates the project "Demo shop" (once: its keys are kept in
 * DATA_DIR/demo-project.json), backfills the last 30 days (retention needs them; the
 * eventIds are fixed, so running it again counts nothing twice), adds an alert rule,
 * prints the dashboard's address with the read key, then sends live traffic at a
 * daily rhythm until DEMO_MINUTES (10) have passed or Ctrl-C.
 *
 * SIGNALBOARD_URL (default http://127.0.0.1:$PORT, 8080), ADMIN_TOKEN or the token in
 * DATA_DIR/credentials.json, DEMO_USERS (300), DEMO_DAYS (30).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { backfill, hourWeight, seededRandom, visit, type DemoEvent } from './demo-traffic.js';

interface DemoProject {
  url: string;
  id: string;
  writeKey: string;
  readKey: string;
  adminKey: string;
}

const dataDir = process.env.DATA_DIR ?? '.data';
const baseUrl = (process.env.SIGNALBOARD_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8080}`).replace(/\/$/, '');
const users = Number(process.env.DEMO_USERS ?? 300);
const days = Number(process.env.DEMO_DAYS ?? 30);
const minutes = Number(process.env.DEMO_MINUTES ?? 10);
const BATCH = 500;

async function adminToken(): Promise<string> {
  if (process.env.ADMIN_TOKEN !== undefined) return process.env.ADMIN_TOKEN;
  const path = join(dataDir, 'credentials.json');
  try {
    return (JSON.parse(await readFile(path, 'utf8')) as { adminToken: string }).adminToken;
  } catch {
    throw new Error(`no admin token: set ADMIN_TOKEN, or start Signalboard once (npm start) so that ${path} exists`);
  }
}

async function waitUntilReady(): Promise<void> {
  const deadline = Date.now() + 120_000;
  let said = false;
  for (;;) {
    const ready = await fetch(`${baseUrl}/readyz`).then((r) => r.ok, () => false);
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`Signalboard at ${baseUrl} is not ready after 2 minutes; is it running (npm start)?`);
    if (!said) console.log(`waiting for Signalboard at ${baseUrl} (start it with npm start)...`);
    said = true;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function call(path: string, key: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = (await res.json()) as unknown;
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** The demo project of this DATA_DIR and server, created on the first run. */
async function demoProject(): Promise<DemoProject> {
  const path = join(dataDir, 'demo-project.json');
  const saved = await readFile(path, 'utf8').then((text) => JSON.parse(text) as DemoProject, () => undefined);
  if (saved !== undefined && saved.url === baseUrl) {
    const known = await fetch(`${baseUrl}/v1/metrics/active-users?from=${new Date().toISOString().slice(0, 10)}&to=${new Date().toISOString().slice(0, 10)}`, { headers: { authorization: `Bearer ${saved.readKey}` } });
    if (known.ok) return saved;
  }
  const created = (await call('/v1/projects', await adminToken(), { name: 'Demo shop' })) as Omit<DemoProject, 'url'>;
  const project = { url: baseUrl, ...created };
  await writeFile(path, `${JSON.stringify(project, null, 2)}\n`, { mode: 0o600 });
  await call('/v1/alerts', project.adminKey, {
    name: 'purchases busy',
    metric: { type: 'count', event: 'purchase' },
    condition: { kind: 'threshold', op: '>=', value: 5, window: '5m' },
  });
  return project;
}

async function send(project: DemoProject, events: readonly DemoEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += BATCH) {
    const answer = (await call('/v1/events', project.writeKey, { batch: events.slice(i, i + BATCH) })) as { rejected: unknown[] };
    if (answer.rejected.length > 0) throw new Error(`events rejected: ${JSON.stringify(answer.rejected.slice(0, 3))}`);
  }
}

async function main(): Promise<void> {
  await waitUntilReady();
  const project = await demoProject();
  const past = backfill(users, days, Date.now());
  console.log(`backfilling ${past.length} events of ${users} users over the last ${days} days...`);
  await send(project, past);
  console.log(`\nDashboard: ${baseUrl}/#key=${project.readKey}\n`);
  console.log(`sending live traffic for ${minutes} minutes (Ctrl-C stops)...`);

  const random = seededRandom(Date.now());
  const until = Date.now() + minutes * 60_000;
  let stopping = false;
  process.once('SIGINT', () => {
    stopping = true;
  });
  let sent = 0;
  for (let tick = 0; !stopping && Date.now() < until; tick++) {
    const now = Date.now();
    // Up to four visits a second at the peak (about six events a second), fewer at night.
    const visits = Math.round(hourWeight(new Date(now).getUTCHours()) * 4 * random());
    const events = Array.from({ length: visits }, (_, i) => visit(random, `demo-user-${Math.floor(random() * users * 1.2)}`, now, `live-${now}-${i}`)).flat();
    if (events.length > 0) {
      await send(project, events.map((e) => ({ ...e, timestamp: Math.min(e.timestamp, now) })));
      sent += events.length;
    }
    if (tick % 60 === 0) console.log(`${new Date(now).toISOString()}: ${sent} live events sent`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  console.log(`done: ${sent} live events sent. The dashboard: ${baseUrl}/#key=${project.readKey}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
