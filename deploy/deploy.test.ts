/**
 * deploy/ checked without a Docker engine or a cluster (none exists on these machines): every YAML
 * and JSON parses; every Dockerfile COPY source, entrypoint and npm script exists; every
 * environment variable a manifest sets is documented in README; the Kubernetes objects validate
 * against the Kubernetes API schemas (kubernetes-models, offline) and hang together (selectors,
 * probes, scale targets); every PromQL expression parses with Prometheus' own grammar; the
 * metrics they name are declared in code. e2e/deployMetrics.test.ts checks those metrics on a
 * running orchestrator and worker.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parser as promql } from '@prometheus-io/lezer-promql';
import { parseAllDocuments } from 'yaml';
import { deployMetricNames, dockerfileInstructions, type Instruction } from './deployFiles.js';

const ROOT = resolve(import.meta.dirname, '..');
const DEPLOY = join(ROOT, 'deploy');
const read = (p: string) => readFileSync(p, 'utf8');
const README = read(join(ROOT, 'README.md'));
const PACKAGE = JSON.parse(read(join(ROOT, 'package.json'))) as { workspaces: string[]; dependencies: Record<string, string>; devDependencies: Record<string, string> };

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
const files = walk(DEPLOY);
/** YAML documents of a file, anchors and merge keys resolved. */
function yamlDocs(path: string): Record<string, any>[] {
  return parseAllDocuments(read(path), { merge: true }).map((d) => {
    if (d.errors.length) throw new Error(`${relative(ROOT, path)}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS({ maxAliasCount: 1000 }) as Record<string, any>;
  }).filter((d) => d !== null);
}
const compose = yamlDocs(join(DEPLOY, 'compose.yaml'))[0]!;
const k8s = walk(join(DEPLOY, 'k8s')).filter((f) => f.endsWith('.yaml')).flatMap((f) => yamlDocs(f).map((doc) => ({ file: relative(ROOT, f), doc })));
const dockerfiles = files.filter((f) => f.endsWith('.Dockerfile'));

function promqlErrors(expr: string): string[] {
  const errors: string[] = [];
  promql.parse(expr).iterate({ enter: (n) => void (n.type.isError && errors.push(`at ${n.from}: "${expr.slice(Math.max(0, n.from - 10), n.to + 10)}"`)) });
  return errors;
}

describe('deploy/ files', () => {
  it('parses every YAML and JSON file under deploy/', () => {
    const data = files.filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(data.length).toBeGreaterThanOrEqual(10);
    for (const f of data) {
      if (f.endsWith('.json')) expect(() => JSON.parse(read(f))).not.toThrow();
      else expect(yamlDocs(f).length).toBeGreaterThan(0);
    }
  });

  it('has the orchestrator, worker and NVENC worker Dockerfiles: multi-stage, non-root, with a healthcheck', () => {
    expect(dockerfiles.map((f) => relative(DEPLOY, f)).sort()).toEqual(['docker/orchestrator.Dockerfile', 'docker/worker-nvenc.Dockerfile', 'docker/worker.Dockerfile']);
    for (const f of dockerfiles) {
      const ins = dockerfileInstructions(read(f));
      expect(ins.filter((i) => i.op === 'FROM').length).toBeGreaterThanOrEqual(2);
      const finalStage = ins.slice(ins.map((i) => i.op).lastIndexOf('FROM'));
      expect(finalStage.some((i) => i.op === 'USER' && i.args !== 'root' && i.args !== '0')).toBe(true);
      expect(finalStage.some((i) => i.op === 'HEALTHCHECK' && i.args.includes('/healthz'))).toBe(true);
      expect(finalStage.some((i) => i.op === 'COPY' && i.args.includes('--from=deps'))).toBe(true);
    }
    expect(read(join(DEPLOY, 'docker/worker-nvenc.Dockerfile'))).toMatch(/FFMPEG_PATH=\/usr\/bin\/ffmpeg/);
  });

  it('copies only files that exist, that .dockerignore keeps, and every workspace manifest npm ci needs', () => {
    const ignored = read(join(ROOT, '.dockerignore')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const f of dockerfiles) {
      const ins = dockerfileInstructions(read(f));
      const copies = ins.filter((i): i is Instruction => i.op === 'COPY' && !i.args.includes('--from='));
      for (const c of copies) {
        const parts = c.args.split(/\s+/).filter((p) => !p.startsWith('--'));
        for (const src of parts.slice(0, -1)) {
          expect({ f: relative(ROOT, f), src, exists: existsSync(join(ROOT, src)) }).toEqual({ f: relative(ROOT, f), src, exists: true });
          const hit = ignored.find((pat) => src === pat || src.startsWith(`${pat}/`) || (pat.startsWith('**/') && src.split('/').includes(pat.slice(3))));
          expect({ src, ignoredBy: hit }).toEqual({ src, ignoredBy: undefined });
        }
      }
      // `npm ci` in the deps stage fails unless every workspace's package.json is there.
      for (const ws of PACKAGE.workspaces) expect(copies.some((c) => c.args.startsWith(`${ws}/package.json `))).toBe(true);
    }
  });

  it('runs entrypoints that exist and answer, with tsx installed by npm ci --omit=dev', async () => {
    // bin/segmint runs the TypeScript sources through tsx: it must be a production dependency.
    expect(PACKAGE.dependencies.tsx).toBeDefined();
    expect(PACKAGE.devDependencies.tsx).toBeUndefined();
    const commands = new Map<string, [string[], string[]]>();
    for (const f of dockerfiles) {
      const ins = dockerfileInstructions(read(f));
      const entry = JSON.parse(ins.filter((i) => i.op === 'ENTRYPOINT').at(-1)!.args) as string[];
      const cmd = JSON.parse(ins.filter((i) => i.op === 'CMD').at(-1)!.args) as string[];
      // The entrypoint is an absolute path inside the image: map it back through WORKDIR (COPY . → /app).
      const workdir = ins.filter((i) => i.op === 'WORKDIR').at(-1)!.args;
      expect(entry[0]!.startsWith(`${workdir}/`)).toBe(true);
      commands.set(JSON.stringify([entry, cmd]), [[relative(workdir, entry[0]!), ...entry.slice(1)], cmd]);
    }
    expect(commands.size).toBe(2); // the orchestrator's and the worker's (twice: CPU and NVENC)
    for (const [entry, cmd] of commands.values()) {
      expect(() => accessSync(join(ROOT, entry[0]!), constants.X_OK)).not.toThrow();
      // The image's command, asked for its usage: the subcommand it runs must be one it knows.
      const { stdout, stderr } = await promisify(execFile)(join(ROOT, entry[0]!), [...entry.slice(1), '--help'], { cwd: ROOT }).catch((e: { stdout: string; stderr: string }) => e);
      expect(`${stdout}${stderr}`).toMatch(new RegExp(`(^|\\s)${cmd[0]}\\s`, 'm'));
    }
  }, 60_000);

  it('compose: builds from these Dockerfiles and targets, mounts files that exist, runs npm scripts that exist', () => {
    const services = compose.services as Record<string, any>;
    for (const name of ['redis', 'postgres', 'minio', 'anvil', 'contracts', 'orchestrator-1', 'orchestrator-2', 'lb', 'worker-1', 'worker-2', 'prometheus', 'grafana']) expect(services[name]).toBeDefined();
    for (const [name, s] of Object.entries(services)) {
      if (s.build) {
        const dockerfile = join(DEPLOY, s.build.context, s.build.dockerfile);
        expect(existsSync(dockerfile)).toBe(true);
        const stages = dockerfileInstructions(read(dockerfile)).filter((i) => i.op === 'FROM').map((i) => i.args.split(/\s+AS\s+/i)[1]);
        expect({ name, target: stages.includes(s.build.target) }).toEqual({ name, target: true });
      }
      for (const v of s.volumes ?? []) {
        const src = String(v).split(':')[0]!;
        if (src.startsWith('.')) expect({ name, src, exists: existsSync(join(DEPLOY, src)) }).toEqual({ name, src, exists: true });
      }
      const cmd: string[] = Array.isArray(s.command) ? s.command : [];
      if (cmd[0] === 'npm' && cmd[1] === 'run') {
        const ws = cmd[cmd.indexOf('--workspace') + 1]!;
        const script = cmd.find((c, i) => i > 1 && !c.startsWith('-') && cmd[i - 1] !== '--workspace')!;
        expect(JSON.parse(read(join(ROOT, ws, 'package.json'))).scripts[script]).toBeDefined();
      }
    }
    // Redis as production runs it: AOF and a password.
    expect(services.redis.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--requirepass']));
    // Orchestrators of one deployment share one secret.
    expect(services['orchestrator-1'].environment.SEGMINT_SECRET).toBe(services['orchestrator-2'].environment.SEGMINT_SECRET);
    // Prometheus loads the alert file the compose file mounts.
    const prom = yamlDocs(join(DEPLOY, 'prometheus/prometheus.yml'))[0]!;
    const mounts = (services.prometheus.volumes as string[]).map((v) => v.split(':')[1]);
    for (const rule of prom.rule_files as string[]) expect(mounts).toContain(rule);
  });

  it('every environment variable set for a Segmint container is documented in README', () => {
    // Not Segmint's: Node's own, the NVIDIA runtime's, and a Kubernetes helper for $(POD_IP).
    const foreign = new Set(['NODE_ENV', 'NVIDIA_VISIBLE_DEVICES', 'NVIDIA_DRIVER_CAPABILITIES', 'POD_IP']);
    const names = new Set<string>();
    for (const f of dockerfiles) {
      for (const i of dockerfileInstructions(read(f)).filter((x) => x.op === 'ENV')) for (const m of i.args.matchAll(/([A-Z_][A-Z0-9_]*)=/g)) names.add(m[1]!);
    }
    for (const s of Object.values(compose.services as Record<string, any>)) {
      if (String(s.image ?? '').startsWith('segmint/')) for (const k of Object.keys(s.environment ?? {})) names.add(k);
    }
    for (const { doc } of k8s) {
      if (doc.kind === 'ConfigMap') Object.keys(doc.data ?? {}).forEach((k) => names.add(k));
      if (doc.kind === 'Secret') Object.keys({ ...doc.data, ...doc.stringData }).forEach((k) => names.add(k));
      for (const c of doc.spec?.template?.spec?.containers ?? []) for (const e of c.env ?? []) names.add(e.name);
    }
    expect(names.size).toBeGreaterThan(20);
    const undocumented = [...names].filter((n) => !foreign.has(n) && !README.includes(`\`${n}\``));
    expect(undocumented).toEqual([]);
  });
});

