import { describe, expect, it } from 'vitest';
import { parseServerMessage } from './live-messages.js';

describe('reading server messages', () => {
  it.each([
    ['{"type":"welcome","protocol":1,"project":"p","channels":[]}', 'welcome'],
    ['{"type":"subscribed","seq":3,"epoch":null,"channels":["events"],"resumed":false}', 'subscribed'],
    ['{"type":"sync","seq":3,"epoch":"12"}', 'sync'],
    ['{"type":"pong","seq":null,"time":1}', 'pong'],
    ['{"type":"error","error":{"code":"SB_X","message":"m"}}', 'error'],
    ['{"type":"snapshot","seq":1,"channel":"events","granularity":"minute","from":"2026-01-01T00:00:00.000Z","counts":[{"event":"a","bucket":"2026-01-01T00:00:00.000Z","count":1}]}', 'snapshot'],
    ['{"type":"delta","seq":1,"channel":"events","event":"a","bucket":"2026-01-01T00:00:00.000Z","increment":2}', 'delta'],
    ['{"type":"delta","seq":1,"channel":"activeUsers","date":"2026-01-01","now":1,"dau":1,"wau":1,"mau":1}', 'delta'],
    ['{"type":"snapshot","seq":1,"channel":"alerts","firing":[]}', 'snapshot'],
    ['{"type":"alert","seq":1,"channel":"alerts","id":"a:1:firing","ruleId":"a","name":"n","state":"firing","value":2,"at":"2026-01-01T00:00:00.000Z","firing":1}', 'alert'],
  ])('reads %s', (text, type) => {
    expect(parseServerMessage(text)?.type).toBe(type);
  });

  it.each([
    ['not JSON', '{'],
    ['not an object', '[1]'],
    ['an unknown type', '{"type":"hello"}'],
    ['a delta of an unknown channel', '{"type":"delta","seq":1,"channel":"weather"}'],
    ['a delta without its increment', '{"type":"delta","seq":1,"channel":"events","event":"a","bucket":"x"}'],
    ['a snapshot with a bad count', '{"type":"snapshot","seq":1,"channel":"events","from":"x","counts":[{"event":"a"}]}'],
    ['an alert with an unknown state', '{"type":"alert","channel":"alerts","id":"a","ruleId":"a","name":"n","state":"odd","at":"x"}'],
    ['a sync without its seq', '{"type":"sync","epoch":"1"}'],
  ])('drops %s', (_case, text) => {
    expect(parseServerMessage(text)).toBeUndefined();
  });
});
