import type { OnReadOpts, Socket } from 'node:net';

/**
 * Framed byte streams between two ring neighbours. Every message is a 16-byte header
 * `[magic u32][op u32][seq u32][byteLength u32]` (little endian) followed by the payload.
 * The header lets a receiver check that both sides run the same collective (op + sequence
 * number) before it touches any payload; payloads are raw bytes (float32 data as stored), read
 * by the kernel straight into their destination.
 */
export const FRAME_MAGIC = 0x53534c44; // "SSLD"
export const HEADER_BYTES = 16;

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

/** Where a pending receive puts the payload of the next frame. */
export interface FrameSink {
  /**
   * Called once the header is read and checked: returns the `byteLength` bytes the payload is read
   * into (straight from the socket, no intermediate copy); may throw to reject the frame.
   */
  target(byteLength: number): Uint8Array;
  /** Called after every read with the part of the target it just filled (e.g. to forward it). */
  onData?(filled: Uint8Array): void;
}

interface PendingRecv {
  op: number;
  seq: number;
  sink: FrameSink;
  resolve(byteLength: number): void;
  reject(err: Error): void;
}

/**
 * The receiving end of one ring link. Create it before the socket and pass {@link RecvChannel.onread}
 * to `net.connect({ onread })`: every read then lands where the oldest pending `recv` wants it (the
 * header scratch, or the sink's target). A frame whose header arrives before anybody asks for it
 * waits in the kernel: reading pauses until its `recv` is posted (TCP flow control holds the sender).
 */
export class RecvChannel {
  private readonly pending: PendingRecv[] = [];
  private readonly header = new Uint8Array(HEADER_BYTES);
  private headerFilled = 0;
  /** The current frame's payload destination, once its header matched the head receive. */
  private target: Uint8Array | undefined;
  private filled = 0;
  private socket: Socket | undefined;
  private paused = false;
  private failure: Error | undefined;

  /** Reads land directly in the sink's target: the kernel copies into the destination array, nothing else does. */
  readonly onread: OnReadOpts = {
    buffer: () => this.nextBuffer(),
    callback: (n, buf) => {
      this.onRead(n, buf);
      return true;
    },
  };

  /** `onProtocolError` hears about frames that break the protocol (mismatched collectives): fatal for the job. */
  constructor(
    private readonly peerRank: number,
    private readonly onProtocolError: (err: Error) => void = () => undefined,
  ) {}

  /** The socket created with {@link onread} (for pausing while no receive is pending). */
  attach(socket: Socket): void {
    this.socket = socket;
    if (this.paused) socket.pause();
  }

  /** Receives the next frame, which must be `op` number `seq`; resolves with its payload size. */
  recv(op: number, seq: number, sink: FrameSink): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({ op, seq, sink, resolve, reject });
      if (this.headerFilled === HEADER_BYTES && !this.target) this.startPayload();
    });
  }

  /** Rejects every pending and future receive with `err`. */
  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  private nextBuffer(): Uint8Array {
    if (this.target && this.filled < this.target.length) return this.target.subarray(this.filled);
    // Reading a header (or paused with a complete one, when this buffer is not used).
    return this.headerFilled < HEADER_BYTES ? this.header.subarray(this.headerFilled) : this.header;
  }

  /**
   * `buf` is the buffer the read went into: normally the one {@link nextBuffer} gives now. It is not
   * when a receive was posted while reading was paused after a header (Node took the next buffer
   * before the target was known): those few bytes landed in the header scratch and are copied on.
   */
  private onRead(n: number, buf: Uint8Array): void {
    if (this.failure) return;
    const expected = this.nextBuffer();
    if (buf.buffer === expected.buffer && buf.byteOffset === expected.byteOffset) this.advance(n);
    else this.feed(buf.slice(0, n));
  }

  /** `n` bytes landed in `nextBuffer()`. */
  private advance(n: number): void {
    if (this.target) {
      const piece = this.target.subarray(this.filled, this.filled + n);
      this.filled += n;
      this.pending[0].sink.onData?.(piece);
      if (this.filled === this.target.length) this.finishFrame();
      return;
    }
    this.headerFilled += n;
    if (this.headerFilled < HEADER_BYTES) return;
    if (this.pending.length > 0) this.startPayload();
    else this.setPaused(true);
  }

  /** Places bytes that were read elsewhere as if they had been read into `nextBuffer()`. */
  private feed(bytes: Uint8Array): void {
    for (let off = 0; off < bytes.length && !this.failure; ) {
      if (!this.target && this.headerFilled === HEADER_BYTES) {
        return this.protocolError(new Error(`internal: ${bytes.length - off} bytes from rank ${this.peerRank} arrived with no receive to take them`));
      }
      const dst = this.nextBuffer();
      const k = Math.min(dst.length, bytes.length - off);
      dst.set(bytes.subarray(off, off + k));
      off += k;
      this.advance(k);
    }
  }

  /** The header is complete and a receive is pending: check it and switch to its target. */
  private startPayload(): void {
    this.setPaused(false);
    const head = this.pending[0];
    const h = Buffer.from(this.header.buffer, this.header.byteOffset, HEADER_BYTES);
    const magic = h.readUInt32LE(0);
    const op = h.readUInt32LE(4);
    const seq = h.readUInt32LE(8);
    const len = h.readUInt32LE(12);
    if (magic !== FRAME_MAGIC) return this.protocolError(new Error(`rank ${this.peerRank} sent bytes that are not an ssl frame (another program on this port?)`));
    if (op !== head.op || seq !== head.seq >>> 0) {
      return this.protocolError(
        new Error(
          `collective mismatch: rank ${this.peerRank} sent ${OP_NAMES[op] ?? op} #${seq} while this rank runs ${OP_NAMES[head.op]} #${head.seq}; every rank must call the same collectives in the same order`,
        ),
      );
    }
    let target: Uint8Array;
    try {
      target = head.sink.target(len);
    } catch (e) {
      return this.protocolError(e as Error);
    }
    if (target.length !== len) return this.protocolError(new Error(`internal: a receive target of ${target.length} bytes for a frame of ${len}`));
    this.target = target;
    this.filled = 0;
    if (len === 0) this.finishFrame();
  }

  private finishFrame(): void {
    const head = this.pending.shift()!;
    const len = this.target!.length;
    this.target = undefined;
    this.headerFilled = 0;
    head.resolve(len);
  }

  private setPaused(paused: boolean): void {
    if (this.paused === paused) return;
    this.paused = paused;
    if (!this.socket) return;
    if (paused) this.socket.pause();
    else this.socket.resume();
  }

  private protocolError(err: Error): void {
    this.fail(err);
    this.onProtocolError(err);
  }
}

/** Writes one frame; resolves once every byte has been handed to the kernel (the memory may then be reused). */
export function sendFrame(socket: Socket, op: number, seq: number, payload: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    if (payload.byteLength === 0) {
      socket.write(encodeHeader(op, seq, 0), (err) => (err ? reject(err) : resolve()));
      return;
    }
    socket.cork();
    socket.write(encodeHeader(op, seq, payload.byteLength));
    socket.write(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), (err) => (err ? reject(err) : resolve()));
    socket.uncork();
  });
}
