import { describe, expect, it } from 'vitest';
import { prometheusLabelName, prometheusMetricName, prometheusUnit, type MetricKind } from '../src/names.js';

describe('prometheusMetricName', () => {
  // The series mon promises in DESIGN.md.
  it.each<[string, string, MetricKind, string]>([
    ['http.server.request.duration', 's', 'histogram', 'http_server_request_duration_seconds'],
    ['http.server.requests', '{request}', 'monotonic-sum', 'http_server_requests_total'],
    ['http.server.active_requests', '{request}', 'non-monotonic-sum', 'http_server_active_requests'],
    ['db.client.operation.duration', 's', 'histogram', 'db_client_operation_duration_seconds'],
    ['db.client.connection.create_time', 's', 'histogram', 'db_client_connection_create_time_seconds'],
    ['db.client.connection.wait_time', 's', 'histogram', 'db_client_connection_wait_time_seconds'],
    ['rpc.server.call.duration', 's', 'histogram', 'rpc_server_call_duration_seconds'],
    ['rpc.client.call.duration', 's', 'histogram', 'rpc_client_call_duration_seconds'],
    ['system.memory.usage', 'By', 'non-monotonic-sum', 'system_memory_usage_bytes'],
    ['system.memory.usage', 'By', 'gauge', 'system_memory_usage_bytes'],
    ['system.cpu.utilization', '1', 'gauge', 'system_cpu_utilization_ratio'],
    ['process.cpu.time', 's', 'monotonic-sum', 'process_cpu_time_seconds_total'],
    ['system.filesystem.usage', 'By', 'non-monotonic-sum', 'system_filesystem_usage_bytes'],
    ['system.filesystem.utilization', '1', 'gauge', 'system_filesystem_utilization_ratio'],
    ['nodejs.eventloop.delay.p99', 's', 'gauge', 'nodejs_eventloop_delay_p99_seconds'],
    ['v8js.memory.heap.used', 'By', 'non-monotonic-sum', 'v8js_memory_heap_used_bytes'],
    // Container metrics (docs/containers.md): OpenTelemetry's container.* names, and mon's own in their style.
    ['container.memory.limit', 'By', 'non-monotonic-sum', 'container_memory_limit_bytes'],
    ['container.memory.usage', 'By', 'non-monotonic-sum', 'container_memory_usage_bytes'],
    ['container.memory.working_set', 'By', 'non-monotonic-sum', 'container_memory_working_set_bytes'],
    ['container.memory.available', 'By', 'non-monotonic-sum', 'container_memory_available_bytes'],
    ['container.memory.rss', 'By', 'non-monotonic-sum', 'container_memory_rss_bytes'],
    ['container.memory.limit_hits', '{event}', 'monotonic-sum', 'container_memory_limit_hits_total'],
    ['container.memory.oom_kills', '{process}', 'monotonic-sum', 'container_memory_oom_kills_total'],
    ['container.cpu.limit', '{cpu}', 'gauge', 'container_cpu_limit'],
    ['container.cpu.time', 's', 'monotonic-sum', 'container_cpu_time_seconds_total'],
    ['container.cpu.periods', '{period}', 'monotonic-sum', 'container_cpu_periods_total'],
    ['container.cpu.throttled_periods', '{period}', 'monotonic-sum', 'container_cpu_throttled_periods_total'],
    ['container.cpu.throttled_time', 's', 'monotonic-sum', 'container_cpu_throttled_time_seconds_total'],
  ])('%s (%s, %s) -> %s', (name, unit, kind, expected) => {
    expect(prometheusMetricName(name, unit, kind)).toBe(expected);
  });

  // Ported from prometheus/otlptranslator metric_namer_test.go (UTF8Allowed=false, suffixes on).
  it.each<[string, string, MetricKind, string]>([
    ['requests', '', 'monotonic-sum', 'requests_total'],
    ['cpu_usage', '1', 'gauge', 'cpu_usage_ratio'],
    ['items', '1', 'monotonic-sum', 'items_total'],
    ['response_time', 'ms', 'gauge', 'response_time_milliseconds'],
    ['memory_usage', 'By', 'gauge', 'memory_usage_bytes'],
    ['requests', '1/s', 'gauge', 'requests_per_second'],
    ['throughput', 'By/s', 'gauge', 'throughput_bytes_per_second'],
    ['custom_metric', 'custom_unit', 'gauge', 'custom_metric_custom_unit'],
    ['custom_metric', '{custom}', 'gauge', 'custom_metric'],
    ['custom_metric', 'By/{custom}', 'gauge', 'custom_metric_bytes'],
    ['requests_total', '', 'monotonic-sum', 'requests_total'],
    ['cpu_usage_ratio', '1', 'gauge', 'cpu_usage_ratio'],
    ['response_time_seconds', 's', 'gauge', 'response_time_seconds'],
    [
      'metric__with__multiple__underscores',
      'unit__multiple__underscores',
      'gauge',
      'metric_with_multiple_underscores_unit_multiple_underscores',
    ],
    ['custom_metric', 'unit@with#special/chars', 'gauge', 'custom_metric_unit_with_special_per_chars'],
    ['@#$%', '', 'gauge', ''],
    ['request_duration', 's', 'histogram', 'request_duration_seconds'],
    ['request_size', 'By', 'exponential-histogram', 'request_size_bytes'],
    ['response_time', 'ms', 'summary', 'response_time_milliseconds'],
    ['active_connections', '', 'non-monotonic-sum', 'active_connections'],
    ['uptime', 'd', 'gauge', 'uptime_days'],
    ['duration', 'h', 'gauge', 'duration_hours'],
    ['timeout', 'min', 'gauge', 'timeout_minutes'],
    ['latency', 'us', 'gauge', 'latency_microseconds'],
    ['precision_time', 'ns', 'gauge', 'precision_time_nanoseconds'],
    ['cache_size', 'KiBy', 'gauge', 'cache_size_kibibytes'],
    ['memory', 'MiBy', 'gauge', 'memory_mebibytes'],
    ['storage', 'GiBy', 'gauge', 'storage_gibibytes'],
    // Corrected table (otlptranslator#66, spec): tebibytes, and kBy as well as KBy.
    ['capacity', 'TiBy', 'gauge', 'capacity_tebibytes'],
    ['transfer', 'KBy', 'gauge', 'transfer_kilobytes'],
    ['transfer', 'kBy', 'gauge', 'transfer_kilobytes'],
    ['download', 'MBy', 'gauge', 'download_megabytes'],
    ['backup', 'GBy', 'gauge', 'backup_gigabytes'],
    ['archive', 'TBy', 'gauge', 'archive_terabytes'],
    ['distance', 'm', 'gauge', 'distance_meters'],
    ['voltage', 'V', 'gauge', 'voltage_volts'],
    ['current', 'A', 'gauge', 'current_amperes'],
    ['energy', 'J', 'gauge', 'energy_joules'],
    ['power', 'W', 'gauge', 'power_watts'],
    ['weight', 'g', 'gauge', 'weight_grams'],
    ['temperature', 'Cel', 'gauge', 'temperature_celsius'],
    ['frequency', 'Hz', 'gauge', 'frequency_hertz'],
    ['cpu_usage', '%', 'gauge', 'cpu_usage_percent'],
    ['requests', '1/m', 'gauge', 'requests_per_minute'],
    ['events', '1/h', 'gauge', 'events_per_hour'],
    ['transactions', '1/d', 'gauge', 'transactions_per_day'],
    ['reports', '1/w', 'gauge', 'reports_per_week'],
    ['invoices', '1/mo', 'gauge', 'invoices_per_month'],
    ['renewals', '1/y', 'gauge', 'renewals_per_year'],
    ['custom', '1/custom_unit', 'gauge', 'custom_per_custom_unit'],
    ['metric', 'By/', 'gauge', 'metric_bytes'],
    ['metric', ' By / s ', 'gauge', 'metric_bytes_per_second'],
    ['metric', '/', 'gauge', 'metric'],
    ['http.request.duration', 'ms', 'histogram', 'http_request_duration_milliseconds'],
    ['http.requests', '1', 'monotonic-sum', 'http_requests_total'],
  ])('otlptranslator: %s (%s, %s) -> %s', (name, unit, kind, expected) => {
    expect(prometheusMetricName(name, unit, kind)).toBe(expected);
  });

  it('moves `total` and `ratio` words to the end, once', () => {
    expect(prometheusMetricName('total.requests', '', 'monotonic-sum')).toBe('requests_total');
    expect(prometheusMetricName('ratio.of.things', '1', 'gauge')).toBe('of_things_ratio');
    // Only for the kinds that get the suffix.
    expect(prometheusMetricName('total.requests', '', 'gauge')).toBe('total_requests');
    expect(prometheusMetricName('hit.ratio', '1', 'non-monotonic-sum')).toBe('hit_ratio');
  });

  it('does not repeat a unit already present as a word of the name', () => {
    expect(prometheusMetricName('seconds.spent', 's', 'monotonic-sum')).toBe('seconds_spent_total');
    expect(prometheusMetricName('io.bytes', 'By/s', 'gauge')).toBe('io_bytes_per_second');
  });

  it('replaces invalid characters and collapses runs of `_`', () => {
    expect(prometheusMetricName('my-app/queue..depth', '', 'gauge')).toBe('my_app_queue_depth');
    expect(prometheusMetricName('__private__.thing_', '', 'gauge')).toBe('private_thing');
    expect(prometheusMetricName('keeps:colons', '', 'gauge')).toBe('keeps:colons');
    expect(prometheusMetricName('ünïcode.näme', '', 'gauge')).toBe('n_code_n_me');
  });

  it('prefixes a leading digit with `_`', () => {
    expect(prometheusMetricName('2xx.responses', '', 'monotonic-sum')).toBe('_2xx_responses_total');
  });

  it('returns an empty name when nothing valid is left', () => {
    expect(prometheusMetricName('', '', 'gauge')).toBe('');
    expect(prometheusMetricName('ようこそ', 's', 'gauge')).toBe('seconds');
    expect(prometheusMetricName('...', '', 'histogram')).toBe('');
  });

  it('trims units with Go whitespace rules', () => {
    expect(prometheusMetricName('x', '\u0085s\u00a0', 'gauge')).toBe('x_seconds');
    // U+FEFF is not whitespace for Go: it is an invalid character that becomes `_` and is trimmed.
    expect(prometheusMetricName('x', '\ufeffs', 'gauge')).toBe('x_s');
  });

  it('is pure', () => {
    const a = prometheusMetricName('http.server.request.duration', 's', 'histogram');
    const b = prometheusMetricName('http.server.request.duration', 's', 'histogram');
    expect(a).toBe(b);
  });
});

