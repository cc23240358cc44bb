/**
 * Two ways to put frames into a preallocated segment, behind one interface so the bench can
 * compare them: through a shared memory mapping (`Bun.mmap`, the default) or with positioned
 * writes (pwrite). Both make data durable with one async fdatasync of the file (bun-facts §1:
 * Linux has one page cache per inode, so fdatasync also flushes mapped stores).
 *
 * A writer never grows or truncates its file: a mapped file that shrinks raises SIGBUS, which
 * kills Bun. It does not decide what to write or when; the Wal does.
 */
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import { assert } from "../util/assert.ts";

export type WriterKind = "mmap" | "pwrite";

export interface SegmentWriter {
  /** Bytes the segment holds; writes must stay inside [0, capacityBytes). */
  readonly capacityBytes: number;
  /** Copies `bytes` to `offset`. Visible to readers at once; durable after sync(). */
  writeAt(bytes: Uint8Array, offset: number): void;
  /** fdatasync: everything written so far is on stable storage when this resolves. */
  sync(): Promise<void>;
  /** The same fdatasync on the calling thread: no thread-pool round trip, blocks the loop. */
  syncBlocking(): void;
  /** Releases the file. The writer is unusable afterwards. */
  close(): Promise<void>;
}

/** Opens an existing, fully preallocated segment file for writing. */
export async function openSegmentWriter(kind: WriterKind, file: string): Promise<SegmentWriter> {
  const handle = await fsp.open(file, "r+");
  try {
    const { size } = await handle.stat();
    assert(size > 0, `wal: cannot write to empty segment ${file}`);
    return kind === "mmap" ? new MmapWriter(file, handle, size) : new PwriteWriter(handle, size);
  } catch (err) {
    // Bun treats a FileHandle closed by the GC as an error: close it on every failure path.
    await handle.close();
    throw err;
  }
}

class MmapWriter implements SegmentWriter {
  /** Dropped on close; Bun has no munmap, the mapping goes when the GC collects it. */
  private map: Uint8Array | undefined;

  constructor(
    file: string,
    private readonly handle: fsp.FileHandle,
    readonly capacityBytes: number,
  ) {
    this.map = Bun.mmap(file, { shared: true });
    assert(
      this.map.length === capacityBytes,
      `wal: mapped ${this.map.length} of ${capacityBytes} bytes`,
    );
  }

  writeAt(bytes: Uint8Array, offset: number): void {
    assert(this.map !== undefined, "wal: write after close");
    assert(
      offset >= 0 && offset + bytes.length <= this.capacityBytes,
      "wal: write past segment end",
    );
    this.map.set(bytes, offset);
  }

  async sync(): Promise<void> {
    await this.handle.datasync();
  }

  syncBlocking(): void {
    fs.fdatasyncSync(this.handle.fd);
  }

  async close(): Promise<void> {
    this.map = undefined;
    await this.handle.close();
  }
}

class PwriteWriter implements SegmentWriter {
  private closed = false;

  constructor(
    private readonly handle: fsp.FileHandle,
    readonly capacityBytes: number,
  ) {}

  writeAt(bytes: Uint8Array, offset: number): void {
    assert(!this.closed, "wal: write after close");
    assert(
      offset >= 0 && offset + bytes.length <= this.capacityBytes,
      "wal: write past segment end",
    );
    // Synchronous: a pwrite into the page cache costs microseconds (bun-facts §1, row g), and
    // keeping it synchronous keeps a batch's frames in order without awaiting each one.
    for (let done = 0; done < bytes.length; ) {
      const n = fs.writeSync(this.handle.fd, bytes, done, bytes.length - done, offset + done);
      assert(n > 0, "wal: pwrite made no progress");
      done += n;
    }
  }

  async sync(): Promise<void> {
    await this.handle.datasync();
  }

  syncBlocking(): void {
    fs.fdatasyncSync(this.handle.fd);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.handle.close();
  }
}
