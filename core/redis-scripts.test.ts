import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REDIS_SCRIPTS, scriptSource } from './redis-scripts.js';

const files = readdirSync(new URL('./redis-scripts/', import.meta.url)).filter((f) => f.endsWith('.lua')).map((f) => f.slice(0, -4));

describe('Redis scripts', () => {
  it('registers every script file once, and every registered file exists', () => {
    const registered = Object.values(REDIS_SCRIPTS).map((s) => s.file);
    expect([...registered].sort()).toEqual([...files].sort());
    expect(new Set(registered).size).toBe(registered.length);
  });

  it.each(Object.entries(REDIS_SCRIPTS))('%s: its header names its command, and it uses exactly the keys it declares', (name, { file, keys }) => {
    const lua = scriptSource(file);
    expect(lua.split('\n')[0]).toMatch(new RegExp(`^-- ${name}\\b`));
    const used = [...lua.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1]));
    // A script taking any number of keys walks them all and names none by position.
    if (keys === 'variable') expect({ used, walks: lua.includes('ipairs(KEYS)') }).toEqual({ used: [], walks: true });
    else expect(Math.max(...used)).toBe(keys);
    expect(lua).not.toMatch(/@include/);
  });
});
