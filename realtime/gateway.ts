import type { Db } from 'mongodb';
import { AlertStore } from '../model/alert-store.js';
import type { Config } from '../core/config.js';
import { SignalboardError } from '../core/errors.js';
import { upgradeWebSocket, type RequestInfo } from '../core/http.js';
import { readFeed, type FeedEntry } from '../live/feed.js';
import { FeedFollower, type LiveConsumer, type LiveProject } from '../live/feed-follower.js';
import { GRANULARITY_MS } from '../model/time-buckets.js';
import type { LiveNeeds } from '../live/cells.js';
import type { LiveFigures } from '../live/live-figures.js';
import type { Logger } from '../core/logger.js';
import type { ProjectAccess } from '../core/project-access.js';
import type { Project } from '../core/project-store.js';
import type { Redis } from '../core/redis.js';
import { closeIfTooLarge, payloadCeiling, type TemplatedApp, type WebSocket } from '../core/uws.js';
import { liveProtocol, type LiveProtocol } from './live-protocol.js';
import { LiveSender, out } from './live-sender.js';
import { resumeFeed } from './live-resume.js';
import { authenticated, catchingUp, countSubscribe, degraded, isSubscribed, newSocket, reset, resumeRefused, subscribed, unsubscribed, wentLive, type Live, type LiveSocket, type ResumePoint, type Subscription, type Waiting } from './live-session.js';
import { activeUsersMessage, CHANNELS, coalesce, PROTOCOL_VERSION, snapshotMessage, syncMessage, type Channel } from './live-messages.js';
import type { BufferedBytes, RealtimeMetrics } from './realtime-metrics.js';

type LiveWs = WebSocket<LiveSocket>;

const SLOW_SWEEP_MS = 1000;
/** uWS topics: `<project>/<channel>`, and `<project>/events/<name>` for filtered event subscriptions. */
function topicOf(projectId: string, channel: Channel | 'sync', event?: string): string {
  return event === undefined ? `${projectId}/${channel}` : `${projectId}/${channel}/${event}`;
}

const UWS_BACKPRESSURE_CEILING = 64 * 1024 * 1024;
const RESUME_AHEAD_WAIT_MS = 2000;
/** Messages may queue only behind a key check; a client that sends more before the welcome is not one of ours. */
const MAX_QUEUED_MESSAGES = 16;

export interface GatewayDeps {
  app: TemplatedApp;
  config: Config;
  logger: Logger;
  redis: Redis;
  redisUrl: string;
  db: Db;
  access: ProjectAccess;
  metrics: RealtimeMetrics;
}

/**
 * WebSocket /v1/live: dashboards subscribe to a project's channels and get a snapshot,
 * then deltas, coalesced once per LIVE_FLUSH_MS and fanned out with uWS topics
 * (`<project>/<channel>`); see docs/realtime.md for the protocol.
 */
export class LiveGateway implements LiveConsumer {
  private readonly live: FeedFollower;
  private readonly alerts: AlertStore;
  private readonly sockets = new Map<string, Set<LiveWs>>();
  private readonly perKey = new Map<string, number>();
  /**
   * Snapshots as built for a project's figures at one feed position: every subscriber of
   * the same channel, minute and reason without an event filter gets the same text, so a
   * crowd subscribing costs one build (with 4,000 names, 100 subscriptions once cost 1.25 s).
   */
  private readonly snapshots = new WeakMap<LiveFigures, { seq: number; built: Map<string, string> }>();
  /** Sockets waiting for their first message's key: they are limited, since anyone may open one. */
  private unauthenticated = 0;
  /** Sockets waiting for their key, per client address: one address cannot take every place. */
  private readonly waitingByAddress = new Map<string, number>();
  private open = 0;
  private readonly needsOfGateway: LiveNeeds;
  private readonly protocol: LiveProtocol;
  private readonly sender: LiveSender;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(private readonly deps: GatewayDeps) {
    this.alerts = new AlertStore(deps.db);
    const { config } = deps;
    this.needsOfGateway = { minutes: config.LIVE_WINDOW_MINUTES, dimensions: false, activity: true, retentionDays: config.LIVE_RETENTION_DAYS };
    this.protocol = liveProtocol({ maxEventFilter: config.LIVE_MAX_EVENT_FILTER });
    this.sender = new LiveSender({ maxBufferBytes: config.LIVE_MAX_BUFFER_BYTES, softBufferBytes: config.LIVE_SOFT_BUFFER_BYTES, slowCloseSeconds: config.LIVE_SLOW_CLOSE_SECONDS }, deps.metrics);
    this.live = new FeedFollower(
      { db: deps.db, redis: deps.redis, redisUrl: deps.redisUrl, prefix: config.REDIS_KEY_PREFIX, flushMs: config.LIVE_FLUSH_MS, settleTimeoutMs: config.LIVE_SETTLE_TIMEOUT_MS, logger: deps.logger },
      this,
    );
  }

