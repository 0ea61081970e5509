// The resource every series carries (Prometheus: target_info). Built from local facts only: no
// resource detector probes a cloud metadata endpoint at start-up, and command-line arguments
// (where secrets live) are never included.
import { readFileSync, realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { SDK_INFO } from '@opentelemetry/core';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { Config } from './config.js';
import { debug } from './warn.js';

export function buildResource(config: Pick<Config, 'serviceName' | 'resourceAttributes'>, mainScript: string | undefined): Resource {
  const app = findAppPackage(mainScript);
  const attributes: Record<string, string | number> = {
    'service.name': app?.name ?? 'unknown_service:node',
    ...(app?.version ? { 'service.version': app.version } : {}),
    ...(SDK_INFO as Record<string, string>),
    'telemetry.distro.name': '@mon/register',
    'process.runtime.name': 'nodejs',
    'process.runtime.version': process.versions.node,
    'process.pid': process.pid,
    'host.name': hostname(),
    // OTEL_RESOURCE_ATTRIBUTES overrides what was detected; OTEL_SERVICE_NAME overrides both.
    ...config.resourceAttributes,
  };
  if (config.serviceName !== undefined) attributes['service.name'] = config.serviceName;
  return resourceFromAttributes(attributes);
}

/**
 * The nearest package.json above the main script (else the working directory) that has a name.
 * Above the script's real path, as Node resolves it: a bin run through its node_modules/.bin
 * symlink (`json-server`, `npx json-server`) is named for its own package either way, not for
 * whichever directory holds the symlink.
 */
function findAppPackage(mainScript: string | undefined): { name: string; version?: string } | undefined {
  let dir = mainScript ? path.dirname(realPath(path.resolve(mainScript))) : process.cwd();
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (typeof pkg.name === 'string' && pkg.name) {
        return { name: pkg.name, ...(typeof pkg.version === 'string' ? { version: pkg.version } : {}) };
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') debug('reading %s/package.json: %s', dir, error);
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function realPath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    // `node -e`, a script deleted since, an unreadable directory: the path as given.
    return file;
  }
}
