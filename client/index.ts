/**
 * kiln as a client of `kiln serve` (`kiln --host URL` or KILN_HOST): the connection, and the
 * commands that run on the daemon instead of embedded. See docs/api.md for the protocol.
 */
export { DaemonClient, type ClientOptions } from './connection.js';
export { remoteBuild, type RemoteBuildRequest, type RemoteBuildResult, type RemoteBuildSettings } from './remote-build.js';
export { listContext, contentTar, type ContextList, type ListedEntry } from './context-list.js';
export { REMOTE_COMMANDS, assertRemoteSupported } from './commands.js';
export { listImages, removeImage, tagImage, type RemoteImage } from './images.js';
