/**
 * What text from an event the store can hold, and how anything else is made so.
 *
 * An event's name and ids become parts of document ids and field values; its breakdown
 * values become field names (`by.platform.<value>`). MongoDB's BSON writes strings as
 * UTF-8 and field names as C strings, and FerretDB checks update paths, so three things
 * break writes:
 * - an unpaired UTF-16 surrogate ("\ud800", valid in JSON) is written as U+FFFD, so the
 *   stored `_id` is not the one the writer asked for: it never finds its own document
 *   again and conflicts with it on every write;
 * - a NUL cannot be in a field name at all (the whole document is refused);
 * - FerretDB refuses an update path whose part starts or ends with white space ("contains
 *   an empty field name"), so a value " web" could be inserted but never incremented.
 * Names and ids with an unpaired surrogate (or any control character) are refused at
 * ingest; breakdown values are mapped to storable names. Limits count UTF-8 bytes, what the store and the wire hold.
 */
import { escapeKey } from './field-names.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** The same, without the global flag: `test` keeps no position between calls. */
const HAS_LONE_SURROGATE = new RegExp(LONE_SURROGATE.source);
/** White space at either end, as Go's unicode.IsSpace sees it (which FerretDB's path check uses): JavaScript's \s and U+0085. */
const OUTER_SPACE = /^[\s\u0085]+|[\s\u0085]+$/g;

/** The longest prefix of `text` of at most `maxBytes` UTF-8 bytes that splits no character. */
export function utf8Prefix(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return text.slice(0, end);
}

/** Why `text` cannot be stored as sent (undefined: it can). */
export function unstorableText(text: string): string | undefined {
  return HAS_LONE_SURROGATE.test(text) ? 'is not valid Unicode (it holds an unpaired UTF-16 surrogate)' : undefined;
}

/** Breakdown values longer than this are cut (on a character boundary). */
export const MAX_BREAKDOWN_VALUE_BYTES = 100;

/**
 * A breakdown value as the field name it is counted under: NUL and unpaired surrogates
 * become U+FFFD, white space at either end goes (" web" counts as "web"), cut to
 * MAX_BREAKDOWN_VALUE_BYTES, `$`/`.`/`__proto__` escaped (field-names.ts), empty as
 * "(empty)". Pure: live counting, recompute and alert filters map alike.
 */
export function breakdownFieldName(value: string): string {
  const text = utf8Prefix(value.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATE, '\uFFFD').replace(OUTER_SPACE, ''), MAX_BREAKDOWN_VALUE_BYTES).replace(OUTER_SPACE, '');
  return text === '' ? '(empty)' : escapeKey(text);
}

/** Why an event's name or ids cannot be stored as sent (an older ingest let them through), or undefined. */
export function unstorableEvent(event: { event: string; userId?: string; anonymousId?: string }): string | undefined {
  for (const field of ['event', 'userId', 'anonymousId'] as const) {
    const value = event[field];
    const problem = value === undefined ? undefined : unstorableText(value);
    if (problem !== undefined) return `${field} ${problem}`;
  }
  return undefined;
}
