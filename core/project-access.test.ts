import { describe, expect, it } from 'vitest';
import { SignalboardError } from './errors.js';
import { ProjectAccess, type AccessOptions } from './project-access.js';
import type { KeyKind, Project, ProjectStore } from './project-store.js';

const project: Project = { id: 'p1', name: 'one', allowedOrigins: ['*'] };
const ADMIN = 'admin-token-for-unit-tests';

/** Counts lookups: the behaviour under test is what ProjectAccess caches, not MongoDB. */
function countingStore(keys: Record<string, KeyKind>, options: Partial<AccessOptions> = {}) {
  const calls = { findByKey: 0, findById: 0 };
  const store = {
    findByKey: (key: string) => {
      calls.findByKey++;
      return Promise.resolve(keys[key] === undefined ? undefined : { project, kind: keys[key] });
    },
    findById: (id: string) => {
      calls.findById++;
      return Promise.resolve(id === project.id ? project : undefined);
    },
  };
  const access = new ProjectAccess(store as unknown as ProjectStore, { adminToken: ADMIN, cacheMs: 30_000, retryAfterSeconds: 5, failuresPerMinute: 60, trustProxy: false, ...options });
  return { calls, access };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SignalboardError) return err.code;
    throw err;
  }
  return 'ok';
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const noQuery = new URLSearchParams();
const PEER = '10.0.0.1';

