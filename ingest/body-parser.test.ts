import { describe, expect, it } from 'vitest';
import { SignalboardError } from '../core/errors.js';
import { bodyFormat, parseEventsBody } from './body-parser.js';

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof SignalboardError) return err.code;
    throw err;
  }
  return undefined;
}

describe('bodyFormat', () => {
  it.each([
    [undefined, 'json'],
    ['application/json', 'json'],
    ['application/json; charset=utf-8', 'json'],
    ['text/plain;charset=UTF-8', 'json'], // navigator.sendBeacon with a string
    ['application/vnd.api+json', 'json'],
    ['application/x-ndjson', 'ndjson'],
    ['application/jsonl', 'ndjson'],
  ])('%s is read as %s', (type, format) => {
    expect(bodyFormat(type)).toBe(format);
  });

  it('refuses other types with 415', () => {
    expect(errorCode(() => bodyFormat('multipart/form-data; boundary=x'))).toBe('SB_BODY_UNSUPPORTED_TYPE');
  });
});

describe('parseEventsBody', () => {
  it.each([
    ['one event', '{"event":"a","userId":"u"}', 1],
    ['an array', '[{"event":"a"},{"event":"b"}]', 2],
    ['a batch envelope', '{"batch":[{"event":"a"},{"event":"b"},{"event":"c"}]}', 3],
  ])('reads %s', (_case, text, count) => {
    expect(parseEventsBody(text, 'json', 100).items).toHaveLength(count);
  });

  it.each([
    ['malformed JSON', '{"event":', 'SB_BODY_UNREADABLE'],
    ['a bare string', '"hello"', 'SB_BODY_UNREADABLE'],
    ['null', 'null', 'SB_BODY_UNREADABLE'],
    ['a batch that is not an array', '{"batch":{"event":"a"}}', 'SB_BODY_UNREADABLE'],
    ['an empty array', '[]', 'SB_INGEST_EMPTY'],
    ['an empty batch', '{"batch":[]}', 'SB_INGEST_EMPTY'],
    ['too many events', JSON.stringify(Array.from({ length: 101 }, () => ({ event: 'a' }))), 'SB_INGEST_TOO_MANY_EVENTS'],
  ])('refuses %s as a whole', (_case, text, code) => {
    expect(errorCode(() => parseEventsBody(text, 'json', 100))).toBe(code);
  });

  it('reads NDJSON line by line; a bad line rejects only its own event', () => {
    const parsed = parseEventsBody('{"event":"a"}\r\n\n{"event":\n{"event":"c"}\n', 'ndjson', 100);
    expect(parsed.items).toHaveLength(3);
    expect(parsed.items[0]).toEqual({ event: 'a' });
    expect(parsed.items[2]).toEqual({ event: 'c' });
    expect(parsed.unreadable.get(1)).toMatch(/^line 3 is not valid JSON/);
    expect(parsed.unreadable.size).toBe(1);
  });

  it('refuses empty NDJSON', () => {
    expect(errorCode(() => parseEventsBody('\n\n', 'ndjson', 100))).toBe('SB_INGEST_EMPTY');
  });
});
