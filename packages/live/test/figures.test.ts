import { describe, expect, it } from 'vitest';
import { parseExposition } from '../src/client/exposition.js';
import { bucketIncreases, computePoint, computeStatus, dbStats, histogramQuantile, hostStats, increase, methodStats, routeStats, type Snapshot } from '../src/client/figures.js';

const at = (time: number, text: string): Snapshot => ({ time, samples: parseExposition(text) });

const BUCKETS = ['0.001', '0.005', '0.01', '0.1', '+Inf'];
function histogram(labels: string, counts: number[], sum: number): string {
  const lines = BUCKETS.map((le, i) => `http_server_request_duration_seconds_bucket{${labels},le="${le}"} ${counts[i]}`);
  lines.push(`http_server_request_duration_seconds_sum{${labels}} ${sum}`);
  lines.push(`http_server_request_duration_seconds_count{${labels}} ${counts[counts.length - 1]}`);
  return lines.join('\n');
}

describe('increase', () => {
  it('sums counter growth over series, counts new series from 0 and takes a reset as a restart', () => {
    const before = at(0, 'c{a="1"} 10\nc{a="2"} 50\n');
    const after = at(2000, 'c{a="1"} 15\nc{a="2"} 3\nc{a="3"} 4\n');
    // a=1 grew 5, a=2 was reset (counts 3 since), a=3 is new (4).
    expect(increase(before, after, 'c')).toBe(12);
    expect(increase(before, after, 'c', (l) => l.a === '1')).toBe(5);
    expect(increase(before, after, 'missing')).toBeUndefined();
    expect(increase(before, after, 'c', () => false)).toBeUndefined();
  });
});

describe('histogramQuantile', () => {
  const buckets = [
    { le: 0.001, count: 50 },
    { le: 0.005, count: 90 },
    { le: 0.01, count: 100 },
    { le: Infinity, count: 100 },
  ];

  it('interpolates inside the bucket holding the rank, as Prometheus does', () => {
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.001);
    expect(histogramQuantile(0.25, buckets)).toBeCloseTo(0.0005);
    expect(histogramQuantile(0.7, buckets)).toBeCloseTo(0.003);
    expect(histogramQuantile(0.95, buckets)).toBeCloseTo(0.0075);
  });

  it('answers the highest finite bound for ranks in +Inf, and nothing without observations', () => {
    expect(histogramQuantile(0.99, [{ le: 0.1, count: 1 }, { le: Infinity, count: 10 }])).toBe(0.1);
    expect(histogramQuantile(0.5, [{ le: 0.1, count: 0 }, { le: Infinity, count: 0 }])).toBeUndefined();
    expect(histogramQuantile(0.5, [])).toBeUndefined();
  });

  it('uses bucket increases summed over series, not totals since start', () => {
    const before = at(0, histogram('s="200"', [100, 100, 100, 100, 100], 0.05));
    const after = at(10_000, [histogram('s="200"', [100, 100, 100, 110, 110], 0.5), histogram('s="500"', [0, 0, 0, 10, 10], 0.5)].join('\n'));
    const buckets = bucketIncreases(before, after, 'http_server_request_duration_seconds')!;
    expect(buckets.map((b) => b.count)).toEqual([0, 0, 0, 20, 20]);
    // All 20 new requests took 10-100 ms: the median is interpolated inside that bucket.
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.055);
  });
});

