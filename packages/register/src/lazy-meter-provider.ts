// The global MeterProvider the app sees from the preload on, before the OpenTelemetry SDK is loaded.
//
// Why: @opentelemetry/api has no proxy for metrics, so the global provider must exist before the
// app's first line (a module takes its meter at its top level), while loading and building the SDK
// (sdk-metrics, resources, readers) is most of what the preload used to cost every process that
// inherits NODE_OPTIONS, including the many that never record anything (`node -e`, a test runner's
// workers, a CLI). So the preload registers a smaller stand-in still (first-need.ts), which hands
// every getMeter() to this provider; the app's first getMeter() starts loading the SDK (start.ts), and once it is built every meter and instrument handed out before is
// bound to the SDK's own. What the app records before that (a few milliseconds: the load is
// asynchronous, an ES module cannot be loaded synchronously) is kept and replayed into the SDK, so
// it is counted; instruments created after that are the SDK's own, with no indirection.
import type {
  Attributes,
  BatchObservableCallback,
  BatchObservableResult,
  Context,
  Meter,
  MeterOptions,
  MeterProvider,
  MetricOptions,
  Observable,
  ObservableCallback,
} from '@opentelemetry/api';
import { debug } from './warn.js';

/** Calls kept per instrument until the SDK is bound: the load takes milliseconds, a loop can record more. */
const MAX_PENDING_CALLS = 10_000;

type SyncKind = 'createCounter' | 'createUpDownCounter' | 'createHistogram' | 'createGauge';
type ObservableKind = 'createObservableCounter' | 'createObservableUpDownCounter' | 'createObservableGauge';
/** What the SDK's synchronous instruments offer: add (counters) or record (histogram, gauge). */
interface SyncInstrument {
  add?(value: number, attributes?: Attributes, context?: Context): void;
  record?(value: number, attributes?: Attributes, context?: Context): void;
}

export class LazyMeterProvider implements MeterProvider {
  #sdk: MeterProvider | undefined;
  #dropped = false;
  #meters: LazyMeter[] = [];
  readonly #onFirstMeter: () => void;

  /** `onFirstMeter` loads the SDK and calls bind() (or drop()); called once, at the first getMeter. */
  constructor(onFirstMeter: () => void) {
    this.#onFirstMeter = onFirstMeter;
  }

