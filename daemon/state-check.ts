/**
 * `kiln check` of a state root: the store (every blob hashed, every index row) and what killed
 * kiln processes left behind in the runtime. The same for the embedded CLI and the daemon's
 * `/kiln/v1/check`, so both print alike.
 */
import { checkStore, repairStore } from '../cache/index.js';
import { cleanupLeftovers, findLeftovers, type CleanupReport } from '../runtime/index.js';

export interface CheckFinding {
  kind: string;
  subject: string;
  detail: string;
}

export interface StateCheckReport {
  /** Blobs hashed (a check without repair). */
  blobsVerified?: number;
  /** What a repair removed or fixed. */
  repaired: CheckFinding[];
  /** What is still wrong. */
  remaining: CheckFinding[];
}

function leftovers(r: Pick<CleanupReport, 'containers' | 'mounts' | 'dirs'>): CheckFinding[] {
  return [
    ...r.containers.map((c) => ({ kind: 'leftover-container', subject: c, detail: 'runc container of a dead kiln process' })),
    ...r.mounts.map((m) => ({ kind: 'leftover-mount', subject: m, detail: 'overlay mount of a dead kiln process' })),
    ...r.dirs.map((d) => ({ kind: 'leftover-scratch', subject: d, detail: 'scratch dir of a dead kiln process' })),
  ];
}

const plain = (f: CheckFinding): CheckFinding => ({ kind: f.kind, subject: f.subject, detail: f.detail });

export async function verifyStateRoot(root: string, repair: boolean): Promise<StateCheckReport> {
  if (!repair) {
    const runtime = leftovers(await findLeftovers(root));
    const store = await checkStore(root);
    return { blobsVerified: store.blobsVerified, repaired: [], remaining: [...runtime, ...store.findings.map(plain)] };
  }
  const fixedRuntime = leftovers(await cleanupLeftovers(root));
  const store = await repairStore(root);
  return { repaired: [...fixedRuntime, ...store.repaired.map(plain)], remaining: [...leftovers(await findLeftovers(root)), ...store.remaining.map(plain)] };
}
