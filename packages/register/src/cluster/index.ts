// node:cluster: one /metrics for the whole cluster, served by the primary. This file is the table of contents.
//
// Every process (the primary and each worker) builds its own pipeline; they differ in who serves.
// - A worker binds no port. It answers the primary's collect requests over the cluster's IPC
//   channel with its own cumulative metrics, and between scrapes pushes its pre-aggregated (HTTP)
//   metrics when they changed, every 100 ms to 1 s (PUSH_MIN_INTERVAL_MS), so a worker that dies
//   (SIGKILL, OOM, a crash, a graceful disconnect) loses that much of its requests rather than a
//   scrape interval; less often when a push costs more than 0.2 % of a core would allow (thousands
//   of series). Its SDK instruments (the app's own, GC, CPU time) are read at scrapes only:
//   reading them resets interval values (event loop delay, CPU utilization), which must cover the
//   time between scrapes; what they gathered since the last scrape dies with the worker.
// - Every other process may fork workers at any time, so it serves /metrics through
//   ClusterPrimary: a MetricProducer that collects the process itself, asks each worker that said
//   hello, waits at most COLLECT_TIMEOUT_MS (a hung worker counts with its last known values, and
//   is not waited for again until it answers), and merges. With no worker ever seen, it hands on
//   its own collection untouched. A worker that exits is dropped at once (slot freed, no scrape
//   waits for it); its totals are final when its channel closes, or a second later.
// - pm2's cluster mode is the exception: its daemon is the primary and runs no mon, so each
//   instance serves its own metrics on its own port, carrying on from its predecessor's totals.
//
// Merge rules follow the OpenTelemetry data model (sums and histograms are additive, gauges not):
// - totals, monotonic counters and histograms: summed over processes with equal attributes. The
//   last totals of a worker that exits are kept in a retired sum, so they never go backwards.
// - levels, up-down counters (http.server.active_requests, an app's queue length): summed over
//   the live processes; a dead worker's requests are no longer in flight.
// - per process, gauges and mon's host up-down counters (RSS, heap, file descriptors): a sum
//   would hide the one worker that leaks, so one series per process, labelled
//   nodejs.cluster.worker = "primary" or a slot "0".."N-1" that the primary hands out and reuses
//   when a worker is replaced (never the ever-growing worker.id or pid).
// - machine, mon's system.*: the same machine seen from any process; the primary's, unlabelled.
//   Workers do not record them at all (WORKER_VIEWS, workerHostGroups). An app's instruments
//   merge by their kind alone, whatever their names (merge-rule.ts).
//
// Messages carry `cmd: 'NODE_MON'`. Node hands `NODE_`-prefixed cmds to the 'internalMessage'
// event instead of 'message' (documented in child_process, "subject to change"; it has not since
// Node 0.x and test/cluster.e2e.test.ts checks it), so the app's own 'message' handlers on either
// side never see mon's traffic, and a primary without mon ignores a worker's hello.
//
// Files: role.ts (which part this process plays), worker-instruments.ts (what workers leave to the
// primary), on-demand-reader.ts, wire.ts (metrics as JSON), merge-rule.ts and merge.ts (how
// processes add up), peek.ts (the peek flag), protocol.ts (the messages), primary.ts, worker.ts,
// carry-over.ts (a pm2 instance's totals across its restarts).
export { clusterRole } from './role.js';
export type { ClusterRole } from './role.js';
export { WORKER_VIEWS, workerHostGroups } from './worker-instruments.js';
export { OnDemandReader } from './on-demand-reader.js';
export { decodeScopes, encodeScopes } from './wire.js';
export { mergeRule } from './merge-rule.js';
export type { MergeRule } from './merge-rule.js';
export { ClusterMerge, PRIMARY, WORKER_ATTRIBUTE } from './merge.js';
export type { Contribution } from './merge.js';
export { asPeek, isPeeking } from './peek.js';
export { watchEarlyChildren } from './early-children.js';
export type { EarlyChild, EarlyChildren } from './early-children.js';
export { COLLECT_TIMEOUT_MS, ClusterPrimary, clusterPrimaryReader } from './primary.js';
export type { ClusterPrimaryOptions } from './primary.js';
export { PUSH_MAX_INTERVAL_MS, PUSH_MIN_INTERVAL_MS, clusterWorkerReader } from './worker.js';
export { CARRY_INTERVAL_MS, CarryOver, readCarried } from './carry-over.js';