describe('computePoint', () => {
  const first = at(
    0,
    [
      'http_server_requests_total{http_response_status_code="200"} 100',
      'http_server_requests_total{http_response_status_code="404"} 10',
      histogram('s="200"', [100, 110, 110, 110, 110], 0.1),
      'system_cpu_time_seconds_total{cpu_mode="user"} 100',
      'system_cpu_time_seconds_total{cpu_mode="idle"} 300',
      'process_cpu_time_seconds_total{cpu_mode="user"} 5',
      'process_cpu_time_seconds_total{cpu_mode="system"} 1',
      'nodejs_eventloop_time_seconds_total{nodejs_eventloop_state="active"} 1',
      'nodejs_eventloop_time_seconds_total{nodejs_eventloop_state="idle"} 9',
      'v8js_memory_heap_used_bytes{v8js_heap_space_name="old_space"} 100',
    ].join('\n'),
  );
  const second = at(
    2000,
    [
      'http_server_requests_total{http_response_status_code="200"} 116',
      'http_server_requests_total{http_response_status_code="404"} 12',
      'http_server_requests_total{http_response_status_code="500",error_type="500"} 2',
      histogram('s="200"', [110, 130, 130, 130, 130], 0.2),
      'http_server_active_requests{http_request_method="GET"} 3',
      'system_cpu_time_seconds_total{cpu_mode="user"} 101',
      'system_cpu_time_seconds_total{cpu_mode="idle"} 303',
      'process_cpu_time_seconds_total{cpu_mode="user"} 5.3',
      'process_cpu_time_seconds_total{cpu_mode="system"} 1.1',
      'nodejs_eventloop_time_seconds_total{nodejs_eventloop_state="active"} 1.5',
      'nodejs_eventloop_time_seconds_total{nodejs_eventloop_state="idle"} 10.5',
      'v8js_gc_duration_seconds_sum{v8js_gc_type="minor"} 0.02',
      'v8js_memory_heap_used_bytes{v8js_heap_space_name="old_space"} 100',
      'v8js_memory_heap_used_bytes{v8js_heap_space_name="new_space"} 50',
      'process_memory_usage_bytes 4096',
      'nodejs_eventloop_delay_p99_seconds 0.004',
    ].join('\n'),
  );

  it('computes rates, shares and percentiles between scrapes', () => {
    const point = computePoint(second, first, first);
    expect(point.time).toBe(2000);
    expect(point.requestRate).toBeCloseTo(10); // 20 requests in 2 s
    expect(point.clientErrorRate).toBeCloseTo(1);
    expect(point.serverErrorRate).toBeCloseTo(1);
    expect(point.errorRatio).toBeCloseTo(0.1);
    // 10 under 1 ms, 10 in 1-5 ms: p50 is the top of the first bucket.
    expect(point.p50).toBeCloseTo(0.001);
    expect(point.p99).toBeGreaterThan(0.001);
    expect(point.p99).toBeLessThanOrEqual(0.005);
    expect(point.active).toBe(3);
    // 4 CPU-seconds passed (2 s x 2 CPUs), 3 of them idle; the process used 0.4 of them.
    expect(point.cpuSystem).toBeCloseTo(0.25);
    expect(point.cpuProcess).toBeCloseTo(0.1);
    expect(point.loopUtilization).toBeCloseTo(0.25);
    expect(point.gcShare).toBeCloseTo(0.01);
    expect(point.heapUsed).toBe(150);
    expect(point.rss).toBe(4096);
    expect(point.loopDelayP99).toBe(0.004);
  });

  it('has no rates from one scrape, and no percentiles or error ratio without requests', () => {
    const point = computePoint(first, undefined, undefined);
    expect(point.requestRate).toBeUndefined();
    expect(point.p95).toBeUndefined();
    expect(point.errorRatio).toBeUndefined();
    expect(point.heapUsed).toBe(100);
    const quiet = at(0, 'http_server_requests_total 5\n');
    const idle = computePoint(at(2000, 'http_server_requests_total 5\n'), quiet, quiet);
    expect(idle.requestRate).toBe(0);
    expect(idle.errorRatio).toBeUndefined();
  });

  it("shares of a container's limits: working set of the memory limit, CPUs of the CPU limit, periods throttled", () => {
    const container = (time: number, cpu: number, periods: number, throttled: number) =>
      at(
        time,
        [
          'container_memory_working_set_bytes 201326592',
          'container_memory_limit_bytes 268435456',
          'container_cpu_limit 0.5',
          `container_cpu_time_seconds_total{cpu_mode="user"} ${cpu}`,
          `container_cpu_periods_total ${periods}`,
          `container_cpu_throttled_periods_total ${throttled}`,
          '',
        ].join('\n'),
      );
    // 2 s, 0.98 CPU-seconds used: 0.49 CPU of 0.5; 20 periods, 18 throttled.
    const point = computePoint(container(2000, 10.98, 120, 58), container(0, 10, 100, 40), undefined);
    expect(point.containerMemory).toBeCloseTo(0.75);
    expect(point.containerCpu).toBeCloseTo(0.98);
    expect(point.containerThrottled).toBeCloseTo(0.9);
    expect(computeStatus(container(0, 0, 0, 0).samples)).toMatchObject({ containerMemoryLimit: 268435456, containerCpuLimit: 0.5 });
    // No container series, no container figures.
    const bare = computePoint(second, first, first);
    expect([bare.containerMemory, bare.containerCpu, bare.containerThrottled]).toEqual([undefined, undefined, undefined]);
    expect(computeStatus(second.samples).containerMemoryLimit).toBeUndefined();
  });

  it('falls back to the per-collection gauges when the counters are missing', () => {
    const gauges = at(
      0,
      'system_cpu_utilization_ratio{cpu_mode="idle"} 0.75\nsystem_cpu_utilization_ratio{cpu_mode="user"} 0.25\nprocess_cpu_utilization_ratio{cpu_mode="user"} 0.05\nnodejs_eventloop_utilization_ratio 0.2\n',
    );
    const point = computePoint(gauges, undefined, undefined);
    expect(point.cpuSystem).toBeCloseTo(0.25);
    expect(point.cpuProcess).toBeCloseTo(0.05);
    expect(point.loopUtilization).toBeCloseTo(0.2);
  });
});

