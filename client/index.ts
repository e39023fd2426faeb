/**
 * kiln as a client of `kiln serve` (`kiln --host URL` or KILN_HOST): the connection, and the
 * commands that run on the daemon instead of embedded. See docs/api.md for the protocol.
 */
export { DaemonClient, type ClientOptions } from './connection.js';
export { remoteBuild, type RemoteBuildRequest, type RemoteBuildResult, type RemoteBuildSettings } from './remote-build.js';
export { listContext, contentTar, type ContextList, type ListedEntry } from './context-list.js';
export {
  imageHistory,
  importImage,
  inspectImages,
  listImages,
  loadImages,
  pullImage,
  pushImage,
  removeImage,
  saveImages,
  tagImage,
  type RemoteImage,
  type RemoteImport,
  type RemotePull,
  type RemotePush,
} from './images.js';
export { checkDaemonRoot, daemonDiskUsage, exportImage, pruneDaemon } from './store.js';
export { verifyLogin } from './registry-auth.js';
export { listContainers, runContainer, type RemoteContainer, type RemoteRunIO } from './containers.js';