  getMeter(name: string, version?: string, options?: MeterOptions): Meter {
    if (this.#sdk) return this.#sdk.getMeter(name, version, options);
    const meter = new LazyMeter(name, version, options);
    if (this.#dropped) {
      // Its instruments do nothing and keep nothing: no SDK will ever take their calls.
      meter.drop();
      return meter;
    }
    this.#meters.push(meter);
    if (this.#meters.length === 1) this.#onFirstMeter();
    return meter;
  }

  /** Whether the app asked for a meter before the SDK was bound. */
  get asked(): boolean {
    return this.#meters.length > 0;
  }

  /** From now on, meters are the SDK's; those handed out before are bound to it, their calls replayed. */
  bind(sdk: MeterProvider): void {
    this.#sdk = sdk;
    for (const meter of this.#meters) meter.bind(sdk.getMeter(meter.name, meter.version, meter.options));
    this.#meters = [];
  }

  /** The SDK could not be built: what was kept is let go, and every instrument does nothing. */
  drop(): void {
    this.#dropped = true;
    for (const meter of this.#meters) meter.drop();
    this.#meters = [];
  }
}

class LazyMeter implements Meter {
  #sdk: Meter | undefined;
  #dropped = false;
  #bindings: Array<(sdk: Meter | undefined) => void> = [];

  constructor(
    readonly name: string,
    readonly version: string | undefined,
    readonly options: MeterOptions | undefined,
  ) {}

  createCounter = this.#sync('createCounter') as Meter['createCounter'];
  createUpDownCounter = this.#sync('createUpDownCounter') as Meter['createUpDownCounter'];
  createHistogram = this.#sync('createHistogram') as Meter['createHistogram'];
  createGauge = this.#sync('createGauge') as Meter['createGauge'];
  createObservableCounter = this.#observable('createObservableCounter') as Meter['createObservableCounter'];
  createObservableUpDownCounter = this.#observable('createObservableUpDownCounter') as Meter['createObservableUpDownCounter'];
  createObservableGauge = this.#observable('createObservableGauge') as Meter['createObservableGauge'];

  addBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    if (this.#sdk) return this.#sdk.addBatchObservableCallback(sdkBatchCallback(callback), observables.map(sdkObservable));
    if (this.#dropped) return;
    this.#bindings.push((sdk) => sdk?.addBatchObservableCallback(sdkBatchCallback(callback), observables.map(sdkObservable)));
  }

  removeBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    if (this.#sdk) return this.#sdk.removeBatchObservableCallback(sdkBatchCallback(callback), observables.map(sdkObservable));
    if (this.#dropped) return;
    this.#bindings.push((sdk) => sdk?.removeBatchObservableCallback(sdkBatchCallback(callback), observables.map(sdkObservable)));
  }

  bind(sdk: Meter): void {
    this.#sdk = sdk;
    for (const binding of this.#bindings) binding(sdk);
    this.#bindings = [];
  }

  /** What was kept is let go; instruments made from now on (the app keeps its meter) keep nothing. */
  drop(): void {
    this.#dropped = true;
    for (const binding of this.#bindings) binding(undefined);
    this.#bindings = [];
  }

  #sync(kind: SyncKind) {
    return (name: string, options?: MetricOptions): SyncInstrument => {
      if (this.#sdk) return this.#sdk[kind](name, options);
      const instrument = new LazyInstrument(name);
      if (this.#dropped) instrument.bind(undefined);
      else this.#bindings.push((sdk) => instrument.bind(sdk?.[kind](name, options)));
      return instrument;
    };
  }

  #observable(kind: ObservableKind) {
    return (name: string, options?: MetricOptions): Observable => {
      if (this.#sdk) return this.#sdk[kind](name, options);
      const instrument = new LazyObservable();
      if (this.#dropped) instrument.bind(undefined);
      else this.#bindings.push((sdk) => instrument.bind(sdk?.[kind](name, options)));
      return instrument;
    };
  }
}

/** A counter, up-down counter, histogram or gauge: its calls are kept until the SDK's is bound. */
class LazyInstrument implements SyncInstrument {
  #sdk: SyncInstrument | undefined;
  #full = false;
  #pending: Array<{ add: boolean; value: number; attributes: Attributes | undefined; context: Context | undefined }> | undefined = [];

  constructor(private readonly name: string) {}

  add(value: number, attributes?: Attributes, context?: Context): void {
    if (this.#sdk) this.#sdk.add!(value, attributes, context);
    else this.#keep(true, value, attributes, context);
  }

  record(value: number, attributes?: Attributes, context?: Context): void {
    if (this.#sdk) this.#sdk.record!(value, attributes, context);
    else this.#keep(false, value, attributes, context);
  }

  bind(sdk: SyncInstrument | undefined): void {
    const pending = this.#pending ?? [];
    this.#pending = undefined;
    if (sdk === undefined) return;
    this.#sdk = sdk;
    for (const { add, value, attributes, context } of pending) {
      if (add) sdk.add!(value, attributes, context);
      else sdk.record!(value, attributes, context);
    }
  }

  #keep(add: boolean, value: number, attributes: Attributes | undefined, context: Context | undefined): void {
    // undefined: dropped (the SDK could not be built); the instrument does nothing, as the API's no-op one.
    if (this.#pending === undefined) return;
    if (this.#pending.length >= MAX_PENDING_CALLS) {
      if (!this.#full) debug('%s: more than %d calls before the SDK loaded; later ones are not counted', this.name, MAX_PENDING_CALLS);
      this.#full = true;
      return;
    }
    // A copy: the app may reuse its attributes object before the SDK reads this one.
    this.#pending.push({ add, value, attributes: attributes && { ...attributes }, context });
  }
}

/** An observable instrument: its callbacks run only at collections, which need the SDK loaded. */
class LazyObservable implements Observable {
  sdk: Observable | undefined;
  #callbacks: ObservableCallback[] | undefined = [];

  addCallback(callback: ObservableCallback): void {
    if (this.sdk) this.sdk.addCallback(callback);
    else this.#callbacks?.push(callback);
  }

  removeCallback(callback: ObservableCallback): void {
    if (this.sdk) this.sdk.removeCallback(callback);
    else if (this.#callbacks) this.#callbacks = this.#callbacks.filter((c) => c !== callback);
  }

  bind(sdk: Observable | undefined): void {
    const callbacks = this.#callbacks ?? [];
    this.#callbacks = undefined;
    this.sdk = sdk;
    for (const callback of callbacks) sdk?.addCallback(callback);
  }
}

/** The SDK's instrument behind one the app holds (the SDK knows only its own, by identity). */
function sdkObservable(observable: Observable): Observable {
  return observable instanceof LazyObservable ? (observable.sdk ?? observable) : observable;
}

/**
 * A batch callback, as the SDK must get it: observing through the app's instruments, which are
 * ours when they were created before the SDK was bound. One wrapper per callback, so the app's
 * removeBatchObservableCallback finds the one it added.
 */
const batchCallbacks = new WeakMap<BatchObservableCallback, BatchObservableCallback>();
function sdkBatchCallback(callback: BatchObservableCallback): BatchObservableCallback {
  let wrapped = batchCallbacks.get(callback);
  if (wrapped === undefined) {
    wrapped = (result: BatchObservableResult) =>
      callback({ observe: (observable, value, attributes) => result.observe(sdkObservable(observable), value, attributes) });
    batchCallbacks.set(callback, wrapped);
  }
  return wrapped;
}