describe('a cluster (primary + workers, per-process series labelled nodejs_cluster_worker)', () => {
  // The shape mon's primary serves for examples/cluster: per-process gauges once per process.
  const perProcess = (time: number, loopActive: number, loopIdle: number, gc: number) =>
    at(
      time,
      [
        'target_info{service_name="shop",process_pid="42"} 1',
        'process_uptime_seconds{nodejs_cluster_worker="primary"} 7.2',
        'process_uptime_seconds{nodejs_cluster_worker="0"} 7',
        'process_uptime_seconds{nodejs_cluster_worker="1"} 6.9',
        'nodejs_eventloop_delay_p50_seconds{nodejs_cluster_worker="primary"} 0.001',
        'nodejs_eventloop_delay_p50_seconds{nodejs_cluster_worker="0"} 0.004',
        'nodejs_eventloop_delay_p50_seconds{nodejs_cluster_worker="1"} 0.002',
        'nodejs_eventloop_delay_p99_seconds{nodejs_cluster_worker="primary"} 0.0069',
        'nodejs_eventloop_delay_p99_seconds{nodejs_cluster_worker="0"} 0.0055',
        'nodejs_eventloop_delay_p99_seconds{nodejs_cluster_worker="1"} 0.0033',
        'nodejs_eventloop_delay_max_seconds{nodejs_cluster_worker="primary"} 0.008',
        'nodejs_eventloop_delay_max_seconds{nodejs_cluster_worker="0"} 0.02',
        'process_memory_usage_bytes{nodejs_cluster_worker="primary"} 50',
        'process_memory_usage_bytes{nodejs_cluster_worker="0"} 80',
        'process_memory_usage_bytes{nodejs_cluster_worker="1"} 70',
        'v8js_memory_heap_used_bytes{nodejs_cluster_worker="primary",v8js_heap_space_name="old_space"} 30',
        'v8js_memory_heap_used_bytes{nodejs_cluster_worker="0",v8js_heap_space_name="old_space"} 10',
        'v8js_memory_heap_used_bytes{nodejs_cluster_worker="0",v8js_heap_space_name="new_space"} 5',
        'v8js_memory_heap_used_bytes{nodejs_cluster_worker="1",v8js_heap_space_name="old_space"} 40',
        // Counters are summed over processes by the primary; the loop gauge is per process.
        `nodejs_eventloop_time_seconds_total{nodejs_eventloop_state="active"} ${loopActive}`,
        `nodejs_eventloop_time_seconds_total{nodejs_eventloop_state="idle"} ${loopIdle}`,
        'nodejs_eventloop_utilization_ratio{nodejs_cluster_worker="primary"} 0.1',
        'nodejs_eventloop_utilization_ratio{nodejs_cluster_worker="0"} 0.8',
        'nodejs_eventloop_utilization_ratio{nodejs_cluster_worker="1"} 0.5',
        `v8js_gc_duration_seconds_sum{v8js_gc_type="minor"} ${gc}`,
        'http_server_active_requests{http_request_method="GET"} 4',
      ].join('\n'),
    );
  const before = perProcess(0, 0, 30, 0);
  // In 2 s (6 s of loop time over 3 processes): 1.4 s busy on average, 0.16 s in GC.
  const after = perProcess(2000, 1.4, 34.6, 0.16);

  it('shows the primary\'s uptime and counts the processes, never a sum of ages', () => {
    const status = computeStatus(after.samples);
    expect(status.uptime).toBe(7.2);
    expect(status.processes).toBe(3);
    expect(computeStatus(parseExposition('process_uptime_seconds 12.5\n')).processes).toBe(1);
  });

  it('draws the event-loop delay of the slowest process, not the sum over processes', () => {
    const point = computePoint(after, before, before);
    // The primary has the highest p99 (6.9 ms): all three lines are its own.
    expect(point.loopDelayP99).toBe(0.0069);
    expect(point.loopDelayP50).toBe(0.001);
    expect(point.loopDelayMax).toBe(0.008);
    expect(point.loopProcess).toBe('primary');
  });

  it('draws the memory of the process with the largest RSS, its heap summed over spaces only', () => {
    const point = computePoint(after, before, before);
    expect(point.rss).toBe(80);
    expect(point.heapUsed).toBe(15);
    expect(point.memoryProcess).toBe('0');
  });

  it('takes the busiest event loop, not the average, and GC as a share of one process, not a sum', () => {
    const point = computePoint(after, before, before);
    expect(point.loopUtilization).toBeCloseTo(0.8);
    // 0.16 s of GC in 2 s over 3 processes.
    expect(point.gcShare).toBeCloseTo(0.16 / 2 / 3);
    // Requests in flight are a level the primary already sums over live processes.
    expect(point.active).toBe(4);
  });

  it('names no process outside a cluster', () => {
    const single = at(0, 'process_memory_usage_bytes 10\nnodejs_eventloop_delay_p99_seconds 0.001\n');
    const point = computePoint(single, undefined, undefined);
    expect(point.rss).toBe(10);
    expect(point.memoryProcess).toBeUndefined();
    expect(point.loopProcess).toBeUndefined();
  });
});

