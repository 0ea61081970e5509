import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { mountTemplate } from '../src/express-mount.js';

const require = createRequire(import.meta.url);

/** The Route object of the first route in a router's stack. */
const routeIn = (router: { stack: Array<{ route?: object }> }): object => router.stack.find((layer) => layer.route)!.route!;

describe.each(['express', 'express4'])('mountTemplate on %s', (name) => {
  const express = require(name);

  it('parameters in mount paths, nested routers and sub-apps', () => {
    const app = express();
    const teams = express.Router();
    teams.get('/', () => {});
    const orgs = express.Router();
    orgs.get('/items', () => {});
    orgs.use('/Teams/:team', teams);
    app.use('/orgs/:org', orgs);
    const billing = express();
    billing.get('/invoices/:n', () => {});
    app.use('/accounts/:account', billing);

    expect(mountTemplate(app, '/orgs/acme', routeIn(orgs), false)).toBe('/orgs/:org');
    expect(mountTemplate(app, `/orgs/${'x'.repeat(10_000)}`, routeIn(orgs), false)).toBe('/orgs/:org');
    expect(mountTemplate(app, '/orgs/acme/teams/blue', routeIn(teams), false)).toMatch(/^\/orgs\/:org\/teams\/:team$/i);
    expect(mountTemplate(billing, '/accounts/42', routeIn(billing._router ?? billing.router), false)).toBe('/accounts/:account');
  });

  it('routers mounted at / and several routers on one mount path', () => {
    const app = express();
    const first = express.Router();
    first.get('/a', () => {});
    const second = express.Router();
    second.get('/b', () => {});
    const root = express.Router();
    root.use('/api/:version', first);
    root.use('/api/:version', second);
    app.use(root);
    expect(mountTemplate(app, '/api/v1', routeIn(second), false)).toBe('/api/:version');
  });

  it('a router mounted twice: each baseUrl gets its own mount template', () => {
    const app = express();
    const shared = express.Router();
    shared.get('/x', () => {});
    app.use('/a/:first', shared);
    app.use('/b/:second', shared);
    expect(mountTemplate(app, '/a/1', routeIn(shared), false)).toBe('/a/:first');
    expect(mountTemplate(app, '/b/2', routeIn(shared), false)).toBe('/b/:second');
    expect(mountTemplate(app, '/a/3', routeIn(shared), false)).toBe('/a/:first');
  });

  it('undefined when the routers do not explain the baseUrl', () => {
    const app = express();
    const orgs = express.Router();
    orgs.get('/items', () => {});
    app.use('/orgs/:org', orgs);
    const stray = express.Router();
    stray.get('/x', () => {});
    expect(mountTemplate(app, '/orgs/acme', routeIn(stray), false)).toBeUndefined();
    expect(mountTemplate(app, '/elsewhere', routeIn(orgs), false)).toBeUndefined();
    expect(mountTemplate(undefined, '/orgs/acme', routeIn(orgs), false)).toBeUndefined();
    expect(mountTemplate({ router: { stack: 'not an array' } }, '/orgs/acme', routeIn(orgs), false)).toBeUndefined();
  });
});
