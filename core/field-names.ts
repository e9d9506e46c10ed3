/**
 * MongoDB reads a leading `$` as an operator and a `.` as a path, so both are replaced
 * by their full-width forms (U+FF04, U+FF0E), as MongoDB's documentation suggests.
 * Used for property keys at ingest and for breakdown values stored as field names.
 */
export function escapeKey(key: string): string {
  return (key.startsWith('$') ? `\uFF04${key.slice(1)}` : key).replaceAll('.', '\uFF0E');
}

export function unescapeKey(key: string): string {
  return (key.startsWith('\uFF04') ? `$${key.slice(1)}` : key).replaceAll('\uFF0E', '.');
}