describe('ProjectAccess', () => {
  it('caches a known key, so repeated requests cost one lookup', async () => {
    const { calls, access } = countingStore({ sbw_good: 'write' });
    for (let i = 0; i < 5; i++) expect(await access.resolve(bearer('sbw_good'), noQuery, 'write', PEER)).toEqual(project);
    expect(calls.findByKey).toBe(1);
  });

  it('caches an unknown key too, so a flood of bad keys does not reach MongoDB each time', async () => {
    const { calls, access } = countingStore({});
    for (let i = 0; i < 5; i++) expect(await code(access.resolve(bearer('sbw_bad'), noQuery, 'write', PEER))).toBe('SB_AUTH_INVALID');
    expect(calls.findByKey).toBe(1);
  });

  it('refuses a token without a key prefix without any lookup', async () => {
    const { calls, access } = countingStore({});
    expect(await code(access.resolve(bearer('garbage'), noQuery, 'write', PEER))).toBe('SB_AUTH_INVALID');
    expect(calls.findByKey).toBe(0);
  });

  it('accepts the admin token with ?project= only as a Bearer header, never in the URL', async () => {
    const { access } = countingStore({});
    const query = new URLSearchParams({ project: 'p1' });
    expect(await access.resolve(bearer(ADMIN), query, 'write', PEER)).toEqual(project);
    expect(await code(access.resolve({}, new URLSearchParams({ project: 'p1', key: ADMIN }), 'write', PEER))).toBe('SB_AUTH_INVALID');
  });

  it('refuses the wrong kind of key', async () => {
    const { access } = countingStore({ sbr_read: 'read' });
    expect(await code(access.resolve(bearer('sbr_read'), noQuery, 'write', PEER))).toBe('SB_AUTH_WRONG_KEY');
  });
  it('refuses a project admin key in the URL, before any lookup, and takes it as a header', async () => {
    const { calls, access } = countingStore({ sba_admin: 'admin' });
    const refused = access.resolve({}, new URLSearchParams({ key: 'sba_admin' }), 'admin', PEER);
    await expect(refused).rejects.toThrow('a project admin key (sba_) is accepted only as Authorization: Bearer <key>');
    expect(await code(refused)).toBe('SB_AUTH_INVALID');
    expect(calls.findByKey).toBe(0);
    expect(await access.resolve(bearer('sba_admin'), noQuery, 'admin', PEER)).toBe(project);
  });

  it('refuses a client address past AUTH_FAILURES_PER_MINUTE invalid keys without a lookup, for the rest of the minute', async () => {
    let now = 1_000_000;
    const { calls, access } = countingStore({ sbw_good: 'write' }, { failuresPerMinute: 3, now: () => now });
    expect(await access.resolve(bearer('sbw_good'), noQuery, 'write', PEER)).toEqual(project);
    for (let i = 0; i < 3; i++) expect(await code(access.resolve(bearer(`sbw_random${i}`), noQuery, 'write', PEER))).toBe('SB_AUTH_INVALID');
    const lookups = calls.findByKey;
    const throttled = access.resolve(bearer('sbw_random3'), noQuery, 'write', PEER);
    await expect(throttled).rejects.toMatchObject({ code: 'SB_AUTH_THROTTLED', status: 429, retryAfterSeconds: 60 });
    // Tokens without a key prefix count too, and are refused the same way.
    expect(await code(access.resolve(bearer('garbage'), noQuery, 'write', PEER))).toBe('SB_AUTH_THROTTLED');
    expect(calls.findByKey).toBe(lookups);
    // A key known good still works from there; another address has its own budget.
    expect(await access.resolve(bearer('sbw_good'), noQuery, 'write', PEER)).toEqual(project);
    expect(await code(access.resolve(bearer('sbw_random4'), noQuery, 'write', '10.0.0.2'))).toBe('SB_AUTH_INVALID');
    now += 30_000;
    await expect(access.resolve(bearer('sbw_random5'), noQuery, 'write', PEER)).rejects.toMatchObject({ retryAfterSeconds: 30 });
    now += 30_000;
    expect(await code(access.resolve(bearer('sbw_random6'), noQuery, 'write', PEER))).toBe('SB_AUTH_INVALID');
  });

  it('counts wrong admin tokens against the same budget: the token cannot be guessed faster than keys', async () => {
    const { access } = countingStore({}, { failuresPerMinute: 2 });
    const wrong = (peer: string) => {
      try {
        access.requireAdmin(bearer('not-the-admin-token'), peer);
        return 'accepted';
      } catch (err) {
        return (err as { code: string }).code;
      }
    };
    expect([wrong(PEER), wrong(PEER), wrong(PEER)]).toEqual(['SB_AUTH_INVALID', 'SB_AUTH_INVALID', 'SB_AUTH_THROTTLED']);
    // Keys from there are refused unchecked too; the real token still works; another address has its own budget.
    expect(await code(access.resolve(bearer('sbw_random'), noQuery, 'write', PEER))).toBe('SB_AUTH_THROTTLED');
    expect(() => access.requireAdmin(bearer(ADMIN), PEER)).not.toThrow();
    expect(wrong('10.0.0.9')).toBe('SB_AUTH_INVALID');
  });

  it('counts lookups still in flight, so concurrent random keys cannot pass the budget', async () => {
    const { calls, access } = countingStore({ sbw_good: 'write' }, { failuresPerMinute: 3 });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => code(access.resolve(bearer(`sbw_random${i}`), noQuery, 'write', PEER))));
    expect(calls.findByKey).toBe(3);
    expect(answers.filter((a) => a === 'SB_AUTH_INVALID')).toHaveLength(3);
    expect(answers.filter((a) => a === 'SB_AUTH_THROTTLED')).toHaveLength(47);
    // A valid key looked up meanwhile gives its count back: it is no failure.
    const other = countingStore({ sbw_good: 'write' }, { failuresPerMinute: 1 }).access;
    expect(await other.resolve(bearer('sbw_good'), noQuery, 'write', PEER)).toEqual(project);
    expect(await code(other.resolve(bearer('sbw_bad'), noQuery, 'write', PEER))).toBe('SB_AUTH_INVALID');
  });

  it('counts a proxied client by its forwarded address only with TRUST_PROXY', async () => {
    const forwarded = (address: string) => ({ ...bearer('sbw_bad'), 'x-forwarded-for': `${address}, 10.9.9.9` });
    const trusting = countingStore({}, { failuresPerMinute: 1, trustProxy: true }).access;
    expect(await code(trusting.resolve(forwarded('203.0.113.1'), noQuery, 'write', PEER))).toBe('SB_AUTH_INVALID');
    expect(await code(trusting.resolve(forwarded('203.0.113.2'), noQuery, 'write', PEER))).toBe('SB_AUTH_INVALID');
    expect(await code(trusting.resolve(forwarded('203.0.113.1'), noQuery, 'write', PEER))).toBe('SB_AUTH_THROTTLED');
    const direct = countingStore({}, { failuresPerMinute: 1 }).access;
    expect(await code(direct.resolve(forwarded('203.0.113.1'), noQuery, 'write', PEER))).toBe('SB_AUTH_INVALID');
    expect(await code(direct.resolve(forwarded('203.0.113.2'), noQuery, 'write', PEER))).toBe('SB_AUTH_THROTTLED');
  });

  it('has no limit at AUTH_FAILURES_PER_MINUTE=0', async () => {
    const { access } = countingStore({}, { failuresPerMinute: 0 });
    for (let i = 0; i < 100; i++) expect(await code(access.resolve(bearer(`sbw_random${i}`), noQuery, 'write', PEER))).toBe('SB_AUTH_INVALID');
  });
});
