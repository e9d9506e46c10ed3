import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { openApiDocument } from '../api/openapi.js';
import { ROLES } from '../bin/start.js';
import { loadConfig } from '../core/config.js';
import { SEGMENT_ROUTES } from '../ingest/segment-ingest.js';

/**
 * The deployment files against the code: the compose file and the Kubernetes example
 * run every role and only roles that exist, set only documented settings with values
 * the config accepts, and nginx and the Ingress send every route to the role that
 * serves it (a Segment route sent to the api role answers 404).
 */
const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

interface K8sDoc {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec: {
    template?: { spec: { containers: Array<{ args?: string[]; readinessProbe?: { httpGet?: { path: string } }; livenessProbe?: { httpGet?: { path: string } } }> } };
    rules?: Array<{ http: { paths: Array<{ path: string; pathType: string; backend: { service: { name: string } } }> } }>;
  };
}
const k8s = parseAllDocuments(read('deploy/kubernetes/signalboard.yaml')).map((d) => d.toJS() as K8sDoc);
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, { image?: string; command?: string[] }>; 'x-environment': Record<string, string> };
const roles = Object.keys(ROLES);

/** Which role serves each route: ingest's own, the gateway's socket, and the api for the rest of the OpenAPI document and the dashboard. */
const ingestPaths = ['/v1/events', '/v1/ingest', '/v1/projects/sbw_key/settings', ...SEGMENT_ROUTES.map((r) => r.path)];
/** Served to Prometheus and the orchestrator on each process, never through the public proxy. */
const internalPaths = ['/metrics', '/readyz'];
const apiPaths = ['/', '/assets/app.js', ...Object.keys(openApiDocument({ INGEST_MAX_EVENT_NAME_LENGTH: 200 }).paths).map((p) => p.replace(/\{[^}]+\}/g, 'x'))].filter(
  (p) => !ingestPaths.includes(p) && !internalPaths.includes(p) && p !== '/v1/events' && p !== '/v1/projects/x/settings',
);
const owners: Array<[string, string]> = [...ingestPaths.map((p) => [p, 'ingest'] as [string, string]), ['/v1/live', 'realtime'], ...apiPaths.map((p) => [p, 'api'] as [string, string])];

/** nginx's choice: an exact location, else the first regex that matches, else the longest prefix; undefined for a location that answers 404 itself. */
function nginxUpstream(conf: string, path: string): string | undefined {
  const locations = [...conf.matchAll(/location\s+(=|~)?\s*(\S+)\s*\{\s*(?:proxy_pass\s+http:\/\/(\w+)|return 404)/g)].map(([, kind, where, upstream]) => ({ kind, where: where!, upstream }));
  const chosen =
    locations.find((l) => l.kind === '=' && l.where === path) ??
    locations.find((l) => l.kind === '~' && new RegExp(l.where).test(path)) ??
    locations.filter((l) => l.kind === undefined && path.startsWith(l.where)).sort((a, b) => b.where.length - a.where.length)[0];
  return chosen?.upstream;
}

/** ingress-nginx with use-regex: regex paths (anchored at the start), else the Prefix. */
function ingressService(path: string): string | undefined {
  const paths = k8s.find((d) => d.kind === 'Ingress')!.spec.rules!.flatMap((r) => r.http.paths);
  return (
    paths.find((p) => p.pathType === 'ImplementationSpecific' && new RegExp(`^${p.path}`).test(path))?.backend.service.name ??
    paths.filter((p) => p.pathType === 'Prefix' && path.startsWith(p.path)).sort((a, b) => b.path.length - a.path.length)[0]?.backend.service.name
  );
}

describe('deployment files', () => {
  it('run every role, and only roles the CLI has', () => {
    const k8sRoles = k8s.filter((d) => d.kind === 'Deployment').map((d) => d.spec.template!.spec.containers[0]!.args![0]);
    expect([...k8sRoles].sort()).toEqual([...roles].sort());
    const composeRoles = Object.values(compose.services).filter((s) => s.image === 'signalboard:latest').map((s) => s.command![0]);
    expect([...composeRoles].sort()).toEqual([...roles].sort());
  });

  it('probe /readyz and /healthz on every role', () => {
    for (const d of k8s.filter((doc) => doc.kind === 'Deployment')) {
      const c = d.spec.template!.spec.containers[0]!;
      expect({ name: d.metadata.name, ready: c.readinessProbe?.httpGet?.path, live: c.livenessProbe?.httpGet?.path }).toEqual({ name: d.metadata.name, ready: '/readyz', live: '/healthz' });
    }
  });

  it('set documented settings, with values the config accepts', () => {
    const documented = new Set([...read('docs/operations.md').matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
    const k8sEnv = Object.assign({}, ...k8s.filter((d) => d.kind === 'ConfigMap' || d.kind === 'Secret').map((d) => ({ ...d.data, ...d.stringData }))) as Record<string, string>;
    // The manifest's token is a placeholder: a deployment that keeps it does not start.
    expect(() => loadConfig(k8sEnv)).toThrow(/ADMIN_TOKEN: is a placeholder/);
    k8sEnv.ADMIN_TOKEN = 'a-token-of-sixteen-characters';
    const composeEnv = { ...compose['x-environment'], ADMIN_TOKEN: 'a-token-of-sixteen-characters' };
    for (const env of [k8sEnv, composeEnv]) {
      expect(Object.keys(env).filter((name) => !documented.has(name))).toEqual([]);
      expect(() => loadConfig(env)).not.toThrow();
    }
  });

  it.each(internalPaths)('nginx and the Ingress keep %s from the public', (path) => {
    expect(nginxUpstream(read('deploy/nginx.conf'), path)).toBeUndefined();
    expect(ingressService(path)).toBeUndefined();
  });

  it.each(owners)('nginx and the Ingress send %s to the %s role', (path, role) => {
    expect(nginxUpstream(read('deploy/nginx.conf'), path)).toBe(role);
    expect(ingressService(path)).toBe(`signalboard-${role}`);
  });
});
