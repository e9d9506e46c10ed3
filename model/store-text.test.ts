import { BSON } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { breakdownFieldName, MAX_BREAKDOWN_VALUE_BYTES, unstorableEvent, unstorableText, utf8Prefix } from './store-text.js';

describe('breakdownFieldName: any value a client sends becomes a field name the store takes', () => {
  it.each([
    ['a plain value', 'web', 'web'],
    ['a NUL (BSON refuses it in a field name: it stopped every fold)', 'a\u0000b', 'a\uFFFDb'],
    ['an unpaired high surrogate (written as U+FFFD, so the stored name would differ)', 'x\ud800', 'x\uFFFD'],
    ['an unpaired low surrogate', '\udc00y', '\uFFFDy'],
    ['a paired surrogate (an emoji) kept', 'ok 🎉', 'ok 🎉'],
    ['an operator-like value escaped', '$where', '\uFF04where'],
    ['a dotted value escaped', 'v1.2', 'v1\uFF0E2'],
    ['the prototype key escaped', '__proto__', '\uFF3F\uFF3Fproto\uFF3F\uFF3F'],
    ['an empty value', '', '(empty)'],
    ['white space at the ends (FerretDB refuses such a path part: the fuzz run found it)', ' web\t', 'web'],
    ['white space only', ' \n\u00a0\u2003\u0085', '(empty)'],
    ['white space inside kept', 'a b', 'a b'],
    ['a cut that ends on a space loses it too', `${'a'.repeat(99)} b`, 'a'.repeat(99)],
    ['a long ASCII value cut at 100 bytes', 'a'.repeat(150), 'a'.repeat(100)],
    ['a long CJK value cut at 100 bytes, between characters', '値'.repeat(50), '値'.repeat(33)],
    ['an emoji never cut in half', `${'a'.repeat(98)}🎉`, 'a'.repeat(98)],
  ])('%s', (_case, value, name) => {
    const stored = breakdownFieldName(value);
    expect(stored).toBe(name);
    // The store keeps the name exactly as written.
    const roundTrip = BSON.deserialize(BSON.serialize({ by: { [stored]: 1 } })) as { by: Record<string, number> };
    expect(Object.keys(roundTrip.by)).toEqual([stored]);
  });

  it('never gives a name longer than the limit in UTF-8, whatever the value', () => {
    for (const value of ['é'.repeat(200), '𝄞'.repeat(60), `${'x'.repeat(99)}é`, '\u0000'.repeat(300)]) {
      expect(Buffer.byteLength(breakdownFieldName(value))).toBeLessThanOrEqual(MAX_BREAKDOWN_VALUE_BYTES);
    }
  });
});

describe('utf8Prefix', () => {
  it.each([
    ['short text untouched', 'abc', 10, 'abc'],
    ['cut at the byte bound', 'abcdef', 4, 'abcd'],
    ['a 2-byte character that does not fit is left out', 'aé', 2, 'a'],
    ['a 4-byte character that does not fit is left out', 'a𝄞', 4, 'a'],
    ['a 4-byte character that fits is kept', 'a𝄞', 5, 'a𝄞'],
  ])('%s', (_case, text, max, want) => {
    expect(utf8Prefix(text, max)).toBe(want);
  });
});

describe('unstorableText and unstorableEvent', () => {
  it('tell an unpaired surrogate anywhere from valid text', () => {
    expect(unstorableText('fine 🎉 名')).toBeUndefined();
    expect(unstorableText('a\ud800')).toMatch(/unpaired UTF-16 surrogate/);
    expect(unstorableText('\udfffa')).toMatch(/unpaired/);
    // A regex with the g flag keeps its position between calls: the second call must not miss.
    expect(unstorableText('\ud800')).toMatch(/unpaired/);
    expect(unstorableEvent({ event: 'ok', userId: 'u' })).toBeUndefined();
    expect(unstorableEvent({ event: 'ok', anonymousId: 'a\udc00' })).toBe('anonymousId is not valid Unicode (it holds an unpaired UTF-16 surrogate)');
  });
});
