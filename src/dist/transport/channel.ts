import type { Socket } from 'node:net';

/**
 * Framed byte streams between two ring neighbours. Every message is a 16-byte header
 * `[magic u32][op u32][seq u32][byteLength u32]` (little endian) followed by the payload.
 * The header lets a receiver check that both sides run the same collective (op + sequence
 * number) before it touches any payload; payloads are raw bytes (float32 data as stored).
 */
export const FRAME_MAGIC = 0x53534c44; // "SSLD"
export const HEADER_BYTES = 16;
/** Payloads are written in pieces of this size so the receiver can reduce while bytes still arrive. */
export const SEND_CHUNK_BYTES = 1 << 20;

export const OP_NAMES = ['?', 'allReduce', 'broadcast', 'allGather', 'barrier'] as const;
export const Op = { allReduce: 1, broadcast: 2, allGather: 3, barrier: 4 } as const;
export type OpCode = (typeof Op)[keyof typeof Op];

export function encodeHeader(op: number, seq: number, byteLength: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  h.writeUInt32LE(FRAME_MAGIC, 0);
  h.writeUInt32LE(op, 4);
  h.writeUInt32LE(seq >>> 0, 8);
  h.writeUInt32LE(byteLength, 12);
  return h;
}

/** What a pending receive does with the payload of the next frame. */
export interface FrameSink {
  /** Called once the header is read and checked; may throw to reject the frame. */
  onHeader?(byteLength: number): void;
  /** Payload pieces in order (views into socket buffers: copy what must outlive the call). */
  onData(piece: Buffer): void;
}

interface PendingRecv {
  op: number;
  seq: number;
  sink: FrameSink;
  resolve(byteLength: number): void;
  reject(err: Error): void;
}

/**
 * The receiving end of one ring link: buffers what arrives before anybody asks for it and
 * hands each frame's payload to the sink of the oldest pending `recv` as it streams in.
 */
export class RecvChannel {
  private readonly queued: Buffer[] = [];
  private queuedBytes = 0;
  private readonly pending: PendingRecv[] = [];
  /** Bytes of the current frame's payload still to deliver; -1 while waiting for a header. */
  private remaining = -1;
  private frameLen = 0;
  private failure: Error | undefined;

  /** `onProtocolError` hears about frames that break the protocol (mismatched collectives): fatal for the job. */
  constructor(
    private readonly peerRank: number,
    socket: Socket,
    initial?: Buffer,
    private readonly onProtocolError: (err: Error) => void = () => undefined,
  ) {
    if (initial && initial.length > 0) {
      this.queued.push(initial);
      this.queuedBytes = initial.length;
    }
    socket.on('data', (chunk: Buffer) => {
      this.queued.push(chunk);
      this.queuedBytes += chunk.length;
      this.pump();
    });
    socket.resume();
  }

  /** Receives the next frame, which must be `op` number `seq`; resolves with its payload size. */
  recv(op: number, seq: number, sink: FrameSink): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({ op, seq, sink, resolve, reject });
      this.pump();
    });
  }

  /** Rejects every pending and future receive with `err`. */
  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  private protocolError(err: Error): void {
    this.fail(err);
    this.onProtocolError(err);
  }

  private pump(): void {
    while (this.pending.length > 0 && !this.failure) {
      const head = this.pending[0];
      if (this.remaining < 0) {
        if (this.queuedBytes < HEADER_BYTES) return;
        const h = this.take(HEADER_BYTES);
        const magic = h.readUInt32LE(0);
        const op = h.readUInt32LE(4);
        const seq = h.readUInt32LE(8);
        const len = h.readUInt32LE(12);
        if (magic !== FRAME_MAGIC) return this.protocolError(new Error(`rank ${this.peerRank} sent bytes that are not an ssl frame (another program on this port?)`));
        if (op !== head.op || seq !== (head.seq >>> 0)) {
          return this.protocolError(
            new Error(
              `collective mismatch: rank ${this.peerRank} sent ${OP_NAMES[op] ?? op} #${seq} while this rank runs ${OP_NAMES[head.op]} #${head.seq}; every rank must call the same collectives in the same order`,
            ),
          );
        }
        try {
          head.sink.onHeader?.(len);
        } catch (e) {
          this.protocolError(e as Error);
          return;
        }
        this.remaining = len;
        this.frameLen = len;
      }
      while (this.remaining > 0 && this.queuedBytes > 0) {
        const first = this.queued[0];
        const n = Math.min(first.length, this.remaining);
        const piece = n === first.length ? first : first.subarray(0, n);
        if (n === first.length) this.queued.shift();
        else this.queued[0] = first.subarray(n);
        this.queuedBytes -= n;
        this.remaining -= n;
        head.sink.onData(piece);
      }
      if (this.remaining > 0) return;
      this.remaining = -1;
      this.pending.shift();
      head.resolve(this.frameLen);
    }
  }

  /** Removes exactly `n` queued bytes (n small: headers). */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const first = this.queued[0];
      const k = Math.min(first.length, n - filled);
      first.copy(out, filled, 0, k);
      filled += k;
      if (k === first.length) this.queued.shift();
      else this.queued[0] = first.subarray(k);
    }
    this.queuedBytes -= n;
    return out;
  }
}

/** Writes one frame; resolves once every byte has been handed to the kernel (the memory may then be reused). */
export function sendFrame(socket: Socket, op: number, seq: number, payload: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    if (payload.byteLength === 0) {
      socket.write(encodeHeader(op, seq, 0), (err) => (err ? reject(err) : resolve()));
      return;
    }
    socket.write(encodeHeader(op, seq, payload.byteLength));
    for (let off = 0; off < payload.byteLength; off += SEND_CHUNK_BYTES) {
      const end = Math.min(off + SEND_CHUNK_BYTES, payload.byteLength);
      const piece = Buffer.from(payload.buffer, payload.byteOffset + off, end - off);
      if (end === payload.byteLength) socket.write(piece, (err) => (err ? reject(err) : resolve()));
      else socket.write(piece);
    }
  });
}
