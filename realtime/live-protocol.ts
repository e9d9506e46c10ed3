import { z } from 'zod';
import { SignalboardError } from '../core/errors.js';
import { CHANNELS, type Channel } from './live-messages.js';

/**
 * The messages a client sends on /v1/live (docs/realtime.md), read and checked, pure:
 * the schemas are compiled once per gateway, and every refusal is an SB_ error naming
 * what was wrong.
 */

/** Any client message: its type, and the key and project a first message may carry. */
export interface ClientMessage {
  type: string;
  key: string | undefined;
  project: string | undefined;
  body: unknown;
}

export interface SubscribeMessage {
  channels: Channel[];
  filter?: { events?: string[] };
  resume?: number;
  epoch?: string | null;
  project?: string;
}

export interface LiveProtocol {
  read(text: string): ClientMessage;
  subscribe(body: unknown): SubscribeMessage;
  /** The channels to leave; undefined: all. */
  unsubscribe(body: unknown): Channel[] | undefined;
}

const ANY_TYPE = z.object({ type: z.string(), key: z.unknown().optional(), project: z.unknown().optional() });
const UNSUBSCRIBE = z.object({ channels: z.array(z.enum(CHANNELS)).optional() });

export function liveProtocol(limits: { maxEventFilter: number }): LiveProtocol {
  const subscribe = z.object({
    type: z.literal('subscribe'),
    channels: z.array(z.enum(CHANNELS)).min(1, 'name at least one channel').refine((c) => new Set(c).size === c.length, 'a channel is named twice'),
    filter: z.object({ events: z.array(z.string().min(1).max(200)).min(1).max(limits.maxEventFilter, `at most ${limits.maxEventFilter} event names (LIVE_MAX_EVENT_FILTER)`) }).strict().optional(),
    resume: z.number().int().min(0).optional(),
    epoch: z.string().max(100).nullable().optional(),
    project: z.string().optional(),
    key: z.string().optional(),
  });
  return {
    read(text) {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (err) {
        throw new SignalboardError('SB_LIVE_MESSAGE_INVALID', `the message is not valid JSON: ${(err as Error).message}`);
      }
      const typed = ANY_TYPE.safeParse(body);
      if (!typed.success) throw new SignalboardError('SB_LIVE_MESSAGE_INVALID', 'a message must be a JSON object with a "type"');
      const { type, key, project } = typed.data;
      return { type, key: typeof key === 'string' ? key : undefined, project: typeof project === 'string' ? project : undefined, body };
    },
    subscribe(body) {
      const parsed = subscribe.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const tooMany = issue.path[0] === 'filter' && issue.code === 'too_big';
        throw new SignalboardError(tooMany ? 'SB_LIVE_TOO_MANY_SUBSCRIPTIONS' : 'SB_LIVE_MESSAGE_INVALID', `subscribe: ${issue.path.join('.') || '(message)'}: ${issue.message}`);
      }
      const { channels, filter, resume, epoch, project } = parsed.data;
      return { channels, filter, resume, epoch, project };
    },
    unsubscribe(body) {
      const parsed = UNSUBSCRIBE.safeParse(body);
      if (!parsed.success) throw new SignalboardError('SB_LIVE_MESSAGE_INVALID', `unsubscribe: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`);
      return parsed.data.channels;
    },
  };
}
