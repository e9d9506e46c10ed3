import { createHash, timingSafeEqual } from 'node:crypto';
import { SignalboardError, StorageUnavailableError } from './errors.js';
import { bearerToken, type Headers } from './http.js';
import { hashKey, keyKindOf, type KeyKind, type Project, type ProjectStore } from './project-store.js';
import { TtlCache } from './ttl-cache.js';

type KeyLookup = { project: Project; kind: KeyKind } | null;

/** How long an unknown key stays known-unknown, so a flood of bad keys doesn't reach MongoDB each time. */
const NEGATIVE_CACHE_MS = 5000;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Turns a request's credentials into the one project it may act on: a project key
 * (Bearer or ?key=) of the kind the route needs, or the admin token with ?project=.
 * Lookups are cached for KEY_CACHE_SECONDS, so a revoked key works at most that long.
 */
export class ProjectAccess {
  private readonly keys = new TtlCache<{ project: Project; kind: KeyKind }>(10_000);
  // Unknown keys apart, so a flood of bad keys can't push good ones out.
  private readonly unknownKeys = new TtlCache<true>(10_000);
  private readonly projectsById = new TtlCache<Project | null>(10_000);
  private readonly adminDigest: Buffer;

  constructor(
    private readonly store: ProjectStore,
    adminToken: string,
    private readonly cacheMs: number,
    private readonly retryAfterSeconds: number,
  ) {
    this.adminDigest = digest(adminToken);
  }

  isAdminToken(token: string | undefined): boolean {
    return token !== undefined && timingSafeEqual(digest(token), this.adminDigest);
  }

  /** The admin token must be given as Bearer; anything else is refused. */
  requireAdmin(headers: Readonly<Headers>): void {
    const token = bearerToken(headers);
    if (token === undefined) throw new SignalboardError('SB_ADMIN_REQUIRED', 'this route needs Authorization: Bearer <ADMIN_TOKEN>');
    if (!this.isAdminToken(token)) throw new SignalboardError('SB_AUTH_INVALID', 'the admin token is not valid');
  }

  async resolve(headers: Readonly<Headers>, query: URLSearchParams, need: KeyKind): Promise<Project> {
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
    const found = await this.lookupKey(token);
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
      this.projectsById.set(projectId, project, project === null ? NEGATIVE_CACHE_MS : this.cacheMs);
    }
    if (project === null) throw new SignalboardError('SB_PROJECT_NOT_FOUND', `project ${JSON.stringify(projectId)} does not exist`);
    return project;
  }

  private async lookupKey(token: string): Promise<KeyLookup> {
    if (keyKindOf(token) === undefined) return null;
    const cacheKey = hashKey(token);
    const cached = this.keys.get(cacheKey);
    if (cached !== undefined) return cached;
    if (this.unknownKeys.get(cacheKey) === true) return null;
    const found = await this.guard(() => this.store.findByKey(token));
    if (found === undefined) this.unknownKeys.set(cacheKey, true, NEGATIVE_CACHE_MS);
    else this.keys.set(cacheKey, found, this.cacheMs);
    return found ?? null;
  }

  private async guard<T>(lookup: () => Promise<T>): Promise<T> {
    try {
      return await lookup();
    } catch (err) {
      throw new StorageUnavailableError('could not check the key: MongoDB did not answer', this.retryAfterSeconds, err);
    }
  }
}
