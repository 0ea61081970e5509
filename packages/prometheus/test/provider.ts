// Test support: a real MeterProvider with a real (pull-only) reader per test, no global state.
import type { AttributeValue } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, MetricReader, type ResourceMetrics, type ViewOptions } from '@opentelemetry/sdk-metrics';

class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

export interface TestProvider {
  provider: MeterProvider;
  collect: () => Promise<ResourceMetrics>;
}

export function testProvider(
  options: { resource?: Record<string, AttributeValue>; views?: ViewOptions[] } = {},
): TestProvider {
  const reader = new CollectingReader();
  const provider = new MeterProvider({
    resource: resourceFromAttributes(options.resource ?? { 'service.name': 'test-service' }),
    readers: [reader],
    views: options.views ?? [],
  });
  return {
    provider,
    collect: async () => {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new AggregateError(errors, 'collection errors');
      return resourceMetrics;
    },
  };
}
