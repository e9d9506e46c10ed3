import { SignalboardError } from '../core/errors.js';
import type { WebSocket } from '../core/uws.js';
import type { Channel } from './live-messages.js';
import type { LiveSocket } from './live-session.js';
import type { RealtimeMetrics } from './realtime-metrics.js';

/** A message for one socket, with the labels it is counted under (signalboard_live_messages_sent_total). */
export interface Outgoing {
  type: string;
  channel: Channel | 'sync' | 'none';
  text: string;
}

export const out = (type: string, channel: Outgoing['channel'], text: string): Outgoing => ({ type, channel, text });

export interface SenderLimits {
  /** LIVE_MAX_BUFFER_BYTES: past it a socket is closed rather than sent more. */
  maxBufferBytes: number;
  /** LIVE_SOFT_BUFFER_BYTES and LIVE_SLOW_CLOSE_SECONDS, for the slow consumer's close reason. */
  softBufferBytes: number;
  slowCloseSeconds: number;
}

/**
 * Sends to one /v1/live socket within its buffer limit, counting every message under its
 * type and channel; closes a socket that does not read, or with an error.
 */
export class LiveSender {
  constructor(private readonly limits: SenderLimits, private readonly metrics: RealtimeMetrics) {}

  send(ws: WebSocket<LiveSocket>, message: Outgoing): void {
    const s = ws.getUserData();
    if (s.closed || s.closing) return;
    // Past maxBufferBytes the client is closed rather than sent a message it may never
    // get; uWS's own limit is far higher, so the close frame still fits.
    if (ws.getBufferedAmount() + message.text.length > this.limits.maxBufferBytes || ws.send(message.text) === 2) {
      this.closeSlow(ws);
      return;
    }
    this.countSent(message);
  }

  /**
   * Sends one answer (snapshots, a catch-up) whole: the buffer is checked once before it,
   * so a snapshot larger than maxBufferBytes still goes out. False when the socket was
   * closed as slow instead.
   */
  sendAnswer(ws: WebSocket<LiveSocket>, messages: readonly Outgoing[]): boolean {
    const s = ws.getUserData();
    if (s.closed || s.closing) return false;
    if (ws.getBufferedAmount() > this.limits.maxBufferBytes) {
      this.closeSlow(ws);
      return false;
    }
    ws.cork(() => {
      for (const message of messages) {
        ws.send(message.text);
        this.countSent(message);
      }
    });
    return true;
  }

  closeSlow(ws: WebSocket<LiveSocket>): void {
    this.metrics.slowConsumers.inc({ action: 'closed' });
    this.closeWith(ws, new SignalboardError('SB_LIVE_SLOW_CONSUMER', `the client did not read its messages (more than ${this.limits.softBufferBytes} bytes waiting for ${this.limits.slowCloseSeconds} s); reconnect with resume`));
  }

  /** Sends the error, then closes with its close code; nothing is sent after. */
  closeWith(ws: WebSocket<LiveSocket>, error: SignalboardError): void {
    const s = ws.getUserData();
    if (s.closed || s.closing) return;
    s.closing = true;
    this.countSent(out('error', 'none', ''));
    ws.send(JSON.stringify({ type: 'error', error: error.toJSON() }));
    ws.end(error.wsCloseCode, error.code);
  }

  private countSent({ channel, type }: Outgoing): void {
    this.metrics.messages.inc({ channel, type });
  }
}
