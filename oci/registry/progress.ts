import { channel } from 'node:diagnostics_channel';

/** What a progress UI receives on the `kiln:registry:blob` diagnostics channel. */
export interface BlobProgressEvent {
  direction: 'pull' | 'push';
  registry: string;
  repository: string;
  digest: string;
  size: number;
  /** Bytes moved so far in this transfer. */
  transferred: number;
  state: 'start' | 'progress' | 'resume' | 'done' | 'exists' | 'mounted';
}

export const BLOB_CHANNEL = 'kiln:registry:blob';
const blobChannel = channel(BLOB_CHANNEL);

export function publishBlob(event: BlobProgressEvent): void {
  if (blobChannel.hasSubscribers) blobChannel.publish(event);
}

export function hasBlobSubscribers(): boolean {
  return blobChannel.hasSubscribers;
}
