import { createHash, timingSafeEqual } from 'node:crypto';
import { SignalboardError, StorageUnavailableError } from './errors.js';
import { bearerToken, type Headers } from './http.js';
import type { KeyKind, Project, ProjectStore } from './project-store.js';
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
  private readonly keys = new TtlCache<KeyLookup>(10_000);
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
    const token = bearerToken(headers) ?? query.get('key') ?? undefined;
    if (token === undefined || token === '') {
      throw new SignalboardError('SB_AUTH_MISSING', `send the project's ${need} key as Authorization: Bearer <key> or ?key=<key>`);
    }
    // Cached keys first: the hot path then costs no hashing at all.
    const found = this.keys.get(token) ?? (this.isAdminToken(token) ? undefined : await this.lookupKey(token));
    if (found === undefined) return this.projectForAdmin(query.get('project'));
    if (found === null) throw new SignalboardError('SB_AUTH_INVALID', 'the key is not valid for any project');
    if (found.kind !== need) {
      throw new SignalboardError('SB_AUTH_WRONG_KEY', `this is the project's ${found.kind} key; this route needs its ${need} key`);
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
    const found = (await this.guard(() => this.store.findByKey(token))) ?? null;
    this.keys.set(token, found, found === null ? NEGATIVE_CACHE_MS : this.cacheMs);
    return found;
  }

  private async guard<T>(lookup: () => Promise<T>): Promise<T> {
    try {
      return await lookup();
    } catch (err) {
      throw new StorageUnavailableError('could not check the key: MongoDB did not answer', this.retryAfterSeconds, err);
    }
  }
}