  async start(): Promise<void> {
    this.register();
    await this.live.start();
    this.sweeper = setInterval(() => this.closeStuckSlowConsumers(), SLOW_SWEEP_MS);
  }

  async stop(): Promise<void> {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    for (const set of this.sockets.values()) for (const ws of set) if (!ws.getUserData().closing) ws.end(1001, 'gateway shutting down');
    await this.live.stop();
  }

  // ---- LiveConsumer -------------------------------------------------------------

  needs(): LiveNeeds {
    return this.needsOfGateway;
  }

  onReady(project: LiveProject): void {
    for (const ws of this.sockets.get(project.id) ?? []) if (ws.getUserData().session.phase === 'waiting') this.serve(ws);
  }

  onReset(project: LiveProject, reason: string): void {
    for (const ws of this.sockets.get(project.id) ?? []) {
      const s = ws.getUserData();
      if (!isSubscribed(s.session)) continue;
      this.leaveTopics(ws);
      reset(s, s.session, reason);
    }
  }

  onFlush(project: LiveProject, entries: readonly FeedEntry[], activeNowChanged: boolean): void {
    const state = project.state!;
    const { app, metrics, config } = this.deps;
    const now = Date.now();
    // Sockets that fell behind stop getting live messages before this flush adds to their buffer.
    for (const ws of this.sockets.get(project.id) ?? []) {
      const { session } = ws.getUserData();
      if (session.phase === 'live' && ws.getBufferedAmount() > config.LIVE_SOFT_BUFFER_BYTES) this.degrade(ws, session, entries.length === 0 ? state.seq : entries[0]!.seq - 1);
    }
    const feed = coalesce(entries, state.seq, now);
    metrics.coalesced.inc(feed.merged);
    const published = new Set<string>();
    const publish = (topic: string, channel: Channel | 'sync', type: string, message: string): boolean => {
      const receivers = app.numSubscribers(topic);
      if (receivers === 0) return false;
      app.publish(topic, message);
      metrics.messages.inc({ channel, type }, receivers);
      return true;
    };
    for (const { event, message } of feed.events) {
      if (publish(topicOf(project.id, 'events'), 'events', 'delta', message)) published.add(event);
      if (publish(topicOf(project.id, 'events', event), 'events', 'delta', message)) published.add(event);
    }
    for (const message of feed.retention) publish(topicOf(project.id, 'retention'), 'retention', 'delta', message);
    for (const message of feed.alerts) publish(topicOf(project.id, 'alerts'), 'alerts', 'alert', message);
    if (feed.activityChanged || activeNowChanged) publish(topicOf(project.id, 'activeUsers'), 'activeUsers', 'delta', activeUsersMessage(state, project.activeNow, now));
    // Ends the flush: a client that lost the connection mid-flush resumes from the last sync it got.
    publish(topicOf(project.id, 'sync'), 'sync', 'sync', syncMessage(state.seq, project.epoch));
    // A delta counts once some dashboard got one of its events.
    for (const d of feed.delays) if (d.events.some((e) => published.has(e))) metrics.delay.observe((now - d.receivedAt) / 1000);
  }

  // ---- sockets ------------------------------------------------------------------

