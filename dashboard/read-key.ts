/**
 * The read key given in the page's address as `#key=...` (the fragment never reaches
 * the server, so no access log keeps it). Returns the key and the fragment without it,
 * which the page puts back in the address bar so the key does not stay on screen, in
 * bookmarks or in screenshots.
 */
export function keyFromHash(hash: string): { key: string | undefined; rest: string } {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const key = params.get('key')?.trim();
  params.delete('key');
  const rest = params.toString();
  return { key: key === undefined || key === '' ? undefined : key, rest: rest === '' ? '' : `#${rest}` };
}

/** A hint shown before the key is tried: the server's answer is what counts. */
export function keyHint(key: string): string | undefined {
  if (key.startsWith('sbw_')) return 'This is a write key (sbw_…); the dashboard needs the read key (sbr_…).';
  if (key.startsWith('sba_')) return 'This is an admin key (sba_…); log in with the read key (sbr_…). The admin key is asked for only when you create an alert rule.';
  return undefined;
}
