import type { z } from 'zod';
import { SignalboardError } from './errors.js';

/** Validates API input with zod; the first problem becomes a 400 naming the field. */
export function parseParams<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`);
  throw new SignalboardError('SB_PARAM_INVALID', problems.join('; '));
}

/** Query parameters every route takes besides its own: the credentials (core/project-access.ts). */
const CREDENTIAL_PARAMS = new Set(['key', 'project']);

/**
 * Validates a query string with zod, strictly: a parameter given twice or one the route
 * does not take (`rule[$ne]=x`, `granularity[]=day`) is a 400 naming it, instead of the
 * last value winning or the parameter being ignored.
 */
export function parseQuery<S extends z.ZodObject>(schema: S, query: URLSearchParams): z.infer<S> {
  const taken = Object.keys(schema.shape);
  const seen = new Set<string>();
  for (const name of query.keys()) {
    if (seen.has(name)) throw new SignalboardError('SB_PARAM_INVALID', `${name}: given more than once`);
    seen.add(name);
    if (!CREDENTIAL_PARAMS.has(name) && !taken.includes(name)) {
      throw new SignalboardError('SB_PARAM_INVALID', `${name}: not a parameter of this route (it takes ${taken.join(', ')})`);
    }
  }
  return parseParams(schema, Object.fromEntries([...query].filter(([name]) => !CREDENTIAL_PARAMS.has(name))));
}