  private register(): void {
    const { app, config } = this.deps;
    app.ws<LiveSocket>('/v1/live', {
      maxPayloadLength: payloadCeiling(config.LIVE_MAX_MESSAGE_BYTES),
      // The limits are kept here (send, sendAnswer, the flush's check); uWS's own, far
      // above them, only stops a runaway socket, by closing it rather than dropping messages.
      maxBackpressure: Math.max(4 * config.LIVE_MAX_BUFFER_BYTES, UWS_BACKPRESSURE_CEILING),
      closeOnBackpressureLimit: 1,
      idleTimeout: 60,
      sendPingsAutomatically: true,
      upgrade: upgradeWebSocket<LiveSocket>(this.deps.logger, (req) => this.admit(req), (err) => this.deps.metrics.refused.inc({ code: err.code })),
      open: (ws) => this.opened(ws),
      message: (ws, message) => {
        if (closeIfTooLarge(ws, message, config.LIVE_MAX_MESSAGE_BYTES, 'LIVE_MAX_MESSAGE_BYTES')) {
          this.deps.metrics.refused.inc({ code: 'SB_LIVE_MESSAGE_INVALID' });
          return;
        }
        const s = ws.getUserData();
        // Only a key check makes messages wait; once authenticated each is handled at once.
        if (s.session.phase === 'auth' && s.queued >= MAX_QUEUED_MESSAGES) {
          this.fail(ws, new SignalboardError('SB_LIVE_MESSAGE_INVALID', `more than ${MAX_QUEUED_MESSAGES} messages sent before the key was checked; wait for the welcome`));
          return;
        }
        const text = Buffer.from(message).toString('utf8');
        s.queued++;
        s.inbox = s.inbox
          .then(() => this.received(ws, text))
          .catch((err: unknown) => this.fail(ws, err))
          // The chain must never hold a rejection: it would stop every later message and crash Node.
          .catch((err: unknown) => this.deps.logger.error({ err }, 'live: refusing a message failed'))
          .finally(() => s.queued--);
      },
      drain: (ws) => {
        if (ws.getUserData().session.phase === 'lagging' && ws.getBufferedAmount() < config.LIVE_SOFT_BUFFER_BYTES / 2) this.catchUp(ws);
      },
      close: (ws) => this.closed(ws),
    });
  }

  /** Checks a key given in the URL or a header; without one, the first message must carry it. */
  private async admit({ headers, query, remoteAddress }: RequestInfo): Promise<LiveSocket> {
    const project = headers.authorization === undefined && !query.has('key') ? null : await this.deps.access.resolve(headers, query, 'read', remoteAddress);
    return newSocket(project, this.deps.access.clientOf(headers, remoteAddress));
  }

  private opened(ws: LiveWs): void {
    const s = ws.getUserData();
    const { config } = this.deps;
    this.deps.metrics.connections.inc();
    this.open++;
    if (this.open > config.LIVE_MAX_CONNECTIONS) {
      this.overloaded(ws, `this gateway already has ${config.LIVE_MAX_CONNECTIONS} live connections (LIVE_MAX_CONNECTIONS); retry, or another gateway`);
      return;
    }
    if (s.session.phase === 'auth' && s.session.admitted !== null) {
      this.authenticated(ws, s.session.admitted);
      return;
    }
    if (this.unauthenticated >= config.LIVE_MAX_UNAUTHENTICATED) {
      this.overloaded(ws, `${config.LIVE_MAX_UNAUTHENTICATED} connections already wait for their key on this gateway (LIVE_MAX_UNAUTHENTICATED); retry, or give the key in the URL`);
      return;
    }
    const waiting = this.waitingByAddress.get(s.client) ?? 0;
    if (waiting >= config.LIVE_MAX_UNAUTHENTICATED_PER_ADDRESS) {
      this.overloaded(ws, `${waiting} connections from this address already wait for their key (LIVE_MAX_UNAUTHENTICATED_PER_ADDRESS); send the key first, or give it in the URL`);
      return;
    }
    this.waitingByAddress.set(s.client, waiting + 1);
    this.unauthenticated++;
    s.authTimer = setTimeout(() => {
      if (!s.closed && s.session.phase === 'auth') this.sender.closeWith(ws, new SignalboardError('SB_AUTH_MISSING', `send {"type": "auth", "key": "<readKey>"} within ${this.deps.config.LIVE_AUTH_TIMEOUT_SECONDS} s, or the key as ?key=`));
    }, this.deps.config.LIVE_AUTH_TIMEOUT_SECONDS * 1000);
  }

