/**
 * The part of `fetch` the SDKs use, typed structurally so this folder needs neither the
 * DOM's nor Node's types: both global fetches fit it.
 */
export type FetchLike = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

/** What the server answered: status, Retry-After and the JSON body (undefined when not JSON). */
export interface Answer {
  status: number;
  retryAfter: string | null;
  body: unknown;
}

export const eventsUrl = (endpoint: string): string => `${endpoint}/v1/events`;

/** The URL for `navigator.sendBeacon`, which cannot set headers: the key goes in `?key=`. */
export const beaconUrl = (endpoint: string, writeKey: string): string => `${eventsUrl(endpoint)}?key=${encodeURIComponent(writeKey)}`;

/** One request with a batch body; a network failure rejects (the caller retries it). */
export async function postBatch(fetch: FetchLike, url: string, writeKey: string, body: string): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${writeKey}` }, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: parsed };
}
