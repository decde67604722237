/** Readers of deploy/ for its tests: Dockerfile instructions, and the metrics the dashboard and alerts name. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export type Instruction = { op: string; args: string };

/** Dockerfile instructions, continuation lines joined, comments dropped. */
export function dockerfileInstructions(text: string): Instruction[] {
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

/** One `name{label="value"}` selector in a query. */
export type MetricMatcher = { name: string; label: string; value: string };

/** Every PromQL expression of deploy/grafana/segmint.json and deploy/prometheus/alerts.yaml. */
export function deployExpressions(deployDir: string): string[] {
  const dashboard = JSON.parse(readFileSync(join(deployDir, 'grafana/segmint.json'), 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
  const alerts = parse(readFileSync(join(deployDir, 'prometheus/alerts.yaml'), 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  return [...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...alerts.groups.flatMap((g) => g.rules.map((r) => r.expr))];
}

/**
 * The Segmint series the dashboard and the alerts query (names starting `segmint_`, as written:
 * a histogram's `_bucket`), and their exact-match label selectors (`{outcome="failed"}`).
 */
export function deployMetricNames(deployDir: string): { names: string[]; matchers: MetricMatcher[] } {
  const names = new Set<string>();
  const matchers: MetricMatcher[] = [];
  for (const expr of deployExpressions(deployDir)) {
    for (const m of expr.matchAll(/\b(segmint_[a-z0-9_]+)(\{([^}]*)\})?/g)) {
      names.add(m[1]!);
      for (const l of (m[3] ?? '').matchAll(/([a-z_]+)\s*=\s*"([^"]*)"/g)) matchers.push({ name: m[1]!, label: l[1]!, value: l[2]! });
    }
  }
  return { names: [...names].sort(), matchers };
}
