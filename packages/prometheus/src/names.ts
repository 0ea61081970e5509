// OpenTelemetry -> Prometheus names, as Prometheus' OTLP receiver and the Collector produce them
// (github.com/prometheus/otlptranslator: MetricNamer with suffixes, UnitNamer, LabelNamer; default
// "UnderscoreEscapingWithSuffixes" strategy). Pull (our /metrics) and push (OTLP into Prometheus)
// must give the same series, so this file follows that code rule by rule, including its odd corners,
// rather than the prose of the spec. Pure functions, no state.

/**
 * The OpenTelemetry point kind of a metric, as far as naming cares: monotonic sums get `_total`,
 * gauges with unit `1` get `_ratio`; the other kinds only get a unit suffix.
 */
export type MetricKind =
  | 'monotonic-sum'
  | 'non-monotonic-sum'
  | 'gauge'
  | 'histogram'
  | 'exponential-histogram'
  | 'summary';

// UCUM unit -> Prometheus base unit word (otlptranslator unitMap). TiBy and kBy follow the corrected
// table (otlptranslator#66, spec table): "tebibytes", "kilobytes"; KBy stays as an alias.
const UNITS: ReadonlyMap<string, string> = new Map([
  ['d', 'days'],
  ['h', 'hours'],
  ['min', 'minutes'],
  ['s', 'seconds'],
  ['ms', 'milliseconds'],
  ['us', 'microseconds'],
  ['ns', 'nanoseconds'],
  ['By', 'bytes'],
  ['KiBy', 'kibibytes'],
  ['MiBy', 'mebibytes'],
  ['GiBy', 'gibibytes'],
  ['TiBy', 'tebibytes'],
  ['kBy', 'kilobytes'],
  ['KBy', 'kilobytes'],
  ['MBy', 'megabytes'],
  ['GBy', 'gigabytes'],
  ['TBy', 'terabytes'],
  ['m', 'meters'],
  ['V', 'volts'],
  ['A', 'amperes'],
  ['J', 'joules'],
  ['W', 'watts'],
  ['g', 'grams'],
  ['Cel', 'celsius'],
  ['Hz', 'hertz'],
  ['1', ''],
  ['%', 'percent'],
]);

// The unit after '/' is singular: By/s -> bytes_per_second (otlptranslator perUnitMap).
const PER_UNITS: ReadonlyMap<string, string> = new Map([
  ['s', 'second'],
  ['m', 'minute'],
  ['h', 'hour'],
  ['d', 'day'],
  ['w', 'week'],
  ['mo', 'month'],
  ['y', 'year'],
]);

// Go's strings.TrimSpace (unicode.IsSpace): JavaScript's \s minus U+FEFF, plus U+0085.
const GO_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+';
const GO_TRIM = new RegExp(`^${GO_SPACE}|${GO_SPACE}$`, 'g');
const INVALID_METRIC_CHARS = /[^a-zA-Z0-9:]+/g; // runs: replaced by one `_`, as FieldsFunc + Join do
// `u`: one `_` per code point, as Go's regexp replaces per rune (an emoji is one `_`, not two).
const INVALID_LABEL_CHAR = /[^a-zA-Z0-9_]/gu;

/**
 * The Prometheus metric name for an OpenTelemetry metric: invalid characters to `_` (runs collapsed),
 * the unit as a suffix (`s` -> `_seconds`, `By/s` -> `_bytes_per_second`, `{request}` -> nothing),
 * `_total` for monotonic sums, `_ratio` for gauges of unit `1`, a suffix already present as a word of
 * the name is not repeated, a leading digit gets a `_` prefix.
 *
 * Returns `''` when nothing valid is left (Prometheus rejects such a metric too).
 */
export function prometheusMetricName(name: string, unit: string, kind: MetricKind): string {
  let tokens = splitTokens(name);
  const [main, per] = unitSuffixes(unit);
  let mainSuffix = cleanUpUnit(main);
  let perSuffix = cleanUpUnit(per);

  // addUnitTokens: a suffix already present anywhere among the name's words is not added again.
  if (tokens.includes(mainSuffix)) mainSuffix = '';
  if (perSuffix === 'per_') {
    perSuffix = '';
  } else {
    if (perSuffix.endsWith('_')) perSuffix = perSuffix.slice(0, -1);
    if (tokens.includes(perSuffix)) perSuffix = '';
  }
  if (perSuffix !== '' && mainSuffix.endsWith('_')) mainSuffix = mainSuffix.slice(0, -1);
  if (mainSuffix !== '') tokens.push(mainSuffix);
  if (perSuffix !== '') tokens.push(perSuffix);

  // `total` / `ratio` anywhere in the name move to the end, once.
  if (kind === 'monotonic-sum') {
    tokens = tokens.filter((t) => t !== 'total');
    tokens.push('total');
  }
  if (unit === '1' && kind === 'gauge') {
    tokens = tokens.filter((t) => t !== 'ratio');
    tokens.push('ratio');
  }

  let result = tokens.join('_');
  if (isDigit(result.charCodeAt(0))) result = '_' + result;
  return result !== name && isAllUnderscores(result) ? '' : result;
}

