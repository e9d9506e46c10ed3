import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { IngestResult } from '../ingest/ingest-service.js';
import { openApiDocument } from './openapi.js';

describe('the OpenAPI document', () => {
  const doc = openApiDocument({ INGEST_MAX_EVENT_NAME_LENGTH: 80 });

  it('states the event-name limit this server is configured with', () => {
    expect(doc.components.schemas.Event.properties.event.maxLength).toBe(80);
  });

  it('describes every field an ingest answer can carry, and nothing else', () => {
    const ajv = new Ajv2020({ strict: false });
    const validate = ajv.compile(doc.components.schemas.IngestResult);
    const answers: IngestResult[] = [
      { accepted: 3, rejected: [] },
      { accepted: 1, rejected: [{ index: 1, errors: ['event: must be a string'] }], duplicates: 2 },
      { accepted: 0, rejected: [{ index: 0, errors: ["not stored: Redis did not answer for this event's partition; resend it with the same eventId"], retriable: true }] },
    ];
    for (const answer of answers) expect(validate(answer), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ accepted: 1, rejected: [{ index: 0, errors: [], retry: true }] })).toBe(false);
  });
});
