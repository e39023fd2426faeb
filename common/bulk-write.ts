/**
 * The write-buffer size of file streams that take bulk data (blobs, downloads, archives). Their
 * chunks come at 16-64 KiB, and with a WriteStream's default 16 KiB buffer every chunk was a write
 * of its own through the thread pool; with 1 MiB buffered, the stream hands the chunks that pile
 * up during one write to the next as a single writev. 512 MiB in 64 KiB chunks here: 0.94 s wall,
 * 0.74 s CPU with the default; 0.48 s, 0.36 s CPU with this.
 */
export const BULK_WRITE_BUFFER = 1 << 20;
