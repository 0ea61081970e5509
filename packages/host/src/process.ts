// Process open file descriptors and uptime.
import fs from 'node:fs';
import type { Meter, ObservableCallback } from '@opentelemetry/api';
import type { Report } from './report.js';

export const PROCESS_METRICS = ['process.open_file_descriptors', 'process.uptime'] as const;

// /dev/fd is the portable spelling (macOS, BSDs); on Linux it is a symlink to /proc/self/fd, which
// minimal containers sometimes lack, so go straight to the source. Windows has no fd table.
const FD_DIR = process.platform === 'linux' ? '/proc/self/fd' : process.platform === 'win32' ? undefined : '/dev/fd';
const FIX = "Mount /proc, or leave 'process' out of MON_METRICS (or the groups option).";

export function startProcessMetrics(meter: Meter, report: Report): () => void {
  const stops: Array<() => void> = [];

  if (FD_DIR) {
    const dir = FD_DIR;
    // Not semconv's process.unix.file_descriptor.count: its Prometheus name ends in `_count`, which
    // promtool rejects for anything but histograms and summaries (and reads as one in PromQL).
    const fds = meter.createObservableUpDownCounter('process.open_file_descriptors', {
      unit: '{file_descriptor}',
      description: 'File descriptors open in this process.',
    });
    const fdCallback: ObservableCallback = (result) => {
      try {
        // Minus one: listing the directory opens a descriptor of its own, which the listing shows.
        result.observe(fs.readdirSync(dir).length - 1);
      } catch (error) {
        report('open file descriptors', error, FIX);
      }
    };
    fds.addCallback(fdCallback);
    stops.push(() => fds.removeCallback(fdCallback));
  }

  const uptime = meter.createObservableGauge('process.uptime', {
    unit: 's',
    description: 'Seconds since this process started.',
  });
  const uptimeCallback: ObservableCallback = (result) => {
    result.observe(process.uptime());
  };
  uptime.addCallback(uptimeCallback);
  stops.push(() => uptime.removeCallback(uptimeCallback));

  return () => {
    for (const stop of stops) stop();
  };
}