describe('computeStatus', () => {
  it('reads the resource, totals and disks per mount', () => {
    const status = computeStatus(
      parseExposition(
        [
          'target_info{service_name="shop",process_pid="42",process_runtime_version="20.20.2"} 1',
          'http_server_requests_total{http_response_status_code="200"} 7',
          'process_uptime_seconds 12.5',
          'system_filesystem_usage_bytes{system_device="/dev/vda",system_filesystem_mountpoint="/",system_filesystem_state="used"} 30',
          'system_filesystem_usage_bytes{system_device="/dev/vda",system_filesystem_mountpoint="/",system_filesystem_state="free"} 70',
          'system_filesystem_usage_bytes{system_device="/dev/vda",system_filesystem_mountpoint="/",system_filesystem_state="reserved"} 5',
          'system_filesystem_usage_bytes{system_device="/dev/vdb",system_filesystem_mountpoint="/data",system_filesystem_state="used"} 9',
          'system_filesystem_usage_bytes{system_device="/dev/vdb",system_filesystem_mountpoint="/data",system_filesystem_state="free"} 1',
          'system_filesystem_utilization_ratio{system_device="/dev/vdb",system_filesystem_mountpoint="/data"} 0.9',
          'system_memory_usage_bytes{system_memory_state="used"} 25',
          'system_memory_usage_bytes{system_memory_state="available"} 75',
        ].join('\n'),
      ),
    );
    expect(status).toMatchObject({ service: 'shop', pid: '42', runtimeVersion: '20.20.2', uptime: 12.5, processes: 1, totalRequests: 7 });
    expect(status.systemMemoryUsed).toBe(25);
    expect(status.systemMemoryTotal).toBe(100);
    expect(status.disks).toEqual([
      { mountpoint: '/', device: '/dev/vda', used: 30, free: 70, utilization: 0.3 },
      { mountpoint: '/data', device: '/dev/vdb', used: 9, free: 1, utilization: 0.9 },
    ]);
  });

  it('says 0 requests before the first one', () => {
    expect(computeStatus(parseExposition('process_uptime_seconds 1\n')).totalRequests).toBe(0);
  });
});

