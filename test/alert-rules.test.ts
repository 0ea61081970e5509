// examples/grafana/rules.yml judged by the real promtool: it loads clean, its unit tests
// (rules.test.yml) pass, and those tests cover every alert four ways: it fires, it stays quiet on a
// healthy app, it stays quiet across a restart, it keeps firing across a scrape gap.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { alertNames, compressTime, rulesPath, rulesTestPath } from './alert-rules.js';
import { promtoolBinary, skipWithout } from './prometheus.js';

interface Expectation {
  alertname: string;
  evalTime: string;
  firing: boolean;
}
interface TestGroup {
  name: string;
  expectations: Expectation[];
}

/** The test groups of rules.test.yml and, in each, which alert is expected firing or not when. */
function testGroups(text: string): TestGroup[] {
  const tests = text.slice(text.indexOf('\ntests:\n'));
  return tests
    .split(/\n {2}- name: /)
    .slice(1)
    .map((group) => {
      const expectations: Expectation[] = [];
      // `- { eval_time: 2m, alertname: X, exp_alerts: [] }`: nothing firing.
      for (const m of group.matchAll(/\{ eval_time: (\S+), alertname: (\w+), exp_alerts: \[\] \}/g)) {
        expectations.push({ evalTime: m[1]!, alertname: m[2]!, firing: false });
      }
      // `- eval_time: 3m` / `alertname: X` / `exp_alerts:` followed by alerts.
      for (const m of group.matchAll(/- eval_time: (\S+)\n\s+alertname: (\w+)\n\s+exp_alerts:(.*)/g)) {
        expectations.push({ evalTime: m[1]!, alertname: m[2]!, firing: m[3]!.trim() !== '[]' });
      }
      return { name: group.slice(0, group.indexOf('\n')), expectations };
    });
}

function promtool(args: string[]): { status: number | null; output: string } {
  const result = spawnSync(promtoolBinary!, args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const alerts = alertNames();
const groups = testGroups(readFileSync(rulesTestPath, 'utf8'));

describe('the alerting rules', () => {
  it('define the alerts the README lists, each with a summary, a description and a severity', () => {
    expect(alerts).toEqual([
      'NodejsHTTPErrorBudgetFastBurn',
      'NodejsHTTPErrorBudgetSlowBurn',
      'NodejsHTTPLatencyBudgetFastBurn',
      'NodejsHTTPLatencyBudgetSlowBurn',
      'NodejsGRPCServerErrors',
      'NodejsAppDown',
      'NodejsAppServingNothing',
      'NodejsEventLoopDelayHigh',
      'NodejsMemoryNearLimit',
      'NodejsFilesystemFillingUp',
      'NodejsCPUThrottled',
      'NodejsContainerOOMKill',
      'NodejsDatabaseErrorsHigh',
    ]);
    const text = readFileSync(rulesPath, 'utf8');
    const blocks = text.split(/\n\s*- alert: /).slice(1);
    for (const block of blocks) {
      const name = block.slice(0, block.indexOf('\n'));
      expect(block, name).toMatch(/\n\s+severity: (page|warning)\n/);
      expect(block, name).toMatch(/\n\s+summary: /);
      // The description names at least one series mon serves and says where to look first.
      expect(block, name).toMatch(/\n\s+description: [\s\S]*Series: [\s\S]*Look first at/);
    }
    const readme = readFileSync(path.join(path.dirname(rulesPath), 'README.md'), 'utf8');
    for (const name of alerts) expect(readme, name).toContain(`\`${name}\``);
  });

  it('have unit tests for every alert: firing, quiet when healthy, quiet across a restart, firing across a scrape gap', () => {
    for (const alertname of alerts) {
      const of = (group: TestGroup) => group.expectations.filter((e) => e.alertname === alertname);
      const fires = groups.some((g) => of(g).some((e) => e.firing));
      const quiet = groups.some((g) => g.name.endsWith('no alert') && of(g).length > 0 && of(g).every((e) => !e.firing));
      const restart = groups.some((g) => /restart/.test(g.name) && g.name.endsWith('no alert') && of(g).length > 0 && of(g).every((e) => !e.firing));
      // Firing at two or more times during and after the gap: a restarted `for:` clock would miss one.
      const gap = groups.some((g) => /gap/.test(g.name) && of(g).filter((e) => e.firing).length >= 2);
      expect({ alertname, fires, quiet, restart, gap }).toEqual({ alertname, fires: true, quiet: true, restart: true, gap: true });
    }
  });
});

describe.skipIf(skipWithout('promtool'))('the alerting rules under promtool', () => {
  it('pass `promtool check rules` with no complaint', () => {
    const { status, output } = promtool(['check', 'rules', rulesPath]);
    expect(output.trim()).toBe(`Checking ${rulesPath}\n  SUCCESS: ${output.match(/SUCCESS: (\d+) rules found/)?.[1]} rules found`);
    expect(status).toBe(0);
  });

  it('pass their unit tests (`promtool test rules rules.test.yml`)', () => {
    const { status, output } = promtool(['test', 'rules', rulesTestPath]);
    expect(output).toContain('SUCCESS');
    expect(output).not.toContain('FAILED');
    expect(status).toBe(0);
  }, 120_000);

  it('compress into a copy for fast end-to-end tests that promtool also accepts', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mon-rules-'));
    try {
      const compressed = compressTime(readFileSync(rulesPath, 'utf8'), 60);
      expect(compressed).toContain('rate(http_server_requests_total[5s])');
      expect(compressed).toContain('rate(http_server_requests_total[60s] offset 10s)');
      expect(compressed).toContain('rate(nodejs_eventloop_delay_seconds_bucket[3s])))\n          )[5s:1s]) > 0.1');
      expect(compressed).toMatch(/alert: NodejsHTTPErrorBudgetFastBurn\n[\s\S]*?\n {8}for: 2s\n/);
      expect(compressed).toContain('predict_linear(system_filesystem_utilization_ratio{system_filesystem_mode="rw"}[360s], (24 * 3600) / 60)');
      expect(alertNames(compressed)).toEqual(alerts);
      writeFileSync(path.join(dir, 'rules.yml'), compressed);
      const { status, output } = promtool(['check', 'rules', path.join(dir, 'rules.yml')]);
      expect(output).toContain('SUCCESS');
      expect(status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
