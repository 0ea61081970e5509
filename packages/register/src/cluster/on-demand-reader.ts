// A cumulative MetricReader that collects only when asked: a scrape of the primary, or a message over IPC.
import { MetricReader, type MetricReaderOptions } from '@opentelemetry/sdk-metrics';

// Hung observable callbacks in a process must not hang its answer (the Prometheus reader's bound).
export const OWN_COLLECT_TIMEOUT_MS = 5_000;

/** A cumulative reader that collects only when asked: by a scrape of the primary, or over IPC. */
export class OnDemandReader extends MetricReader {
  readonly #onShutdown: (() => Promise<void>) | undefined;

  constructor(options: MetricReaderOptions & { onShutdown?: () => Promise<void> } = {}) {
    const { onShutdown, ...readerOptions } = options;
    super(readerOptions);
    this.#onShutdown = onShutdown;
  }

  protected override async onShutdown(): Promise<void> {
    await this.#onShutdown?.();
  }

  protected override async onForceFlush(): Promise<void> {
    // Pull: nothing to push.
  }
}
