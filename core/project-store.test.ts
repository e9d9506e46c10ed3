import { describe, expect, it } from 'vitest';
import { keyKindOf, newProjectId } from './project-store.js';

describe('project ids and keys', () => {
  it('never starts a project id with "-" or "_" (it would read as an option on a command line)', () => {
    const ids = Array.from({ length: 2000 }, newProjectId);
    expect(ids.filter((id) => !/^[A-Za-z0-9][\w-]{11}$/.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('tells the kind of a key by its prefix', () => {
    expect(['sbw_x', 'sbr_x', 'sba_x', 'sbx_x', ''].map(keyKindOf)).toEqual(['write', 'read', 'admin', undefined, undefined]);
  });
});