  private overloaded(ws: LiveWs, message: string): void {
    this.deps.metrics.refused.inc({ code: 'SB_OVERLOADED' });
    this.sender.closeWith(ws, new SignalboardError('SB_OVERLOADED', message, { retryAfterSeconds: 1 }));
  }

  /** A socket that waited for its key stops waiting (authenticated or closed). */
  private stopWaiting(s: LiveSocket): void {
    if (s.authTimer === null) return;
    clearTimeout(s.authTimer);
    s.authTimer = null;
    this.unauthenticated--;
    const waiting = (this.waitingByAddress.get(s.client) ?? 1) - 1;
    if (waiting === 0) this.waitingByAddress.delete(s.client);
    else this.waitingByAddress.set(s.client, waiting);
  }

  /** Counts the connection against its key, joins the project and says hello. */
  private authenticated(ws: LiveWs, project: Project): void {
    const s = ws.getUserData();
    this.stopWaiting(s);
    const count = (this.perKey.get(project.id) ?? 0) + 1;
    authenticated(s, project);
    this.perKey.set(project.id, count);
    let set = this.sockets.get(project.id);
    if (set === undefined) this.sockets.set(project.id, (set = new Set()));
    set.add(ws);
    if (count > this.deps.config.LIVE_MAX_CONNECTIONS_PER_KEY) {
      this.sender.closeWith(ws, new SignalboardError('SB_LIVE_TOO_MANY_CONNECTIONS', `this key already has ${this.deps.config.LIVE_MAX_CONNECTIONS_PER_KEY} live connections on this gateway (LIVE_MAX_CONNECTIONS_PER_KEY)`));
      return;
    }
    this.sender.send(ws, out('welcome', 'none', JSON.stringify({ type: 'welcome', protocol: PROTOCOL_VERSION, project: project.id, channels: CHANNELS })));
  }

  private closed(ws: LiveWs): void {
    const s = ws.getUserData();
    s.closed = true;
    this.stopWaiting(s);
    this.deps.metrics.connections.dec();
    this.open--;
    const { session } = s;
    if (session.phase === 'auth') return;
    const id = session.project.id;
    this.perKey.set(id, (this.perKey.get(id) ?? 1) - 1);
    if (this.perKey.get(id) === 0) this.perKey.delete(id);
    const set = this.sockets.get(id);
    set?.delete(ws);
    if (set?.size === 0) this.sockets.delete(id);
    if (isSubscribed(session)) this.live.unwatch(id);
  }

  private async received(ws: LiveWs, text: string): Promise<void> {
    const s = ws.getUserData();
    const { type, key, project: named, body } = this.protocol.read(text);
    if (s.session.phase === 'auth') {
      if ((type !== 'auth' && type !== 'subscribe') || key === undefined) {
        throw new SignalboardError('SB_AUTH_MISSING', 'the first message must be {"type": "auth", "key": "<readKey>"} (or a subscribe carrying "key")');
      }
      const project = await this.deps.access.resolve({ authorization: `Bearer ${key}` }, new URLSearchParams(named === undefined ? {} : { project: named }), 'read', s.client);
      if (s.closed) return;
      if (s.session.phase === 'auth') this.authenticated(ws, project);
      if (type === 'auth' || s.closed) return;
    } else if (type === 'auth') {
      throw new SignalboardError('SB_LIVE_MESSAGE_INVALID', 'this connection is already authenticated');
    }
    if (type === 'subscribe') return this.subscribe(ws, body);
    if (type === 'unsubscribe') return this.unsubscribe(ws, body);
    if (type === 'ping') {
      this.sender.send(ws, out('pong', 'none', JSON.stringify({ type: 'pong', seq: this.positionOf(ws), time: Date.now() })));
      return;
    }
    throw new SignalboardError('SB_LIVE_MESSAGE_INVALID', `unknown message type ${JSON.stringify(type).slice(0, 50)}; expected auth, subscribe, unsubscribe or ping`);
  }

