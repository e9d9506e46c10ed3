/**
 * MongoDB reads a leading `$` as an operator and a `.` as a path, so both are replaced
 * by their full-width forms (U+FF04, U+FF0E), as MongoDB's documentation suggests.
 * `__proto__` would set a plain object's prototype instead of a field (a breakdown value
 * counted under it was dropped), so its underscores become full-width low lines (U+FF3F).
 * Used for property keys at ingest (which refuses `__proto__` as a key) and for
 * breakdown values stored as field names; `unescapeKey` gives a breakdown value back
 * as it was sent.
 */
const PROTO = '__proto__';
const ESCAPED_PROTO = '\uFF3F\uFF3Fproto\uFF3F\uFF3F';

export function escapeKey(key: string): string {
  if (key === PROTO) return ESCAPED_PROTO;
  return (key.startsWith('$') ? `\uFF04${key.slice(1)}` : key).replaceAll('.', '\uFF0E');
}

export function unescapeKey(key: string): string {
  if (key === ESCAPED_PROTO) return PROTO;
  return (key.startsWith('\uFF04') ? `$${key.slice(1)}` : key).replaceAll('\uFF0E', '.');
}
