// The two sdk-metrics enums the pre-aggregating recorders need at run time, mirrored here: the
// recorders are in the preload's static graph, and an import of the enums from @opentelemetry/sdk-metrics
// brought the whole SDK chunk into it (esbuild keeps them in the chunk of the SDK's dynamic import),
// which a process that never records must not load (start.ts). The values are the SDK's wire values
// and cannot change without breaking every exporter; the types are the SDK's own, so a mismatch
// fails to compile.
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