  private subscribe(ws: LiveWs, body: unknown): void {
    const s = ws.getUserData();
    if (countSubscribe(s, Date.now()) > this.deps.config.LIVE_MAX_SUBSCRIBES_PER_MINUTE) {
      throw new SignalboardError('SB_LIVE_TOO_MANY_SUBSCRIPTIONS', `more than ${this.deps.config.LIVE_MAX_SUBSCRIBES_PER_MINUTE} subscribe messages this minute (LIVE_MAX_SUBSCRIBES_PER_MINUTE); keep one subscription and resume after reconnects`);
    }
    const from = s.session;
    if (from.phase === 'auth') return;
    const { channels, filter, resume, epoch, project } = this.protocol.subscribe(body);
    if (project !== undefined && project !== from.project.id) {
      throw new SignalboardError('SB_LIVE_FORBIDDEN', `this key belongs to project ${from.project.id}; it cannot subscribe to project ${project}`);
    }
    this.leaveTopics(ws);
    if (!isSubscribed(from)) this.live.watch(from.project.id);
    subscribed(s, from, { channels, events: filter?.events, resume: resume === undefined ? null : { after: resume, epoch } });
    if (this.live.get(from.project.id)?.ready === true) this.serve(ws);
  }

  private unsubscribe(ws: LiveWs, body: unknown): void {
    const s = ws.getUserData();
    const from = s.session;
    const named = this.protocol.unsubscribe(body);
    const leave = new Set(named ?? (isSubscribed(from) ? from.subscription.channels : []));
    if (isSubscribed(from)) {
      this.leaveTopics(ws);
      unsubscribed(s, from, leave);
      if (s.session.phase === 'idle') this.live.unwatch(from.project.id);
      else if (s.session.phase === 'live') this.joinTopics(ws, s.session);
    }
    this.sender.send(ws, out('unsubscribed', 'none', JSON.stringify({ type: 'unsubscribed', channels: [...leave] })));
  }

  /** Answers a subscription: a resume when asked and possible, else snapshots; then live. */
  private serve(ws: LiveWs): void {
    const s = ws.getUserData();
    const session = s.session;
    if (session.phase !== 'waiting') return;
    if (session.resume !== null) {
      void this.resumeFrom(ws, session, session.resume, s.generation).catch((err: unknown) => this.fail(ws, err));
      return;
    }
    const { subscription: { channels, filter }, reason } = session;
    const project = this.live.get(session.project.id)!;
    const state = project.state!;
    const now = Date.now();
    const answer = [out('subscribed', 'none', JSON.stringify({ type: 'subscribed', seq: state.seq, epoch: project.epoch, channels: [...channels], resumed: false, ...(reason === undefined ? {} : { reason }) }))];
    for (const channel of channels) {
      if (channel !== 'alerts') answer.push(out('snapshot', channel, this.snapshot(channel, project, state, now, channel === 'events' ? filter : null, reason)));
    }
    answer.push(out('sync', 'sync', syncMessage(state.seq, project.epoch)));
    if (!this.sender.sendAnswer(ws, answer)) return;
    this.goLive(ws);
    if (channels.has('alerts')) void this.sendAlertsSnapshot(ws, session.project.id, state.seq, s.generation).catch((err: unknown) => this.fail(ws, err));
  }

