import type { z } from 'zod';
import { SignalboardError } from './errors.js';

/** Validates API input with zod; the first problem becomes a 400 naming the field. */
export function parseParams<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`);
  throw new SignalboardError('SB_PARAM_INVALID', problems.join('; '));
}