/**
 * The Prometheus label name for an attribute key: each invalid character (per code point) to `_`,
 * runs kept (Prometheus' default `label_name_preserve_multiple_underscores`), a leading digit gets
 * `key_`, a leading `_` gets `key` (default `label_name_underscore_sanitization`). Also `__x`, where
 * otlptranslator passes it through: names starting with `__` are reserved for Prometheus itself
 * (`__name__`, `__address__`; relabelling drops the rest), and exposition parsers such as Python's
 * prometheus_client reject them, so an attribute never gets one.
 *
 * Returns `''` when nothing valid is left.
 */
export function prometheusLabelName(key: string): string {
  if (key === '') return '';
  const label = key.replace(INVALID_LABEL_CHAR, '_');
  if (label !== key && isAllUnderscores(label)) return '';
  if (isDigit(label.charCodeAt(0))) return 'key_' + label;
  return label.charCodeAt(0) === UNDERSCORE ? 'key' + label : label;
}

/**
 * The Prometheus unit word of a UCUM unit (`s` -> `seconds`, `By/s` -> `bytes_per_second`, `1` and
 * `{request}` -> `''`), as otlptranslator's UnitNamer gives it: the OpenMetrics `# UNIT` value.
 */
export function prometheusUnit(unit: string): string {
  const [main, per] = unitSuffixes(unit);
  const mainUnit = cleanUpUnit(main);
  const perUnit = cleanUpUnit(per);
  let u = mainUnit !== '' && perUnit !== '' ? `${mainUnit}_${perUnit}` : mainUnit !== '' ? mainUnit : perUnit;
  if (u.startsWith('_')) u = u.slice(1);
  if (u.endsWith('_')) u = u.slice(0, -1);
  return u;
}

const UNDERSCORE = 0x5f;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAllUnderscores(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== UNDERSCORE) return false;
  return true;
}

// strings.FieldsFunc(name, !isValidCompliantMetricChar): words of [a-zA-Z0-9:], `_` is a separator.
function splitTokens(name: string): string[] {
  return name.split(INVALID_METRIC_CHARS).filter((t) => t !== '');
}

// buildUnitSuffixes: the unit words before cleaning; annotations (`{...}`) give no suffix.
function unitSuffixes(unit: string): [main: string, per: string] {
  const slash = unit.indexOf('/');
  const mainUcum = goTrimSpace(slash === -1 ? unit : unit.slice(0, slash));
  let main = '';
  if (mainUcum !== '' && !hasBrace(mainUcum)) main = UNITS.get(mainUcum) ?? mainUcum;
  let per = '';
  if (slash !== -1 && slash + 1 < unit.length) {
    const perUcum = goTrimSpace(unit.slice(slash + 1));
    if (perUcum !== '' && !hasBrace(perUcum)) per = 'per_' + (PER_UNITS.get(perUcum) ?? perUcum);
  }
  return [main, per];
}

function hasBrace(s: string): boolean {
  return s.includes('{') || s.includes('}');
}

function goTrimSpace(s: string): string {
  return s.replace(GO_TRIM, '');
}

// cleanUpUnit: invalid characters to `_`, runs collapsed, one leading `_` removed.
function cleanUpUnit(unit: string): string {
  const cleaned = unit.replace(INVALID_METRIC_CHARS, '_');
  return cleaned.startsWith('_') ? cleaned.slice(1) : cleaned;
}

/**
 * The unit a metric family declares (OpenMetrics `# UNIT`, the protobuf `unit` field), or `''`:
 * its Prometheus unit word, `ratio` for unit `1` (the suffix gauges of unit `1` get), declared only
 * when the family name ends with it, as OpenMetrics requires. `name` is the sample name (counters
 * end in `_total`, which the family name of an OpenMetrics counter leaves out).
 */
export function familyUnit(name: string, unit: string, counter: boolean): string {
  const word = unit === '1' ? 'ratio' : prometheusUnit(unit);
  const familyName = counter ? name.slice(0, -'_total'.length) : name;
  return word !== '' && familyName.endsWith('_' + word) ? word : '';
}