describe('routeStats', () => {
  it('gives each route its rate, error ratio and p95 over the window, busiest first', () => {
    const before = at(
      0,
      [
        'http_server_requests_total{http_route="/users/:id",http_response_status_code="200"} 100',
        'http_server_requests_total{http_route="/idle",http_response_status_code="200"} 5',
        histogram('http_route="/users/:id"', [100, 100, 100, 100, 100], 0.05),
      ].join('\n'),
    );
    const after = at(
      10_000,
      [
        'http_server_requests_total{http_route="/users/:id",http_response_status_code="200"} 140',
        'http_server_requests_total{http_route="/users/:id",http_response_status_code="500",error_type="500"} 10',
        'http_server_requests_total{http_route="/idle",http_response_status_code="200"} 5',
        'http_server_requests_total{http_response_status_code="404"} 20',
        histogram('http_route="/users/:id"', [140, 140, 140, 150, 150], 0.5),
        histogram('http_response_status_code="404"', [20, 20, 20, 20, 20], 0.001),
      ].join('\n'),
    );
    const stats = routeStats(before, after);
    expect(stats.map((r) => r.route)).toEqual(['/users/:id', '']);
    expect(stats[0]!.rate).toBeCloseTo(5);
    expect(stats[0]!.errorRatio).toBeCloseTo(0.2);
    // 40 of 50 under 1 ms, 10 in 10-100 ms: p95 is inside the slow bucket.
    expect(stats[0]!.p95).toBeGreaterThan(0.01);
    expect(stats[1]).toMatchObject({ route: '', rate: 2, errorRatio: 0 });
    expect(stats[1]!.p95).toBeLessThanOrEqual(0.001);
  });
});

describe('methodStats', () => {
  it('gives each gRPC method served its rate, server-fault ratio and p95 over the window', () => {
    const rpc = (labels: string, counts: number[]) =>
      [
        ...BUCKETS.map((le, i) => `rpc_server_call_duration_seconds_bucket{${labels},le="${le}"} ${counts[i]}`),
        `rpc_server_call_duration_seconds_count{${labels}} ${counts[counts.length - 1]}`,
      ].join('\n');
    const ok = 'rpc_system_name="grpc",rpc_method="shop.Cart/Add",rpc_response_status_code="OK"';
    const failed = 'rpc_system_name="grpc",rpc_method="shop.Cart/Add",rpc_response_status_code="INTERNAL",error_type="INTERNAL"';
    const notFound = 'rpc_system_name="grpc",rpc_method="shop.Cart/Get",rpc_response_status_code="NOT_FOUND"';
    const before = at(0, [rpc(ok, [10, 10, 10, 10, 10]), rpc(notFound, [1, 1, 1, 1, 1])].join('\n'));
    const after = at(10_000, [rpc(ok, [40, 40, 40, 40, 40]), rpc(failed, [0, 0, 0, 10, 10]), rpc(notFound, [11, 11, 11, 11, 11])].join('\n'));
    const stats = methodStats(before, after);
    expect(stats.map((m) => [m.method, m.rate, m.errorRatio])).toEqual([
      ['shop.Cart/Add', 4, 0.25],
      // NOT_FOUND is the caller's outcome, not a server fault.
      ['shop.Cart/Get', 1, 0],
    ]);
  });
});

