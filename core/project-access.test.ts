import { describe, expect, it } from 'vitest';
import { SignalboardError } from './errors.js';
import { ProjectAccess } from './project-access.js';
import type { KeyKind, Project, ProjectStore } from './project-store.js';

const project: Project = { id: 'p1', name: 'one', allowedOrigins: ['*'] };
const ADMIN = 'admin-token-for-unit-tests';

/** Counts lookups: the behaviour under test is what ProjectAccess caches, not MongoDB. */
function countingStore(keys: Record<string, KeyKind>) {
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
  return { calls, access: new ProjectAccess(store as unknown as ProjectStore, ADMIN, 30_000, 5) };
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

describe('ProjectAccess', () => {
  it('caches a known key, so repeated requests cost one lookup', async () => {
    const { calls, access } = countingStore({ sbw_good: 'write' });
    for (let i = 0; i < 5; i++) expect(await access.resolve(bearer('sbw_good'), noQuery, 'write')).toEqual(project);
    expect(calls.findByKey).toBe(1);
  });

  it('caches an unknown key too, so a flood of bad keys does not reach MongoDB each time', async () => {
    const { calls, access } = countingStore({});
    for (let i = 0; i < 5; i++) expect(await code(access.resolve(bearer('sbw_bad'), noQuery, 'write'))).toBe('SB_AUTH_INVALID');
    expect(calls.findByKey).toBe(1);
  });

  it('refuses a token without a key prefix without any lookup', async () => {
    const { calls, access } = countingStore({});
    expect(await code(access.resolve(bearer('garbage'), noQuery, 'write'))).toBe('SB_AUTH_INVALID');
    expect(calls.findByKey).toBe(0);
  });

  it('accepts the admin token with ?project= only as a Bearer header, never in the URL', async () => {
    const { access } = countingStore({});
    const query = new URLSearchParams({ project: 'p1' });
    expect(await access.resolve(bearer(ADMIN), query, 'write')).toEqual(project);
    expect(await code(access.resolve({}, new URLSearchParams({ project: 'p1', key: ADMIN }), 'write'))).toBe('SB_AUTH_INVALID');
  });

  it('refuses the wrong kind of key', async () => {
    const { access } = countingStore({ sbr_read: 'read' });
    expect(await code(access.resolve(bearer('sbr_read'), noQuery, 'write'))).toBe('SB_AUTH_WRONG_KEY');
  });
  it('refuses a project admin key in the URL, before any lookup, and takes it as a header', async () => {
    const { calls, access } = countingStore({ sba_admin: 'admin' });
    const refused = access.resolve({}, new URLSearchParams({ key: 'sba_admin' }), 'admin');
    await expect(refused).rejects.toThrow('a project admin key (sba_) is accepted only as Authorization: Bearer <key>');
    expect(await code(refused)).toBe('SB_AUTH_INVALID');
    expect(calls.findByKey).toBe(0);
    expect(await access.resolve(bearer('sba_admin'), noQuery, 'admin')).toBe(project);
  });
});
