/**
 * `kiln serve`: a daemon owning one state root and serving a subset of the Docker Engine API
 * (see docs/api.md) on UNIX sockets and TLS-verified TCP, so the stock docker CLI can drive kiln.
 */
export { startDaemon, type Daemon, type DaemonOptions } from './server.js';
export { DEFAULT_SOCKET, parseHost, type HostSpec, type TlsFiles } from './listeners.js';
export type { LogFormat } from './logger.js';
export { API_VERSION, ARCHIVE_MANIFEST_HEADER, MIN_API_VERSION } from './router.js';
export type { RemoteBuildOptions } from './routes/kiln-build.js';
export type { ErrorDetail } from './http.js';
export type { AuthConfig } from './registry-auth.js';
export { verifyStateRoot, type CheckFinding, type StateCheckReport } from './state-check.js';
export type { PrunePolicy } from './routes/kiln-store.js';
export { FrameReader, type CreateBody } from './containers/index.js';
