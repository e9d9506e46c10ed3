import { SignalboardError } from '../core/errors.js';
import type { Project } from '../core/project-store.js';
import { closeIfTooLarge, payloadCeiling, type WebSocket } from '../core/uws.js';
import { clientAddress, upgradeWebSocket } from '../core/http.js';
import { eventsFromJson } from './body-parser.js';
import { checkOrigin, type IngestTransportDeps } from './http-ingest.js';

interface IngestSocket {
  project: Project;
  userAgent: string | undefined;
  remoteAddress: string;
  closed: boolean;
  /** Batches received and not yet acked. */
  pending: number;
}

/** Unacked batches one connection may have; past it a batch is refused, so a client can't pile up memory. */
export const MAX_PENDING_BATCHES = 32;


type BatchId = string | number | null;

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function batchIdOf(message: unknown): BatchId {
  const id = (message as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/**
 * WebSocket /v1/ingest for long-lived SDK connections. The key is checked at the
 * upgrade (Bearer or ?key=). Each message is `{"id": ..., "batch": [...]}`; each is
 * answered `{"type": "ack", "id", "accepted", "rejected"}` or, when refused whole,
 * `{"type": "error", "id", "error": {code, message, retryAfter?}}`. Acks may come
 * out of order; the id pairs them.
 */
export function registerWsIngest({ app, logger, access, service, metrics, maxBodyBytes, maxEventsPerRequest, trustProxy }: IngestTransportDeps): void {
  const send = (ws: WebSocket<IngestSocket>, value: unknown) => {
    if (!ws.getUserData().closed) ws.send(JSON.stringify(value));
  };

  const handleBatch = async (ws: WebSocket<IngestSocket>, text: string): Promise<void> => {
    const stopTimer = metrics.requestDuration.startTimer({ transport: 'ws' });
    let id: BatchId = null;
    const socket = ws.getUserData();
    socket.pending++;
    try {
      if (socket.pending > MAX_PENDING_BATCHES) {
        id = batchIdOf(safeParse(text));
        throw new SignalboardError('SB_OVERLOADED', `more than ${MAX_PENDING_BATCHES} batches await their ack on this connection; wait for acks before sending more`, { retryAfterSeconds: 1 });
      }
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch (err) {
        throw new SignalboardError('SB_BODY_UNREADABLE', `the message is not valid JSON: ${(err as Error).message}`);
      }
      id = batchIdOf(message);
      if (message === null || typeof message !== 'object' || Array.isArray(message) || !Object.hasOwn(message, 'batch')) {
        throw new SignalboardError('SB_BODY_UNREADABLE', 'a message must be {"id": <string or number>, "batch": [events]}');
      }
      const items = eventsFromJson({ batch: (message as { batch: unknown }).batch }, maxEventsPerRequest);
      const { project, userAgent, remoteAddress } = ws.getUserData();
      const result = await service.ingest(project, { items, unreadable: new Map() }, { userAgent, remoteAddress });
      send(ws, { type: 'ack', id, ...result });
      stopTimer();
    } catch (err) {
      if (!(err instanceof SignalboardError)) {
        logger.error({ err }, 'ws ingest batch failed');
        send(ws, { type: 'error', id, error: { code: 'SB_INTERNAL', message: 'internal error; see the server log' } });
        return;
      }
      send(ws, { type: 'error', id, error: err.toJSON() });
    } finally {
      socket.pending--;
    }
  };

  app.ws<IngestSocket>('/v1/ingest', {
    maxPayloadLength: payloadCeiling(maxBodyBytes),
    idleTimeout: 120,
    sendPingsAutomatically: true,
    maxBackpressure: 1024 * 1024,
    closeOnBackpressureLimit: 1, // typed as a number, read as a flag
    upgrade: upgradeWebSocket<IngestSocket>(logger, async ({ headers, query, remoteAddress }) => {
      const project = await access.resolve(headers, query, 'write', remoteAddress);
      checkOrigin(project, headers.origin);
      return { project, userAgent: headers['user-agent'], remoteAddress: clientAddress(headers, remoteAddress, trustProxy), closed: false, pending: 0 };
    }),
    message: (ws, message) => {
      if (closeIfTooLarge(ws, message, maxBodyBytes, 'INGEST_MAX_BODY_BYTES')) return;
      // The message buffer is only valid during this callback, so decode it now.
      const text = Buffer.from(message).toString('utf8');
      void handleBatch(ws, text);
    },
    close: (ws) => {
      ws.getUserData().closed = true;
    },
  });
}
