// Attribute keys -> label names, cached, and what both expositions need to know about a label set.
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { prometheusLabelName } from './names.js';

export interface RenderState {
  /** Set when a label set may equal one of a different attribute set. */
  lossy: boolean;
  /** Per attribute key, whether its first value was a string: 1 and "1" render alike. */
  stringKeys: Map<string, boolean>;
}

export interface LabelEntry {
  label: string;
  /** Another key gives the same label (`a.b` and `a_b`). */
  ambiguous: boolean;
}

// Attribute keys are few and repeat on every scrape, so their label names are cached. The cache
// also knows which labels several keys share, so the common case needs no per-series check for
// colliding keys. It is dropped if something feeds it unbounded keys.
const labelEntries = new Map<string, LabelEntry>();
const entryByLabel = new Map<string, LabelEntry>();

export function labelEntry(key: string): LabelEntry {
  let entry = labelEntries.get(key);
  if (entry === undefined) {
    if (labelEntries.size >= 4096) {
      labelEntries.clear();
      entryByLabel.clear();
    }
    entry = { label: prometheusLabelName(key), ambiguous: false };
    const other = entryByLabel.get(entry.label);
    if (other === undefined) {
      entryByLabel.set(entry.label, entry);
    } else {
      other.ambiguous = true;
      entry.ambiguous = true;
    }
    labelEntries.set(key, entry);
  }
  return entry;
}

// Non-string values as the spec's AnyValue text: arrays as JSON, scalars as themselves.
export function attributeText(value: AttributeValue): string {
  return typeof value === 'string' ? value : Array.isArray(value) ? JSON.stringify(value) : String(value);
}


export const TARGET_INFO_HELP = 'Target metadata';
// Command lines carry secrets (tokens in arguments); target_info must never show them.
const SECRET_RESOURCE_KEYS = new Set(['process.command_args', 'process.command_line']);

/** The resource attributes target_info shows: all but the command line. */
export function targetInfoAttributes(attributes: Attributes): Attributes {
  for (const key of SECRET_RESOURCE_KEYS) {
    if (key in attributes) {
      const shown = { ...attributes };
      for (const secret of SECRET_RESOURCE_KEYS) delete shown[secret];
      return shown;
    }
  }
  return attributes;
}

const RESERVED_LE: ReadonlySet<string> = new Set(['le']);
const RESERVED_SCOPE: ReadonlySet<string> = new Set(['otel_scope_name', 'otel_scope_version']);
const RESERVED_LE_SCOPE: ReadonlySet<string> = new Set(['le', 'otel_scope_name', 'otel_scope_version']);

/** Label names an attribute may not take: the exposition writes them itself. */
export function reservedLabels(histogram: boolean, withScopeLabels: boolean): ReadonlySet<string> | undefined {
  if (histogram) return withScopeLabels ? RESERVED_LE_SCOPE : RESERVED_LE;
  return withScopeLabels ? RESERVED_SCOPE : undefined;
}

/**
 * The labels of an attribute set as [name, value, name, value, ...], values unescaped: what the
 * protobuf exposition writes. The same rules as the text renderer (serialize.ts renderAttributes,
 * which builds its string directly because it runs per series on every text scrape): no empty or
 * missing values, reserved names left out, colliding keys joined with `;`, lone surrogates as
 * U+FFFD. Marks `state.lossy` the same way. test/protobuf.test.ts checks that both agree.
 */
export function labelPairs(attributes: Attributes, reserved: ReadonlySet<string> | undefined, state: RenderState): string[] {
  const pairs: string[] = [];
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined || value === null) {
      state.lossy = true;
      continue;
    }
    const entry = labelEntry(key);
    if (entry.ambiguous) return collidingLabelPairs(attributes, reserved, state);
    const label = entry.label;
    const text = labelValue(key, value, label, reserved, state);
    if (text === undefined) continue;
    pairs.push(label, text);
  }
  return pairs;
}

/**
 * The value one attribute is written with under `label` (its labelEntry, not ambiguous), or
 * undefined when it is left out: a reserved or empty label name, an empty value. Marks
 * `state.lossy` where two attribute sets could come out alike (a key seen as a string and as
 * another type; a lone surrogate, written as U+FFFD, which UTF-8 cannot carry). The text and
 * protobuf expositions both write what this returns.
 */
export function labelValue(
  key: string,
  value: AttributeValue,
  label: string,
  reserved: ReadonlySet<string> | undefined,
  state: RenderState,
): string | undefined {
  if (label === '' || (reserved !== undefined && reserved.has(label))) {
    state.lossy = true;
    return undefined;
  }
  const isString = typeof value === 'string';
  const firstWasString = state.stringKeys.get(key);
  if (firstWasString === undefined) state.stringKeys.set(key, isString);
  else if (firstWasString !== isString) state.lossy = true;
  const text = isString ? value : attributeText(value);
  if (text === '') {
    state.lossy = true;
    return undefined;
  }
  if (!text.isWellFormed()) {
    state.lossy = true;
    return text.toWellFormed();
  }
  return text;
}

/** Rare path: several keys sanitize to one label name; their values joined with `;`, ordered by key. */
export function collidingLabelPairs(attributes: Attributes, reserved: ReadonlySet<string> | undefined, state: RenderState): string[] {
  state.lossy = true;
  const keysByLabel = new Map<string, string[]>();
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined || value === null) continue;
    const label = labelEntry(key).label;
    if (label === '' || (reserved !== undefined && reserved.has(label))) continue;
    const keys = keysByLabel.get(label);
    if (keys === undefined) keysByLabel.set(label, [key]);
    else keys.push(key);
  }
  const pairs: string[] = [];
  for (const [label, keys] of keysByLabel) {
    keys.sort();
    const text = keys.map((k) => attributeText(attributes[k]!)).join(';');
    if (text !== '') pairs.push(label, text.toWellFormed());
  }
  return pairs;
}
