// dist/assets.js is written by bundle.mjs after tsc: the browser modules of src/client, compiled,
// as strings keyed by file name (main.js, charts.js, ...).
export declare const ASSET_SOURCES: Readonly<Record<string, string>>;
