export { createLivePage, ASSET_PREFIX, ASSETS } from './live-page.js';
export type { LivePageHandler, LivePageOptions } from './live-page.js';
