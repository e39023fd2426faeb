/** `/_ping`, `/version`, `/info`: what the docker CLI asks before anything else. */
import { existsSync, readFileSync } from 'node:fs';
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import { sendJson } from '../http.js';
import { API_VERSION, MIN_API_VERSION, type Handler } from '../router.js';

// From source (daemon/routes/) package.json is two levels up; from dist/daemon/routes/ three.
const pkgUrl = [new URL('../../package.json', import.meta.url), new URL('../../../package.json', import.meta.url)].find((u) => existsSync(u))!;
const pkg = JSON.parse(readFileSync(pkgUrl, 'utf8')) as { version: string };

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export const ping: Handler = async (_ctx, { req, res }) => {
  res.writeHead(200, {
    'API-Version': API_VERSION,
    'OSType': 'linux',
    'Docker-Experimental': 'false',
    // The classic builder protocol (a tar context on POST /build) is the one kiln speaks.
    'Builder-Version': '1',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    'Pragma': 'no-cache',
    'Content-Type': 'text/plain; charset=utf-8',
  });
  res.end(req.method === 'HEAD' ? undefined : 'OK');
};

function engineVersion() {
  return {
    Version: pkg.version,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: 'kiln',
    GoVersion: `node${process.versions.node}`,
    Os: 'linux',
    Arch: GOARCH[arch()] ?? arch(),
    KernelVersion: release(),
    BuildTime: '',
  };
}

export const version: Handler = async (_ctx, { res }) => {
  const v = engineVersion();
  sendJson(res, 200, { Platform: { Name: 'kiln' }, Components: [{ Name: 'Engine', Version: v.Version, Details: { ...v, Version: undefined } }], ...v });
};

export const info: Handler = async (ctx, { res }) => {
  const images = await ctx.store.listImages();
  const containers = ctx.containers.list(true);
  const running = containers.filter((c) => c.state === 'running').length;
  sendJson(res, 200, {
    ID: 'kiln',
    Containers: containers.length,
    ContainersRunning: running,
    ContainersPaused: 0,
    ContainersStopped: containers.length - running,
    Images: new Set(images.map((i) => i.configDigest)).size,
    Driver: 'overlay',
    DriverStatus: [],
    Plugins: { Volume: [], Network: [], Authorization: null, Log: [] },
    MemoryLimit: false,
    SwapLimit: false,
    CpuCfsPeriod: false,
    CpuCfsQuota: false,
    CPUShares: false,
    CPUSet: false,
    PidsLimit: false,
    IPv4Forwarding: false,
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'kiln',
    CgroupDriver: 'none',
    CgroupVersion: '2',
    NEventsListener: 0,
    KernelVersion: release(),
    OperatingSystem: 'kiln',
    OSType: 'linux',
    OSVersion: '',
    Architecture: arch(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8'], Mirrors: [] },
    NCPU: cpus().length,
    MemTotal: totalmem(),
    DockerRootDir: ctx.root,
    Name: hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: pkg.version,
    Runtimes: { runc: { path: 'runc' } },
    DefaultRuntime: 'runc',
    Swarm: { LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null, NodeID: '', NodeAddr: '' },
    LiveRestoreEnabled: false,
    Isolation: '',
    InitBinary: '',
    SecurityOptions: [],
    Warnings: [],
  });
};