describe('deploy/k8s', () => {
  it('validates every object against the Kubernetes API schemas', async () => {
    expect(k8s.map(({ doc }) => doc.kind).sort()).toEqual(
      ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Namespace', 'PodDisruptionBudget', 'PodDisruptionBudget', 'Secret', 'Service', 'Service', 'Service', 'Service', 'StatefulSet'],
    );
    for (const { file, doc } of k8s) {
      const [group, version] = String(doc.apiVersion).includes('/') ? String(doc.apiVersion).split('/') : ['', String(doc.apiVersion)];
      const mod = (await import(`kubernetes-models/${group ? `${group}/` : ''}${version}/${doc.kind}`)) as Record<string, new (d: unknown) => { validate(): void }>;
      const Model = mod[doc.kind]!;
      expect({ file, kind: doc.kind, error: (() => { try { new Model(doc).validate(); return null; } catch (e) { return (e as Error).message; } })() }).toEqual({ file, kind: doc.kind, error: null });
    }
  });

  it('rejects an invalid object (the validator is not a no-op)', async () => {
    const { Deployment } = await import('kubernetes-models/apps/v1/Deployment');
    const bad = structuredClone(k8s.find(({ doc }) => doc.kind === 'Deployment')!.doc);
    bad.spec.replicas = 'two';
    expect(() => new Deployment(bad).validate()).toThrow(/replicas must be integer/);
  });

  it('hangs together: selectors, probes on /healthz with named ports, graceful termination, requests, scale targets', () => {
    const workloads = k8s.filter(({ doc }) => doc.kind === 'Deployment' || doc.kind === 'StatefulSet').map(({ doc }) => doc);
    expect(workloads.map((w) => `${w.kind}/${w.metadata.name}`).sort()).toEqual(['Deployment/segmint-orchestrator', 'StatefulSet/segmint-worker']);
    const matches = (sel: Record<string, string>, labels: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
    for (const w of workloads) {
      expect(matches(w.spec.selector.matchLabels, w.spec.template.metadata.labels)).toBe(true);
      expect(w.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
      for (const c of w.spec.template.spec.containers) {
        const ports = new Set((c.ports ?? []).map((p: { name: string }) => p.name));
        for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
          expect(c[probe].httpGet.path).toBe('/healthz');
          expect(ports.has(c[probe].httpGet.port)).toBe(true);
        }
        expect(c.resources.requests.cpu).toBeDefined();
        expect(c.resources.requests.memory).toBeDefined();
        for (const ref of c.envFrom ?? []) {
          const kind = ref.configMapRef ? 'ConfigMap' : 'Secret';
          expect(k8s.some(({ doc }) => doc.kind === kind && doc.metadata.name === (ref.configMapRef ?? ref.secretRef).name)).toBe(true);
        }
      }
    }
    // The worker's SIGTERM path finishes segments in hand: give it a segment's deadline + the result grace.
    expect(workloads.find((w) => w.kind === 'StatefulSet')!.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
    const labelsOf = workloads.map((w) => w.spec.template.metadata.labels);
    for (const { doc } of k8s.filter(({ doc }) => doc.kind === 'Service' || doc.kind === 'PodDisruptionBudget')) {
      const sel = doc.kind === 'Service' ? doc.spec.selector : doc.spec.selector.matchLabels;
      expect({ name: doc.metadata.name, selects: labelsOf.some((l) => matches(sel, l)) }).toEqual({ name: doc.metadata.name, selects: true });
    }
    const hpa = k8s.find(({ doc }) => doc.kind === 'HorizontalPodAutoscaler')!.doc;
    expect(workloads.some((w) => w.kind === hpa.spec.scaleTargetRef.kind && w.metadata.name === hpa.spec.scaleTargetRef.name)).toBe(true);
    const ports = k8s.filter(({ doc }) => doc.kind === 'Service').flatMap(({ doc }) => doc.spec.ports.map((p: { port: number }) => p.port));
    expect(ports).toEqual(expect.arrayContaining([1935, 80]));
  });
});

describe('deploy/grafana and deploy/prometheus', () => {
  const dashboard = JSON.parse(read(join(DEPLOY, 'grafana/segmint.json'))) as { panels: { type: string; title: string; datasource?: { uid: string }; targets?: { expr: string }[] }[] };
  const alerts = yamlDocs(join(DEPLOY, 'prometheus/alerts.yaml'))[0]! as { groups: { rules: { alert: string; expr: string; labels: { severity: string } }[] }[] };

  it('every dashboard query and alert expression is valid PromQL', () => {
    const exprs = [...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...alerts.groups.flatMap((g) => g.rules.map((r) => r.expr))];
    expect(exprs.length).toBeGreaterThan(25);
    for (const e of exprs) expect({ e, errors: promqlErrors(e) }).toEqual({ e, errors: [] });
    expect(promqlErrors('sum(rate(segmint_segments_published_total[5m])').length).toBeGreaterThan(0);
  });

  it('has the panels and alerts the operator needs, on the provisioned datasource', () => {
    const datasource = yamlDocs(join(DEPLOY, 'grafana/provisioning/datasources/prometheus.yaml'))[0]!.datasources[0];
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) expect(p.datasource?.uid).toBe(datasource.uid);
    const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join('\n');
    for (const t of ['live streams', 'ingest bitrate', 'ingest health', 'publish latency', 'auction outcomes', 'deadline misses', 'spot-check outcomes', 'slashes', 'tickets sent', 'expected value', 'worker fleet']) expect(titles).toContain(t);
    const rules = alerts.groups.flatMap((g) => g.rules);
    for (const a of ['SegmintNoWorkers', 'SegmintSkipRateRising', 'SegmintPublishLatencyHigh', 'SegmintRedemptionsFailing', 'SegmintRedisUnreachable']) expect(rules.map((r) => r.alert)).toContain(a);
    for (const r of rules) expect(['critical', 'warning']).toContain(r.labels.severity);
  });

  it('names only metrics declared in orchestrator/src/metrics/metrics.ts or worker/src/metrics/workerMetrics.ts', () => {
    const declared = [read(join(ROOT, 'orchestrator/src/metrics/metrics.ts')), read(join(ROOT, 'worker/src/metrics/workerMetrics.ts'))].join('\n');
    const { names } = deployMetricNames(DEPLOY);
    expect(names.length).toBeGreaterThan(20);
    const declaredName = (n: string) =>
      declared.includes(`'${n}'`) ||
      declared.includes(`'${n.replace(/_(bucket|sum|count)$/, '')}'`) ||
      // process metrics from prom-client's collectDefaultMetrics under our prefixes
      /^segmint_(worker_)?process_/.test(n);
    expect(names.filter((n) => !declaredName(n))).toEqual([]);
  });
});
