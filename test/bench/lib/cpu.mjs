// Who used the CPUs during a measurement: the processes under test, wrk and this harness, or someone
// else. On a shared 2-core machine another process's burst lands in one variant's round and not the
// next, and no amount of interleaving makes that round comparable: such a measurement is retried.
//
// /proc/stat counts the whole machine; /proc/<pid>/stat a live server; /proc/self/stat this harness
// plus, in cutime/cstime, every child it has reaped (wrk, a server that has exited). Linux only.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every mainstream Linux build
/** A measurement during which other processes used more than this share of one core is retried. */
export const MAX_OTHERS_PERCENT = 10;
const RETRIES = 3;

function machineTicks() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: irq and softirq are left out, because whether
  // loopback's softirq work is charged to the tasks or only to the machine depends on the kernel.
  return { busy: fields[0] + fields[1] + fields[2], steal: fields[7] ?? 0 };
}

function processTicks(pid, withChildren) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After "(comm) ": state is field 3, utime 14, stime 15, cutime 16, cstime 17.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return f[11] + f[12] + (withChildren ? f[13] + f[14] : 0);
}

function snapshot(pids) {
  let ours = processTicks('self', true);
  for (const pid of pids) ours += processTicks(pid, false);
  return { at: performance.now(), machine: machineTicks(), ours };
}

/** CPU used by others (and stolen by the hypervisor) between two snapshots, in % of one core. */
function othersBetween(before, after) {
  const seconds = (after.at - before.at) / 1000;
  const others = after.machine.busy - before.machine.busy - (after.ours - before.ours);
  const steal = after.machine.steal - before.machine.steal;
  const pct = (ticks) => Math.max(0, (100 * ticks) / (TICKS_PER_SECOND * seconds));
  // One stray tick in a 100 ms window is 10%: ask for two before calling it a disturbance.
  const disturbed = others + steal >= 2 && pct(others + steal) > MAX_OTHERS_PERCENT;
  return { others: pct(others), steal: pct(steal), disturbed };
}

/**
 * Runs `measure()` and checks that nothing else ran meanwhile; if something did, waits and runs it
 * again, up to 3 more times. `pids`: live processes under test that are not yet reaped children
 * (a running server); exited children and wrk are counted through /proc/self. Resolves with
 * { value, cpu: { others, steal, disturbed }, retries }: `disturbed` still true means every try was.
 */
export async function undisturbed(measure, { pids = [], onRetry } = {}) {
  for (let retries = 0; ; retries++) {
    const before = snapshot(pids);
    const value = await measure();
    const after = snapshot(pids);
    const cpu = othersBetween(before, after);
    if (!cpu.disturbed || retries === RETRIES) return { value, cpu, retries };
    onRetry?.(cpu);
    // Give the other work time to finish: as long as the measurement took, between 0.5 and 3 s.
    await sleep(Math.min(3_000, Math.max(500, after.at - before.at)));
  }
}

/** CPU seconds (user + system) used so far by a live process. */
export const cpuSeconds = (pid) => processTicks(pid, false) / TICKS_PER_SECOND;

/** CPU seconds used by the children this process has reaped (wrk, once a run is over). */
export const reapedChildrenCpuSeconds = () => (processTicks('self', true) - processTicks('self', false)) / TICKS_PER_SECOND;

export const describeCpu = (cpu) =>
  `others used ${cpu.others.toFixed(0)}% of a core${cpu.steal >= 1 ? `, hypervisor stole ${cpu.steal.toFixed(0)}%` : ''}`;
