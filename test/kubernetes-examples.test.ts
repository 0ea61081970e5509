// examples/kubernetes, parsed as Kubernetes and Prometheus would: the Deployment and the PodMonitor
// as YAML with the structure docs/containers.md promises, the annotation-based scrape config by
// `promtool check config`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { root } from './helpers.js';
import { promtoolBinary, skipWithout } from './prometheus.js';

const dir = path.join(root, 'examples', 'kubernetes');
const load = (name: string): any => yaml.load(readFileSync(path.join(dir, name), 'utf8'));

describe('examples/kubernetes', () => {
  it('deployment.yaml: a named metrics port, mon preloaded, OTEL_RESOURCE_ATTRIBUTES from the Downward API, limits, annotations', () => {
    const d = load('deployment.yaml');
    expect(d.apiVersion).toBe('apps/v1');
    expect(d.kind).toBe('Deployment');
    const pod = d.spec.template;
    expect(d.spec.selector.matchLabels).toEqual(pod.metadata.labels);
    const [container] = pod.spec.containers;
    expect(container.ports).toContainEqual({ name: 'metrics', containerPort: 9464 });
    const env = new Map<string, { value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }>(container.env.map((e: { name: string }) => [e.name, e]));
    expect(env.get('NODE_OPTIONS')!.value).toMatch(/^--import @mon\/register( |$)/);
    expect(env.get('OTEL_EXPORTER_PROMETHEUS_HOST')!.value).toBe('0.0.0.0');
    // The Downward API fields, each into a variable defined before OTEL_RESOURCE_ATTRIBUTES expands it.
    const names = container.env.map((e: { name: string }) => e.name);
    const attributes = env.get('OTEL_RESOURCE_ATTRIBUTES')!.value!;
    const fields: Record<string, string> = { 'k8s.pod.name': 'metadata.name', 'k8s.namespace.name': 'metadata.namespace', 'k8s.node.name': 'spec.nodeName' };
    expect(attributes.split(',').map((pair) => pair.split('=')[0])).toEqual(Object.keys(fields));
    for (const pair of attributes.split(',')) {
      const [key, value] = pair.split('=') as [string, string];
      const variable = /^\$\((\w+)\)$/.exec(value)?.[1];
      expect(variable, key).toBeDefined();
      expect(env.get(variable!)?.valueFrom?.fieldRef.fieldPath, key).toBe(fields[key]);
      expect(names.indexOf(variable), key).toBeLessThan(names.indexOf('OTEL_RESOURCE_ATTRIBUTES'));
    }
    // A heap below the memory limit: 192 MiB under 256Mi.
    expect(container.resources.limits).toEqual({ cpu: '500m', memory: '256Mi' });
    const heap = Number(/--max-old-space-size=(\d+)/.exec(env.get('NODE_OPTIONS')!.value!)?.[1]);
    expect(heap).toBeLessThan(256);
    // The annotations the scrape config reads, naming the metrics port.
    expect(pod.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464', 'prometheus.io/path': '/metrics' });
  });

  it('podmonitor.yaml: selects the Deployment\'s pods and scrapes their port named metrics', () => {
    const m = load('podmonitor.yaml');
    const d = load('deployment.yaml');
    expect(m.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(m.kind).toBe('PodMonitor');
    expect(m.spec.selector.matchLabels).toEqual(d.spec.template.metadata.labels);
    expect(m.spec.podMetricsEndpoints).toHaveLength(1);
    const [endpoint] = m.spec.podMetricsEndpoints;
    expect(endpoint.port).toBe('metrics');
    expect(endpoint.path).toBe('/metrics');
    expect(d.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name)).toContain(endpoint.port);
  });

  it('prometheus-annotations.yml: keeps annotated pods and scrapes the annotated port and path', () => {
    const c = load('prometheus-annotations.yml');
    const [job] = c.scrape_configs;
    expect(job.kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
    const relabel = job.relabel_configs as Array<{ source_labels?: string[]; action?: string; regex?: string; target_label?: string }>;
    expect(relabel[0]).toMatchObject({ source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], action: 'keep', regex: 'true' });
    expect(relabel.find((r) => r.target_label === '__address__')?.source_labels).toContain('__meta_kubernetes_pod_annotation_prometheus_io_port');
    expect(relabel.find((r) => r.target_label === '__metrics_path__')?.source_labels).toEqual(['__meta_kubernetes_pod_annotation_prometheus_io_path']);
    // The address rewrite, as Prometheus applies it (RE2 is a subset of JavaScript's syntax here).
    const address = relabel.find((r) => r.target_label === '__address__')!;
    const re = new RegExp(`^(?:${address.regex})$`);
    expect('10.1.2.3:8080;9464'.replace(re, '$1:$2')).toBe('10.1.2.3:9464');
    expect('10.1.2.3;9464'.replace(re, '$1:$2')).toBe('10.1.2.3:9464');
  });

  it('are the fragments docs/containers.md shows, verbatim', () => {
    const doc = readFileSync(path.join(root, 'docs', 'containers.md'), 'utf8');
    for (const name of ['deployment.yaml', 'podmonitor.yaml', 'prometheus-annotations.yml']) {
      expect(doc, name).toContain(`\`\`\`yaml\n${readFileSync(path.join(dir, name), 'utf8')}\`\`\``);
    }
  });

  describe.skipIf(skipWithout('promtool'))('under promtool', () => {
    it('prometheus-annotations.yml passes `promtool check config` (with the rules it loads)', () => {
      const file = path.join(dir, 'prometheus-annotations.yml');
      let check = spawnSync(promtoolBinary!, ['check', 'config', file], { encoding: 'utf8' });
      let output = `${check.stdout}${check.stderr}`;
      if (/field kubernetes_sd_configs not found/.test(output)) {
        // Debian's Prometheus is built without Kubernetes discovery: check everything else (the
        // relabelling regexes, the rules) with the pods given statically instead.
        console.warn('promtool here has no Kubernetes discovery: checking prometheus-annotations.yml with static targets in its place');
        const tmp = mkdtempSync(path.join(tmpdir(), 'mon-k8s-'));
        try {
          const text = readFileSync(file, 'utf8')
            .replace(/kubernetes_sd_configs:\n\s+- role: pod\n/, "static_configs:\n      - targets: ['10.1.2.3:8080']\n")
            .replace('../grafana/rules.yml', path.join(root, 'examples', 'grafana', 'rules.yml'));
          expect(text).toContain('static_configs');
          writeFileSync(path.join(tmp, 'prometheus.yml'), text);
          check = spawnSync(promtoolBinary!, ['check', 'config', path.join(tmp, 'prometheus.yml')], { encoding: 'utf8' });
          output = `${check.stdout}${check.stderr}`;
        } finally {
          rmSync(tmp, { recursive: true, force: true });
        }
      }
      expect(output).toContain('SUCCESS');
      expect(output).not.toContain('FAILED');
      expect(check.status).toBe(0);
    });
  });
});