  private snapshot(channel: Exclude<Channel, 'alerts'>, project: LiveProject, state: LiveFigures, now: number, filter: ReadonlySet<string> | null, reason: string | undefined): string {
    const build = () => {
      this.deps.metrics.snapshotBuilds.inc({ channel });
      return snapshotMessage(channel, state, project.needs, project.activeNow, now, filter, reason);
    };
    if (filter !== null) return build();
    let memo = this.snapshots.get(state);
    if (memo === undefined || memo.seq !== state.seq) this.snapshots.set(state, (memo = { seq: state.seq, built: new Map() }));
    // A snapshot depends on the time only through its minute (the window) and day.
    const key = JSON.stringify([channel, Math.floor(now / GRANULARITY_MS.minute), project.activeNow, reason ?? null]);
    let text = memo.built.get(key);
    if (text === undefined) memo.built.set(key, (text = build()));
    return text;
  }

  /**
   * Deltas after `since` from the feed, coalesced page by page (a resume holds the
   * figures, never the entries); a snapshot when they are gone, span a reset, or belong
   * to another feed. Runs for the waiting session of `generation`: any change drops it.
   */
  private async resumeFrom(ws: LiveWs, from: Waiting, { after: since, epoch }: ResumePoint, generation: number): Promise<void> {
    const s = ws.getUserData();
    // The session as it is now (an unsubscribe may have left channels), while still the one this answer is for.
    const waiting = (): Waiting | null => (!s.closed && s.generation === generation && s.session.phase === 'waiting' ? s.session : null);
    const current = () => waiting() !== null;
    const project = this.live.get(from.project.id)!;
    const snapshotInstead = (reason: string) => {
      const now = waiting();
      if (now === null) return;
      resumeRefused(s, now, reason);
      // While the project reloads, onReady serves the waiting socket.
      if (project.ready) this.serve(ws);
    };
    // A client from a faster gateway: its seq, or the epoch its syncs told it, may be just
    // ahead of this gateway's. Wait for them briefly.
    const aheadUntil = Date.now() + RESUME_AHEAD_WAIT_MS;
    const ahead = () => project.state !== null && (since > project.state.seq || (project.epoch === null && typeof epoch === 'string'));
    while (ahead() && Date.now() < aheadUntil) {
      await new Promise((resolve) => setTimeout(resolve, this.deps.config.LIVE_FLUSH_MS));
      if (!current()) return;
    }
    // A seq means something only in its feed: without the epoch it came with, snapshots.
    const epochKnown = epoch === project.epoch || (epoch === null && since === 0);
    if (!epochKnown) return snapshotInstead('resume-unknown-seq');
    const outcome = await resumeFeed(since, {
      position: () => (project.ready ? project.state?.seq : undefined),
      readPage: (after, to) => readFeed(this.deps.redis, this.deps.config.REDIS_KEY_PREFIX, project.id, after, this.deps.config.LIVE_RESUME_PAGE_ENTRIES, to),
      current,
    }, Date.now());
    if (outcome.kind === 'reloading' || outcome.kind === 'stale') return; // a reload: onReady answers
    if (outcome.kind === 'snapshot') return snapshotInstead(outcome.reason);
    const { feed, seq } = outcome;
    const state = project.state!;
    const session = waiting();
    if (session === null) return;
    const { channels, filter } = session.subscription;
    const answer = [out('subscribed', 'none', JSON.stringify({ type: 'subscribed', seq, epoch: project.epoch, channels: [...channels], resumed: true, from: since }))];
    if (channels.has('events')) for (const { event, message } of feed.events) if (filter === null || filter.has(event)) answer.push(out('delta', 'events', message));
    if (channels.has('retention')) for (const message of feed.retention) answer.push(out('delta', 'retention', message));
    if (channels.has('alerts')) for (const message of feed.alerts) answer.push(out('alert', 'alerts', message));
    if (channels.has('activeUsers')) answer.push(out('delta', 'activeUsers', activeUsersMessage(state, project.activeNow, Date.now())));
    answer.push(out('sync', 'sync', syncMessage(seq, project.epoch)));
    if (!this.sender.sendAnswer(ws, answer)) return;
    this.goLive(ws);
  }

  private async sendAlertsSnapshot(ws: LiveWs, projectId: string, seq: number, generation: number): Promise<void> {
    const s = ws.getUserData();
    const firing = await this.alerts.firingStates(projectId);
    if (s.closed || s.generation !== generation) return;
    this.sender.send(ws, out('snapshot', 'alerts', JSON.stringify({ type: 'snapshot', seq, channel: 'alerts', firing })));
  }

