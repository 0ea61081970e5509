// Processes that inherit the preload but supervise the app rather than run it: mon starts nothing
// in them (first-need.ts, start.ts).
import { debug } from './warn.js';

// Parenthesized functions: compiled with the preload, which runs them in every process (first-need.ts).
/** Whether `script` supervises the app (said under NODE_DEBUG=mon): mon starts nothing there. */
export const isSupervisor = (function isSupervisor(script: string | undefined): boolean {
  if (isPackageManager(script)) {
    // NODE_OPTIONS is inherited by `npm start` itself: npm must not take the metrics port the app wants.
    debug('skipping package manager process %s', script);
    return true;
  }
  if (isPm2Process(script)) {
    // Likewise pm2's CLI and daemon: the daemon would hold the base port that instance 0 serves on.
    debug("skipping pm2's own process %s", script);
    return true;
  }
  return false;
});

const isPackageManager = (function isPackageManager(script: string | undefined): boolean {
  return script !== undefined && /(?:^|[\\/])(npm|npx|npm-cli|npx-cli|yarn|yarnpkg|pnpm|pnpx|corepack)(\.c?js)?$/.test(script);
});

/**
 * pm2's CLI, its daemon (lib/Daemon.js) and pm2-runtime (the daemon in the foreground): they
 * supervise the app. Not lib/ProcessContainer*.js, which runs the app itself.
 */
const isPm2Process = (function isPm2Process(script: string | undefined): boolean {
  // The CLI as run (node_modules/.bin/pm2, /usr/bin/pm2: argv[1] is not resolved through links) or as installed.
  return script !== undefined && /(?:^|[\\/])pm2(?:-dev|-docker|-runtime)?(?:\.js)?$|[\\/]pm2[\\/]lib[\\/]Daemon\.js$/.test(script);
});
