import { createHash, timingSafeEqual } from 'node:crypto';
import { SignalboardError, StorageUnavailableError } from './errors.js';
import { bearerToken, clientAddress, type Headers } from './http.js';
import { hashKey, keyKindOf, type KeyKind, type Project, type ProjectStore } from './project-store.js';
import { TtlCache } from './ttl-cache.js';

type KeyLookup = { project: Project; kind: KeyKind } | null;

/** How long an unknown key stays known-unknown, so a flood of bad keys doesn't reach MongoDB each time. */
const NEGATIVE_CACHE_MS = 5000;

/** The window of AUTH_FAILURES_PER_MINUTE. */
const FAILURE_WINDOW_MS = 60_000;

export interface AccessOptions {
  adminToken: string;
  /** How long a key lookup is trusted (KEY_CACHE_SECONDS). */
  cacheMs: number;
  /** Retry-After when MongoDB did not answer. */
  retryAfterSeconds: number;
  /** Invalid keys one client address may try per minute before the next is refused unchecked (0: no limit). */
  failuresPerMinute: number;
  /** Whether the client address is the first X-Forwarded-For entry (TRUST_PROXY). */
  trustProxy: boolean;
  now?: () => number;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Turns a request's credentials into the one project it may act on: a project key
 * (Bearer or ?key=) of the kind the route needs, or the admin token with ?project=.
 * Lookups are cached for KEY_CACHE_SECONDS, so a revoked key works at most that long.
 * Random keys are each new to the caches, so every one would cost a MongoDB lookup: a
 * client address past AUTH_FAILURES_PER_MINUTE invalid keys gets 429 for the rest of
 * the minute without one (keys already known good still work).
 */
export class ProjectAccess {
  private readonly keys = new TtlCache<{ project: Project; kind: KeyKind }>(10_000);
  // Unknown keys apart, so a flood of bad keys can't push good ones out.
  private readonly unknownKeys = new TtlCache<true>(10_000);
  private readonly projectsById = new TtlCache<Project | null>(10_000);
  /** Per client address: invalid keys in the current window, and when it ends. */
  private readonly failures = new TtlCache<{ count: number; endsAt: number }>(10_000);
  private readonly adminDigest: Buffer;
  private readonly now: () => number;

  constructor(private readonly store: ProjectStore, private readonly options: AccessOptions) {
    this.adminDigest = digest(options.adminToken);
    this.now = options.now ?? Date.now;
  }

  isAdminToken(token: string | undefined): boolean {
    return token !== undefined && timingSafeEqual(digest(token), this.adminDigest);
  }

  /**
   * The admin token must be given as Bearer; anything else is refused. A wrong token
   * counts against the client's AUTH_FAILURES_PER_MINUTE like an invalid key, so the
   * token cannot be guessed faster than keys can.
   */
  requireAdmin(headers: Readonly<Headers>, peer: string): void {
    const token = bearerToken(headers);
    if (token === undefined) throw new SignalboardError('SB_ADMIN_REQUIRED', 'this route needs Authorization: Bearer <ADMIN_TOKEN>');
    if (this.isAdminToken(token)) return;
    this.spendAttempt(this.clientOf(headers, peer), this.now());
    throw new SignalboardError('SB_AUTH_INVALID', 'the admin token is not valid');
  }

  /** The client a request comes from: the peer, or behind a trusted proxy the address it forwards. */
  clientOf(headers: Readonly<Headers>, peer: string): string {
    return clientAddress(headers, peer, this.options.trustProxy);
  }

  /**
   * For a key that only the body holds (Segment's `writeKey`), before the body is
   * inflated and parsed: counts as one attempt against the client's
   * AUTH_FAILURES_PER_MINUTE, given back once the key proves valid, so a client past it
   * is refused before any of that work.
   */
  beforeBodyKey(headers: Readonly<Headers>, peer: string): { giveBack(): void } | undefined {
    return this.spendAttempt(this.clientOf(headers, peer), this.now());
  }

