import uWS, { type WebSocket } from 'uWebSockets.js';
import { SignalboardError } from './errors.js';

export { uWS };
export type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_listen_socket, us_socket_context_t } from 'uWebSockets.js';

/**
 * The uWebSockets.js build silently swaps in a slow JavaScript implementation when its
 * native binary fails to load. That fallback exports only `App`; the native module also
 * exports `getParts` and `us_socket_local_port`, so their absence gives it away.
 */
export function isNativeUws(mod: object = uWS): boolean {
  return typeof (mod as { getParts?: unknown }).getParts === 'function'
    && typeof (mod as { us_socket_local_port?: unknown }).us_socket_local_port === 'function';
}

export function assertNativeUws(allowFallback: boolean): void {
  if (isNativeUws() || allowFallback) return;
  throw new SignalboardError(
    'SB_UWS_FALLBACK',
    `uWebSockets.js could not load its native binary for Node ${process.version} (ABI ${process.versions.modules}, ${process.platform}-${process.arch}) `
      + 'and fell back to a slow JavaScript implementation. Run on a supported Node (20 on Linux x64/arm64), '
      + 'or set ALLOW_UWS_FALLBACK=true to accept the slow server.',
  );
}

/**
 * uWS drops a connection whose message passes `maxPayloadLength` without a close frame:
 * the client sees 1006, like a network failure, and would just reconnect and resend.
 * So uWS's limit is set well above ours, and a message past ours is refused with 1009
 * (RFC 6455: message too big), which a client can tell apart. Past the ceiling, 1006.
 */
export function payloadCeiling(limitBytes: number): number {
  return Math.max(4 * limitBytes, 64 * 1024);
}

/** Closes with 1009 when `message` is over `limitBytes`; true when it did. */
export function closeIfTooLarge(ws: WebSocket<unknown>, message: ArrayBuffer, limitBytes: number, setting: string): boolean {
  if (message.byteLength <= limitBytes) return false;
  ws.end(1009, `message of ${message.byteLength} bytes; at most ${limitBytes} (${setting})`);
  return true;
}
