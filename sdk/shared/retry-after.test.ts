import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from './retry-after.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

describe('parseRetryAfter', () => {
  it.each([
    ['delay seconds', '5', 5000],
    ['zero seconds', '0', 0],
    ['seconds with spaces around', ' 12 ', 12_000],
    ['an IMF-fixdate 30 s ahead', 'Sun, 01 Mar 2026 12:00:30 GMT', 30_000],
    ['an RFC 850 date 2 min ahead', 'Sunday, 01-Mar-26 12:02:00 GMT', 120_000],
    ['an asctime date 1 s ahead', 'Sun Mar  1 12:00:01 2026', 1000],
    ['a date in the past', 'Sun, 01 Mar 2026 11:00:00 GMT', 0],
    ['seconds past the server bound', '86400', MAX_RETRY_AFTER_MS],
    ['a date past the server bound', 'Mon, 02 Mar 2026 12:00:00 GMT', MAX_RETRY_AFTER_MS],
  ])('reads %s', (_, header, expected) => {
    expect(parseRetryAfter(header, NOW)).toBe(expected);
  });

  it.each([
    ['absent', null],
    ['undefined', undefined],
    ['empty', ''],
    ['fractional seconds (not in RFC 9110)', '1.5'],
    ['negative seconds', '-3'],
    ['not a date', 'soon'],
    ['a day name and nonsense', 'Sun, 99 Foo'],
  ])('ignores %s', (_, header) => {
    expect(parseRetryAfter(header, NOW)).toBeUndefined();
  });
});
