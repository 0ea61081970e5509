// Small hand-written SVG line charts: a few series over the last minutes, y from 0 to a round
// maximum, three grid lines. Drawn at the element's pixel size (redrawn on resize) so lines and
// labels stay crisp without scaling tricks. No library: the page must load from the app with
// nothing fetched from elsewhere.

const SVG = 'http://www.w3.org/2000/svg';

export interface LineSeries {
  /** CSS class giving the colour (`s1`..`s5`). */
  className: string;
  values: ReadonlyArray<number | undefined>;
}

export interface ChartOptions {
  /** Times (ms) of the values, oldest first; one per value. */
  times: readonly number[];
  /** Right edge of the time axis (ms). */
  now: number;
  /** Width of the time axis (ms). */
  span: number;
  format: (value: number) => string;
  /** The y axis reaches at least this high, so noise near 0 is not blown up to full height. */
  minMax: number;
  /** Rounds the top of the y axis up; default niceCeiling (binary units want niceBytes). */
  nice?: (value: number) => number;
}

const HEIGHT = 132;
const PAD = { left: 52, right: 8, top: 8, bottom: 18 };

export function drawLineChart(svg: SVGSVGElement, series: readonly LineSeries[], options: ChartOptions): void {
  const width = Math.max(160, Math.floor(svg.parentElement?.clientWidth ?? 320));
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(HEIGHT));
  svg.setAttribute('viewBox', `0 0 ${width} ${HEIGHT}`);
  svg.replaceChildren();

  const plotWidth = width - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const start = options.now - options.span;
  let max = 0;
  for (const { values } of series) {
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value !== undefined && Number.isFinite(value) && options.times[i]! >= start) max = Math.max(max, value);
    }
  }
  const top = (options.nice ?? niceCeiling)(Math.max(max, options.minMax));
  const x = (time: number): number => PAD.left + ((time - start) / options.span) * plotWidth;
  const y = (value: number): number => PAD.top + plotHeight - (Math.min(value, top) / top) * plotHeight;

  for (const fraction of [0, 0.5, 1]) {
    const gy = y(top * fraction);
    svg.append(element('line', { class: 'grid', x1: PAD.left, x2: width - PAD.right, y1: gy, y2: gy }));
    const label = element('text', { class: 'axis', x: PAD.left - 6, y: gy + 4, 'text-anchor': 'end' });
    label.textContent = options.format(top * fraction);
    svg.append(label);
  }
  const spanLabel = element('text', { class: 'axis', x: PAD.left, y: HEIGHT - 4 });
  spanLabel.textContent = `−${formatSpan(options.span)}`;
  const nowLabel = element('text', { class: 'axis', x: width - PAD.right, y: HEIGHT - 4, 'text-anchor': 'end' });
  nowLabel.textContent = 'now';
  svg.append(spanLabel, nowLabel);

  for (const { className, values } of series) {
    let d = '';
    let points = 0;
    let pen = false;
    let lone: [number, number] | undefined;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      const time = options.times[i]!;
      if (value === undefined || !Number.isFinite(value) || time < start) {
        pen = false;
        continue;
      }
      const px = x(time).toFixed(1);
      const py = y(value).toFixed(1);
      d += `${pen ? 'L' : 'M'}${px} ${py}`;
      lone = pen ? undefined : [Number(px), Number(py)];
      pen = true;
      points++;
    }
    const path = element('path', { class: `line ${className}`, d, 'data-points': points });
    svg.append(path);
    // A single point has no line to draw: mark it so the first value is visible at once.
    if (points === 1 && lone !== undefined) svg.append(element('circle', { class: `dot ${className}`, cx: lone[0], cy: lone[1], r: 2.5 }));
  }
}

/** The smallest of 1, 2, 2.5, 5 x 10^n that is at least `value`. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value * (1 - 1e-9)) return step * power;
  return 10 * power;
}

/** niceCeiling in the binary unit the value is shown in (KiB, MiB, GiB), so axis labels are round. */
export function niceBytes(value: number): number {
  let unit = 1;
  while (value >= unit * 1024 && unit < 1024 ** 4) unit *= 1024;
  return niceCeiling(value / unit) * unit;
}

function formatSpan(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 90 ? `${seconds}s` : `${Math.round(seconds / 60)}m`;
}

function element(name: string, attributes: Record<string, string | number>): SVGElement {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}
