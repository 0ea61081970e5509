// The custom series of the scrape benches, shared by scrape.mjs (an sdk-metrics Meter in the bench
// process) and many-series.mjs (the app's Meter from @opentelemetry/api, under the preload), so both
// render the same shape: per attribute set, a counter (1 series) and a 16-boundary histogram (17
// buckets, _sum and _count: 19 series), 20 series in all. Attribute sets look like HTTP ones:
// method, a distinct route, status code.

/** The stable semconv duration boundaries plus 1 and 2.5 ms. */
export const BOUNDARIES = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** Series per attribute set: counter + histogram. */
export const SERIES_PER_SET = 1 + BOUNDARIES.length + 3;

const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];

export function attributeSet(i) {
  return {
    'http.request.method': METHODS[i % METHODS.length],
    'http.route': `/api/v1/items/${i}`,
    'http.response.status_code': 200 + (i % 5),
  };
}

/** Values spread over the buckets; three per attribute set. */
export const valuesOf = (i) => [0, 1, 2].map((k) => ((i * 7 + k * 13) % 1000) / 500);

/** Creates `sets` attribute sets on `app.requests` and, unless counterOnly, `app.request.duration`. */
export function record(meter, sets, { counterOnly = false } = {}) {
  const counter = meter.createCounter('app.requests', { description: 'Requests handled.' });
  const histogram = counterOnly
    ? undefined
    : meter.createHistogram('app.request.duration', {
        unit: 's',
        description: 'Request duration.',
        advice: { explicitBucketBoundaries: BOUNDARIES },
      });
  for (let i = 0; i < sets; i++) {
    const attributes = attributeSet(i);
    counter.add(i + 1, attributes);
    if (histogram) for (const v of valuesOf(i)) histogram.record(v, attributes);
  }
}
