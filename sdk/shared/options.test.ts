import { describe, expect, it } from 'vitest';
import { booleanOption, endpointOption, functionOption, optionsRecord, wholeOption, writeKeyOption } from './options.js';

describe('optionsRecord', () => {
  const ALLOWED = ['writeKey', 'endpoint', 'flushAt'];

  it('returns the options object itself when every name is allowed', () => {
    const given = { writeKey: 'sbw_1', endpoint: 'https://sb.example.com' };
    expect(optionsRecord(given, ALLOWED)).toBe(given);
  });

  it.each([
    ['a typo', { writeKey: 'k', flushat: 5 }, 'flushat'],
    ['an option of the other SDK', { writeKey: 'k', timeout: 5 }, 'timeout'],
    ['an array', ['k'], '0'],
  ])('rejects %s, naming the option and the allowed ones', (_, given, name) => {
    expect(() => optionsRecord(given, ALLOWED)).toThrow(new TypeError(`unknown option "${name}" (allowed: writeKey, endpoint, flushAt)`));
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'sbw_1'],
    ['a number', 3],
  ])('rejects options that are %s', (_, given) => {
    expect(() => optionsRecord(given, ALLOWED)).toThrow(new TypeError('options must be an object with at least writeKey and endpoint'));
  });
});

describe('writeKeyOption', () => {
  it.each(['sbw_abc123', 'x', 'sbw_a+b/c='])('takes %j', (key) => {
    expect(writeKeyOption(key)).toBe(key);
  });

  it.each([[''], ['sbw_ abc'], [' sbw_abc'], ['sbw_abc\n'], [undefined], [42], [null]])('rejects %j', (key) => {
    expect(() => writeKeyOption(key)).toThrow(new TypeError("writeKey must be the project's write key (sbw_…), a non-empty string without spaces"));
  });
});

describe('endpointOption', () => {
  it.each([
    ['https://sb.example.com', 'https://sb.example.com'],
    ['http://localhost:8080', 'http://localhost:8080'],
    ['https://sb.example.com/', 'https://sb.example.com'],
    ['https://sb.example.com///', 'https://sb.example.com'],
    ['https://example.com/analytics/', 'https://example.com/analytics'],
    ['https://example.com/a/b', 'https://example.com/a/b'],
  ])('takes %j as %j (no trailing slash)', (given, expected) => {
    expect(endpointOption(given)).toBe(expected);
  });

  it.each<[string, unknown]>([
    ['no scheme', 'sb.example.com'],
    ['another scheme', 'ftp://sb.example.com'],
    ['no host', 'https://'],
    ['a query', 'https://sb.example.com/?key=1'],
    ['a fragment', 'https://sb.example.com/#top'],
    ['a space', 'https://sb.example.com/a b'],
    ['empty', ''],
    ['not a string', 8080],
    ['missing', undefined],
  ])('rejects %s, quoting what it got', (_, value) => {
    expect(() => endpointOption(value)).toThrow(
      new TypeError(`endpoint must be the Signalboard server's base URL, such as "https://sb.example.com", got ${JSON.stringify(value)}`),
    );
  });
});

describe('wholeOption', () => {
  it('gives the fallback when the option is absent', () => {
    expect(wholeOption(undefined, 'flushAt', 20, 1, 500)).toBe(20);
  });

  it.each([
    [1, 1, 500],
    [500, 1, 500],
    [0, 0, 3_600_000],
    [7, 0, Infinity],
    [Infinity, 0, Infinity],
  ])('takes %d within [%d, %d]', (value, min, max) => {
    expect(wholeOption(value, 'n', 3, min, max)).toBe(value);
  });

  it.each<[unknown, number, number, string]>([
    [0, 1, 500, 'n must be a whole number from 1 to 500, got 0'],
    [501, 1, 500, 'n must be a whole number from 1 to 500, got 501'],
    [2.5, 1, 500, 'n must be a whole number from 1 to 500, got 2.5'],
    [NaN, 1, 500, 'n must be a whole number from 1 to 500, got NaN'],
    [Infinity, 1, 500, 'n must be a whole number from 1 to 500, got Infinity'],
    [-Infinity, 0, Infinity, 'n must be a whole number from 0 to Infinity, got -Infinity'],
    ['20', 1, 500, 'n must be a whole number from 1 to 500, got "20"'],
    [null, 1, 500, 'n must be a whole number from 1 to 500, got null'],
    [true, 1, 500, 'n must be a whole number from 1 to 500, got true'],
  ])('rejects %j in [%d, %d], naming the option', (value, min, max, message) => {
    expect(() => wholeOption(value, 'n', 3, min, max)).toThrow(new TypeError(message));
  });
});

describe('booleanOption', () => {
  it.each([
    [undefined, true, true],
    [undefined, false, false],
    [true, false, true],
    [false, true, false],
  ])('reads %j (fallback %j) as %j', (value, fallback, expected) => {
    expect(booleanOption(value, 'autoPageviews', fallback)).toBe(expected);
  });

  it.each<[unknown, string]>([
    ['yes', '"yes"'],
    [1, '1'],
    [null, 'null'],
  ])('rejects %j, naming the option', (value, shown) => {
    expect(() => booleanOption(value, 'autoPageviews', false)).toThrow(new TypeError(`autoPageviews must be true or false, got ${shown}`));
  });
});

describe('functionOption', () => {
  it('returns the function given, or undefined when absent', () => {
    const onError = () => undefined;
    expect(functionOption(onError, 'onError')).toBe(onError);
    expect(functionOption(undefined, 'onError')).toBeUndefined();
  });

  it.each<[unknown]>([['console.error'], [null], [{}]])('rejects %j, naming the option', (value) => {
    expect(() => functionOption(value, 'onError')).toThrow(new TypeError('onError must be a function'));
  });
});
