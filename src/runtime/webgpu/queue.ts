// Few round trips per call: copies wait in one pending encoder for the next submit, and read-backs go through
// staging buffers that are reused, all regions of a call mapped at once.

const USAGE_READBACK = 0x0001 | 0x0008; // MAP_READ | COPY_DST
const MAP_READ = 0x0001;

/** Floats [offset, offset + floats) of a device buffer. */
export interface Region {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly floats: number;
}

/** What a read needs copied back, and how the copied floats become its result. */
export interface Read<T> {
  readonly regions: readonly Region[];
  decode(parts: readonly Float32Array[]): T;
}

/** Several reads as one: their regions in order, each decoding its own parts. */
export function readAll<T>(reads: readonly Read<T>[]): Read<T[]> {
  return {
    regions: reads.flatMap((r) => r.regions),
    decode: (parts) => {
      let at = 0;
      return reads.map((r) => r.decode(parts.slice(at, (at += r.regions.length))));
    },
  };
}

/** A read whose result is mapped from another's. */
export const mapRead = <T, U>(r: Read<T>, f: (t: T) => U): Read<U> => ({ regions: r.regions, decode: (p) => f(r.decode(p)) });

/**
 * Commands of the calls that only copy (GPUBuffer inputs, parameters, states) wait in one encoder and go with the
 * next submission. A host write (queue.writeBuffer, which runs before any later submit) to a buffer that a waiting
 * copy fills submits the waiting copies first, so the device sees the calls in their order.
 */
export class PendingCopies {
  private enc?: GPUCommandEncoder;
  private readonly targets = new Set<GPUBuffer>();

  constructor(private readonly device: GPUDevice) {}

  /** The pending encoder, to record copies into `dst`. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.enc ??= this.device.createCommandEncoder();
    this.targets.add(dst);
    this.enc.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  write(dst: GPUBuffer, offset: number, data: Float32Array): void {
    if (this.targets.has(dst)) this.device.queue.submit([this.take().finish()]);
    this.device.queue.writeBuffer(dst, offset, data);
  }

  /** Submits the waiting copies now (before the buffers they fill are replaced). */
  flush(): void {
    if (this.enc) this.device.queue.submit([this.take().finish()]);
  }

  /** The encoder holding the waiting copies (a new one when none wait); the caller records into it and submits it. */
  take(): GPUCommandEncoder {
    const enc = this.enc ?? this.device.createCommandEncoder();
    this.enc = undefined;
    this.targets.clear();
    return enc;
  }
}

/** Staging buffers for read-backs, reused across calls (a buffer is free again once unmapped). */
export class Staging {
  private readonly free: GPUBuffer[] = [];
  private readonly all: GPUBuffer[] = [];

  constructor(private readonly device: GPUDevice) {}

  /**
   * Records the copies of `read`'s regions into one staging buffer; once `enc` is submitted, the returned function
   * maps it and decodes the result.
   */
  record<T>(enc: GPUCommandEncoder, read: Read<T>): () => Promise<T> {
    const total = read.regions.reduce((s, r) => s + r.floats, 0);
    const bytes = Math.max(16, Math.ceil((total * 4) / 16) * 16);
    let i = this.free.findIndex((b) => b.size >= bytes && b.size <= 4 * bytes);
    if (i < 0) {
      // Keep a few: read-backs of different sizes alternate (states after a forward, gradients after a backward).
      if (this.free.length >= 4) {
        const old = this.free.shift()!;
        this.all.splice(this.all.indexOf(old), 1);
        old.destroy();
      }
      const b = this.device.createBuffer({ label: 'read-back', size: bytes, usage: USAGE_READBACK });
      this.all.push(b);
      this.free.push(b);
      i = this.free.length - 1;
    }
    const staging = this.free.splice(i, 1)[0]!;
    let at = 0;
    for (const r of read.regions) {
      if (r.floats) enc.copyBufferToBuffer(r.buffer, r.offset * 4, staging, at * 4, r.floats * 4);
      at += r.floats;
    }
    return async () => {
      try {
        await staging.mapAsync(MAP_READ, 0, bytes);
        const data = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
        staging.unmap();
        let from = 0;
        return read.decode(read.regions.map((r) => data.subarray(from, (from += r.floats))));
      } finally {
        if (this.all.includes(staging)) this.free.push(staging);
      }
    };
  }

  destroy(): void {
    for (const b of this.all) b.destroy();
    this.all.length = 0;
    this.free.length = 0;
  }
}