  /** @param peer the connection's remote address (the client's, unless behind a trusted proxy) */
  async resolve(headers: Readonly<Headers>, query: URLSearchParams, need: KeyKind, peer: string): Promise<Project> {
    const bearer = bearerToken(headers);
    const token = bearer ?? query.get('key') ?? undefined;
    if (token === undefined || token === '') {
      throw new SignalboardError('SB_AUTH_MISSING', `send the project's ${need} key as Authorization: Bearer <key> or ?key=<key>`);
    }
    // The admin token is accepted only as a header: in a URL it would land in proxy logs.
    if (bearer !== undefined && this.isAdminToken(bearer)) return this.projectForAdmin(query.get('project'));
    // So are project admin keys: only write keys (sendBeacon) and read keys (WebSocket) need the URL.
    if (bearer === undefined && keyKindOf(token) === 'admin') {
      throw new SignalboardError('SB_AUTH_INVALID', 'a project admin key (sba_) is accepted only as Authorization: Bearer <key>, never in the URL (it would land in access logs)');
    }
    const found = await this.lookupKey(token, this.clientOf(headers, peer));
    if (found === null) throw new SignalboardError('SB_AUTH_INVALID', 'the key is not valid for any project');
    if (found.kind !== need) {
      throw new SignalboardError('SB_AUTH_WRONG_KEY', `this is the project's ${found.kind} key; this route needs its ${need} key`);
    }
    // ?project= is for the admin token; with a project's key it must name that project, not silently another.
    const asked = query.get('project');
    if (asked !== null && asked !== found.project.id) {
      throw new SignalboardError('SB_PROJECT_MISMATCH', `?project=${asked} is not the project of this key (${found.project.id}); leave ?project= out, or use that project's key`);
    }
    return found.project;
  }

  private async projectForAdmin(projectId: string | null): Promise<Project> {
    if (projectId === null || projectId === '') {
      throw new SignalboardError('SB_PARAM_INVALID', 'project: required as ?project=<id> when using the admin token');
    }
    let project = this.projectsById.get(projectId);
    if (project === undefined) {
      project = (await this.guard(() => this.store.findById(projectId))) ?? null;
      this.projectsById.set(projectId, project, project === null ? NEGATIVE_CACHE_MS : this.options.cacheMs);
    }
    if (project === null) throw new SignalboardError('SB_PROJECT_NOT_FOUND', `project ${JSON.stringify(projectId)} does not exist`);
    return project;
  }

  private async lookupKey(token: string, client: string): Promise<KeyLookup> {
    const now = this.now();
    const cacheKey = keyKindOf(token) === undefined ? undefined : hashKey(token);
    const cached = cacheKey === undefined ? undefined : this.keys.get(cacheKey, now);
    if (cached !== undefined) return cached;
    const failure = this.spendAttempt(client, now);
    if (cacheKey === undefined || this.unknownKeys.get(cacheKey, now) === true) return null;
    let found: KeyLookup;
    try {
      found = (await this.guard(() => this.store.findByKey(token))) ?? null;
    } catch (err) {
      failure?.giveBack();
      throw err;
    }
    if (found === null) this.unknownKeys.set(cacheKey, true, NEGATIVE_CACHE_MS, now);
    else {
      this.keys.set(cacheKey, found, this.options.cacheMs, now);
      failure?.giveBack();
    }
    return found;
  }

  /**
   * Refuses a client that used up its invalid keys for this window, else counts this
   * attempt as one: counted before the lookup (so lookups in flight count too) and given
   * back for a valid key.
   */
  private spendAttempt(client: string, now: number): { giveBack(): void } | undefined {
    const limit = this.options.failuresPerMinute;
    if (limit === 0) return undefined;
    let window = this.failures.get(client, now);
    if (window !== undefined && window.count >= limit) {
      const retryAfterSeconds = Math.max(1, Math.ceil((window.endsAt - now) / 1000));
      throw new SignalboardError('SB_AUTH_THROTTLED', `more than ${limit} invalid keys from this address in a minute (AUTH_FAILURES_PER_MINUTE); retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
    }
    if (window === undefined) this.failures.set(client, (window = { count: 0, endsAt: now + FAILURE_WINDOW_MS }), FAILURE_WINDOW_MS, now);
    window.count++;
    const counted = window;
    return { giveBack: () => void (counted.count = Math.max(0, counted.count - 1)) };
  }

  private async guard<T>(lookup: () => Promise<T>): Promise<T> {
    try {
      return await lookup();
    } catch (err) {
      throw new StorageUnavailableError('could not check the key: MongoDB did not answer', this.options.retryAfterSeconds, err);
    }
  }
}
