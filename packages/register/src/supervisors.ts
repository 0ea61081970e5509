// Processes that inherit the preload but supervise the app rather than run it: mon starts nothing
// in them (first-need.ts, start.ts).

export function isPackageManager(script: string | undefined): boolean {
  return script !== undefined && /(?:^|[\\/])(npm|npx|npm-cli|npx-cli|yarn|yarnpkg|pnpm|pnpx|corepack)(\.c?js)?$/.test(script);
}

/**
 * pm2's CLI, its daemon (lib/Daemon.js) and pm2-runtime (the daemon in the foreground): they
 * supervise the app. Not lib/ProcessContainer*.js, which runs the app itself.
 */
export function isPm2Process(script: string | undefined): boolean {
  // The CLI as run (node_modules/.bin/pm2, /usr/bin/pm2: argv[1] is not resolved through links) or as installed.
  return script !== undefined && /(?:^|[\\/])pm2(?:-dev|-docker|-runtime)?(?:\.js)?$|[\\/]pm2[\\/]lib[\\/]Daemon\.js$/.test(script);
}
