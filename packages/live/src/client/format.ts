// Numbers as a person reads them on the page: few digits, the unit that fits. Pure.

export function formatRate(perSecond: number): string {
  return `${round(perSecond)}/s`;
}

export function formatSeconds(seconds: number): string {
  if (seconds === 0) return '0';
  if (seconds >= 1) return `${round(seconds)} s`;
  const ms = seconds * 1000;
  if (ms >= 1) return `${round(ms)} ms`;
  return `${round(ms * 1000)} µs`;
}

export function formatPercent(share: number): string {
  return `${round(share * 100)}%`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${round(value)} ${units[unit]}`;
}

export function formatCount(count: number): string {
  return Number.isInteger(count) ? count.toLocaleString('en-US') : round(count);
}

export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

// Three significant digits at most, no trailing zeros: 0.25, 2.5, 25, 250, 2500.
function round(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return String(Number(value.toFixed(digits)));
}