  private goLive(ws: LiveWs): void {
    const s = ws.getUserData();
    if (s.closed || s.session.phase !== 'waiting') return;
    wentLive(s, s.session);
    this.joinTopics(ws, s.session);
  }

  /** What the socket has been sent up to: never a seq whose messages it did not get. */
  private positionOf(ws: LiveWs): number | null {
    const { session } = ws.getUserData();
    if (session.phase === 'lagging') return session.sentSeq;
    return session.phase === 'live' ? (this.live.get(session.project.id)?.state?.seq ?? null) : null;
  }

  private joinTopics(ws: LiveWs, { project, subscription }: { project: Project; subscription: Subscription }): void {
    ws.subscribe(topicOf(project.id, 'sync'));
    for (const channel of subscription.channels) {
      if (channel === 'events' && subscription.filter !== null) for (const event of subscription.filter) ws.subscribe(topicOf(project.id, 'events', event));
      else ws.subscribe(topicOf(project.id, channel));
    }
  }

  private leaveTopics(ws: LiveWs): void {
    if (ws.getUserData().closed) return;
    for (const topic of ws.getTopics()) ws.unsubscribe(topic);
  }

  // ---- slow consumers -------------------------------------------------------------

  bufferedBytes(): BufferedBytes {
    let total = 0;
    let max = 0;
    for (const set of this.sockets.values()) {
      for (const ws of set) {
        if (ws.getUserData().closed) continue;
        const n = ws.getBufferedAmount();
        total += n;
        if (n > max) max = n;
      }
    }
    return { total, max };
  }

  /** Stops live messages to a socket that isn't reading; it gets one coalesced catch-up when it drains. */
  private degrade(ws: LiveWs, from: Live, sentSeq: number): void {
    this.leaveTopics(ws);
    degraded(ws.getUserData(), from, sentSeq, Date.now());
    this.deps.metrics.slowConsumers.inc({ action: 'degraded' });
    this.deps.logger.debug({ project: from.project.id, sentSeq, buffered: ws.getBufferedAmount() }, 'live: slow socket; live messages stopped until it drains');
  }

  private catchUp(ws: LiveWs): void {
    const s = ws.getUserData();
    const from = s.session;
    if (from.phase !== 'lagging') return;
    this.deps.logger.debug({ project: from.project.id, sentSeq: from.sentSeq }, 'live: slow socket drained; catching up');
    // A lost feed resets lagging sockets (onReset), so the sent seq belongs to the current epoch.
    catchingUp(s, from, this.live.get(from.project.id)?.epoch);
    if (this.live.get(from.project.id)?.ready === true) this.serve(ws);
  }

  private closeStuckSlowConsumers(): void {
    const limit = Date.now() - this.deps.config.LIVE_SLOW_CLOSE_SECONDS * 1000;
    for (const set of this.sockets.values()) {
      for (const ws of set) {
        const { session } = ws.getUserData();
        if (session.phase === 'lagging' && session.since < limit) this.sender.closeSlow(ws);
      }
    }
  }

  // ---- errors ---------------------------------------------------------------------

  private asError(err: unknown): SignalboardError {
    if (err instanceof SignalboardError) return err;
    this.deps.logger.error({ err }, 'live gateway failure');
    return new SignalboardError('SB_INTERNAL', 'internal error; see the server log');
  }

  /** Refuses one message: the socket stays open, except while unauthenticated. */
  private fail(ws: LiveWs, err: unknown): void {
    const error = this.asError(err);
    const s = ws.getUserData();
    this.deps.metrics.refused.inc({ code: error.code });
    if (s.session.phase === 'auth' || error.code === 'SB_AUTH_INVALID' || error.code === 'SB_AUTH_WRONG_KEY') {
      this.sender.closeWith(ws, error);
      return;
    }
    this.sender.send(ws, out('error', 'none', JSON.stringify({ type: 'error', error: error.toJSON() })));
  }
}