describe('hostStats', () => {
  const client = (labels: string, counts: number[]): string =>
    histogram(labels, counts, 0.1).replaceAll('http_server_request_duration_seconds', 'http_client_request_duration_seconds');

  it('gives each host the app calls its call rate, failure ratio and p95, busiest first', () => {
    const api = 'server_address="api.example",server_port="443",url_scheme="https"';
    const before = at(0, [client(`${api},http_response_status_code="200"`, [0, 10, 10, 10, 10])].join('\n'));
    const after = at(
      10_000,
      [
        client(`${api},http_response_status_code="200"`, [0, 50, 50, 50, 50]),
        client(`${api},http_response_status_code="503",error_type="503"`, [0, 0, 0, 5, 5]),
        client('server_address="::1",server_port="8080",url_scheme="http",error_type="ECONNREFUSED"', [1, 1, 1, 1, 1]),
        client('server_address="_OTHER",url_scheme="http",http_response_status_code="200"', [0, 0, 2, 2, 2]),
      ].join('\n'),
    );
    const stats = hostStats(before, after);
    expect(stats.map((h) => [h.host, h.rate, h.errorRatio])).toEqual([
      ['api.example:443', 4.5, 5 / 45],
      ['_OTHER', 0.2, 0],
      ['[::1]:8080', 0.1, 1],
    ]);
    expect(stats[0]!.p95).toBeGreaterThan(0.001);
    expect(stats[0]!.p95).toBeLessThanOrEqual(0.1);
  });

  it('is empty for an app that makes no calls', () => {
    expect(hostStats(at(0, ''), at(10_000, 'http_server_requests_total 5'))).toEqual([]);
  });
});

describe('dbStats', () => {
  const db = (labels: string, counts: number[]): string =>
    histogram(labels, counts, 0.1).replaceAll('http_server_request_duration_seconds', 'db_client_operation_duration_seconds');

  it('gives each (system, operation) its rate, failure ratio and p95 over servers, busiest first', () => {
    const redis = 'db_system_name="redis",server_address="127.0.0.1",server_port="6379"';
    const before = at(0, db(`${redis},db_operation_name="GET"`, [10, 10, 10, 10, 10]));
    const after = at(
      10_000,
      [
        db(`${redis},db_operation_name="GET"`, [90, 100, 100, 100, 100]),
        db('db_system_name="redis",server_address="cache2",server_port="6379",db_operation_name="GET"', [10, 10, 10, 10, 10]),
        db(`${redis},db_operation_name="INCR",error_type="ERR"`, [2, 2, 2, 2, 2]),
        db('db_system_name="mariadb",server_address="db",server_port="3306",db_operation_name="SELECT"', [0, 0, 4, 5, 5]),
        db('db_system_name="mariadb",server_address="db",server_port="3306",db_operation_name="SELECT",error_type="ER_NO_SUCH_TABLE"', [0, 5, 5, 5, 5]),
      ].join('\n'),
    );
    const stats = dbStats(before, after);
    expect(stats.map((d) => [d.operation, d.rate, d.errorRatio])).toEqual([
      ['redis GET', 10, 0],
      ['mariadb SELECT', 1, 0.5],
      ['redis INCR', 0.2, 1],
    ]);
    // 90 of the 100 GETs within 1 ms, all within 5 ms: the 95th lies halfway into the second bucket.
    expect(stats[0]!.p95).toBeCloseTo(0.003);
  });

  it('is empty for an app that makes no database calls', () => {
    expect(dbStats(at(0, ''), at(10_000, 'http_server_requests_total 5'))).toEqual([]);
  });
});
