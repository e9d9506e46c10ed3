import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createAggregatorMetrics } from '../aggregator/aggregator-metrics.js';
import { createAlertsMetrics } from '../alerts/alerts-metrics.js';
import { createMetricsRegistry } from '../core/metrics.js';
import { createIngestMetrics } from '../ingest/ingest-metrics.js';
import { createRealtimeMetrics } from '../realtime/realtime-metrics.js';

/**
 * The monitoring files in deploy/ against the code: every metric an alert rule or a
 * Grafana panel queries is one a role registers, every alert links a runbook section
 * that exists, and every metric the roles register is documented.
 */
const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

interface Rule {
  alert: string;
  expr: string;
  labels: { severity: string };
  annotations: { summary: string; runbook: string };
}
const rules = (parse(read('deploy/prometheus/alerts.yml')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const grafana = JSON.parse(read('deploy/grafana/signalboard-dashboard.json')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };

function rolesRegistry() {
  const registry = createMetricsRegistry(true);
  createIngestMetrics(registry);
  createAggregatorMetrics(registry);
  createRealtimeMetrics(registry, () => ({ total: 0, max: 0 }));
  createAlertsMetrics(registry);
  return registry;
}

async function registeredMetrics(): Promise<Map<string, string>> {
  return new Map((await rolesRegistry().getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
}

/** The metrics an expression reads, a histogram's _bucket/_sum/_count read as the histogram. */
function metricsIn(expr: string, known: Map<string, string>): string[] {
  return [...expr.matchAll(/\bsignalboard_[a-z_]+/g)].map(([name]) => {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    return base !== name && known.get(base) === 'histogram' ? base : name;
  });
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens. */
function anchors(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/^#{1,6} (.+)$/gm)].map(([, title]) => title!.toLowerCase().replace(/[^\p{L}\p{N} -]/gu, '').replace(/ /g, '-')));
}

describe('the monitoring files', () => {
  it('query only metrics the roles register', async () => {
    const known = await registeredMetrics();
    const queried = [...rules.map((r) => [r.alert, r.expr] as const), ...grafana.panels.flatMap((p) => p.targets.map((t) => [p.title, t.expr] as const))];
    const unknown = queried.flatMap(([where, expr]) => metricsIn(expr, known).filter((m) => !known.has(m)).map((m) => `${where}: ${m}`));
    expect(unknown).toEqual([]);
    // The check reads what it should: the panels and rules do query metrics.
    expect(queried.flatMap(([, expr]) => metricsIn(expr, known)).length).toBeGreaterThan(30);
  });

  it('select only labels those metrics have', async () => {
    const registry = rolesRegistry();
    const exprs = [...rules.map((r) => r.expr), ...grafana.panels.flatMap((p) => p.targets.map((t) => t.expr))];
    const selectors = exprs.flatMap((expr) => [...expr.matchAll(/\b(signalboard_[a-z_]+)\{([^}]*)\}/g)]);
    const wrong = selectors.flatMap(([, name, matchers]) => {
      const metric = registry.getSingleMetric(name!) ?? registry.getSingleMetric(name!.replace(/_(bucket|sum|count)$/, ''));
      const labels = (metric as unknown as { labelNames: string[] } | undefined)?.labelNames ?? [];
      return [...matchers!.matchAll(/([a-z_]+)\s*(=~|!=|!~|=)/g)].map(([, label]) => label!).filter((l) => !labels.includes(l)).map((l) => `${name}{${l}}`);
    });
    expect(wrong).toEqual([]);
    expect(selectors.length).toBeGreaterThan(5);
  });

  it('give every alert a severity, a summary and a runbook section that exists', () => {
    const operations = anchors(read('docs/operations.md'));
    const problems = rules.flatMap((r) => {
      const [file, anchor] = r.annotations.runbook.split('#');
      return [
        ...(['warning', 'critical'].includes(r.labels.severity) ? [] : [`${r.alert}: severity ${r.labels.severity}`]),
        ...(r.annotations.summary ? [] : [`${r.alert}: no summary`]),
        ...(file === 'docs/operations.md' && operations.has(anchor!) ? [] : [`${r.alert}: no section ${r.annotations.runbook}`]),
      ];
    });
    expect(problems).toEqual([]);
    expect(rules.length).toBeGreaterThanOrEqual(9);
  });

  it('leave no metric a role registers undocumented', async () => {
    const docs = read('docs/operations.md') + read('docs/aggregation.md');
    const ours = [...(await registeredMetrics()).keys()].filter((name) => !/^signalboard_(process|nodejs)_/.test(name));
    expect(ours.filter((name) => !docs.includes(`\`${name}`))).toEqual([]);
  });
});
