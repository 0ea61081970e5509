export { createLivePage, ASSET_PREFIX, ASSETS, HISTORY_PATH } from './live-page.js';
export { createLiveHistory, HISTORY_SPAN_MS, HISTORY_STEP_MS, HISTORY_UNWATCHED_STEP_MS } from './history.js';
export type { AgedPoint, LiveHistory, LiveHistoryOptions } from './history.js';
export type { LivePageHandler, LivePageOptions } from './live-page.js';
