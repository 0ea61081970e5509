// The enums the pre-aggregating recorders need at run time, mirrored here: the two of sdk-metrics,
// and the API's ValueType. The recorders are in main.js's static graph, which a server's first need
// loads synchronously inside the app's own listen(): an import of the enums from
// @opentelemetry/sdk-metrics brought the whole SDK chunk into it (esbuild keeps them in the chunk of
// the SDK's dynamic import), and ValueType, the graph's only value from @opentelemetry/api, the whole
// bundled API (one more ES module, ~10 KB to compile; test/bench/RESULTS.md, "Start-up"). Both load
// later, with the pipeline. The values are the SDK's and the API's wire values and cannot change
// without breaking every exporter; the types are their own, and test/value-type.test.ts checks
// ValueType's values against the API.
import type { ValueType as ApiValueType } from '@opentelemetry/api';
import type { AggregationTemporality as SdkAggregationTemporality, DataPointType as SdkDataPointType } from '@opentelemetry/sdk-metrics';

export const AggregationTemporality = { DELTA: 0, CUMULATIVE: 1 } as {
  readonly DELTA: SdkAggregationTemporality.DELTA;
  readonly CUMULATIVE: SdkAggregationTemporality.CUMULATIVE;
};
export type AggregationTemporality = SdkAggregationTemporality;
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace AggregationTemporality {
  type DELTA = SdkAggregationTemporality.DELTA;
  type CUMULATIVE = SdkAggregationTemporality.CUMULATIVE;
}

export const DataPointType = { HISTOGRAM: 0, EXPONENTIAL_HISTOGRAM: 1, GAUGE: 2, SUM: 3 } as {
  readonly HISTOGRAM: SdkDataPointType.HISTOGRAM;
  readonly EXPONENTIAL_HISTOGRAM: SdkDataPointType.EXPONENTIAL_HISTOGRAM;
  readonly GAUGE: SdkDataPointType.GAUGE;
  readonly SUM: SdkDataPointType.SUM;
};
export type DataPointType = SdkDataPointType;
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace DataPointType {
  type HISTOGRAM = SdkDataPointType.HISTOGRAM;
  type EXPONENTIAL_HISTOGRAM = SdkDataPointType.EXPONENTIAL_HISTOGRAM;
  type GAUGE = SdkDataPointType.GAUGE;
  type SUM = SdkDataPointType.SUM;
}

export const ValueType = { INT: 0, DOUBLE: 1 } as {
  readonly INT: ApiValueType.INT;
  readonly DOUBLE: ApiValueType.DOUBLE;
};
