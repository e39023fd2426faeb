/** The route table: every endpoint the daemon serves, in match order (literal paths before `{name}`). */
import type { Route } from '../router.js';
import { auth } from './auth.js';
import { buildImage, pruneCache } from './build.js';
import * as containers from './containers.js';
import * as images from './images.js';
import { buildFromSession, checkContext } from './kiln-build.js';
import * as kilnStore from './kiln-store.js';
import { info, ping, version } from './system.js';

export const routes: Route[] = [
  { method: 'GET', pattern: '/_ping', handler: ping },
  { method: 'GET', pattern: '/version', handler: version },
  { method: 'GET', pattern: '/info', handler: info },
  { method: 'POST', pattern: '/auth', handler: auth },

  { method: 'POST', pattern: '/build', handler: buildImage },
  { method: 'POST', pattern: '/build/prune', handler: pruneCache },

  { method: 'POST', pattern: '/kiln/v1/build/context/check', handler: checkContext },
  { method: 'POST', pattern: '/kiln/v1/build', handler: buildFromSession },
  { method: 'POST', pattern: '/kiln/v1/prune', handler: kilnStore.pruneStore },
  { method: 'GET', pattern: '/kiln/v1/du', handler: kilnStore.usage },
  { method: 'POST', pattern: '/kiln/v1/check', handler: kilnStore.check },
  { method: 'GET', pattern: '/kiln/v1/images/{name}/export', handler: kilnStore.exportImage },

  { method: 'GET', pattern: '/images/json', handler: images.list },
  { method: 'POST', pattern: '/images/create', handler: images.pull },
  { method: 'GET', pattern: '/images/get', handler: images.save },
  { method: 'POST', pattern: '/images/load', handler: images.load },
  { method: 'GET', pattern: '/images/{name}/json', handler: images.inspect },
  { method: 'GET', pattern: '/images/{name}/history', handler: images.history },
  { method: 'GET', pattern: '/images/{name}/get', handler: images.save },
  { method: 'POST', pattern: '/images/{name}/tag', handler: images.tag },
  { method: 'POST', pattern: '/images/{name}/push', handler: images.push },
  { method: 'DELETE', pattern: '/images/{name}', handler: images.remove },

  { method: 'GET', pattern: '/containers/json', handler: containers.list },
  { method: 'POST', pattern: '/containers/create', handler: containers.create },
  { method: 'GET', pattern: '/containers/{id}/json', handler: containers.inspect },
  { method: 'GET', pattern: '/containers/{id}/logs', handler: containers.logs },
  { method: 'POST', pattern: '/containers/{id}/start', handler: containers.start },
  { method: 'POST', pattern: '/containers/{id}/wait', handler: containers.wait },
  { method: 'POST', pattern: '/containers/{id}/stop', handler: containers.stop },
  { method: 'POST', pattern: '/containers/{id}/kill', handler: containers.kill },
  { method: 'POST', pattern: '/containers/{id}/resize', handler: containers.resize },
  { method: 'POST', pattern: '/containers/{id}/attach', upgrade: containers.attach },
  { method: 'DELETE', pattern: '/containers/{id}', handler: containers.remove },
];