describe('prometheusLabelName', () => {
  // Ported from otlptranslator label_namer_test.go, with Prometheus' defaults
  // (label_name_underscore_sanitization and label_name_preserve_multiple_underscores on).
  it.each([
    ['http.request.method', 'http_request_method'],
    ['http.response.status_code', 'http_response_status_code'],
    ['url.scheme', 'url_scheme'],
    ['error.type', 'error_type'],
    ['service.name', 'service_name'],
    ['label:with:colons', 'label_with_colons'],
    ['LabelWithCapitalLetters', 'LabelWithCapitalLetters'],
    ['label!with&special$chars)', 'label_with_special_chars_'],
    ['label_with_foreign_characters_字符', 'label_with_foreign_characters___'],
    ['label.with.dots', 'label_with_dots'],
    ['123label', 'key_123label'],
    ['_label_starting_with_underscore', 'key_label_starting_with_underscore'],
    // Reserved in Prometheus; otlptranslator passes it through, mon does not.
    ['__label_starting_with_2underscores', 'key__label_starting_with_2underscores'],
    ['__name__', 'key__name__'],
    ['a..b', 'a__b'],
    ['emoji😀x', 'emoji_x'],
    ['', ''],
    ['ようこそ', ''],
    ['..', ''],
  ])('%j -> %j', (key, expected) => {
    expect(prometheusLabelName(key)).toBe(expected);
  });
});

describe('prometheusUnit', () => {
  it.each([
    ['s', 'seconds'],
    ['By/s', 'bytes_per_second'],
    ['1/s', 'per_second'],
    ['1', ''],
    ['{request}', ''],
    ['', ''],
    ['custom_unit', 'custom_unit'],
    ['unit@with#special/chars', 'unit_with_special_per_chars'],
  ])('%j -> %j', (unit, expected) => {
    expect(prometheusUnit(unit)).toBe(expected);
  });
});
