import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** CRC-32C (Castagnoli), as TFRecord framing uses. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15, add 0xa282ead8. */
export function maskedCrc32c(buf: Uint8Array): number {
  const c = crc32c(buf);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: uint64 length, masked crc of the length, data, masked crc of the data (little endian). */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(data.length), true);
  dv.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  dv.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

// --- minimal protobuf encoding (varint, fixed64 double, fixed32 float, length-delimited) ---
function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const key = (field: number, wire: number) => varint((field << 3) | wire);
function bytesField(field: number, bytes: Uint8Array | number[]): number[] {
  return [...key(field, 2), ...varint(bytes.length), ...bytes];
}
function doubleField(field: number, x: number): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x, true);
  return [...key(field, 1), ...b];
}
function floatField(field: number, x: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, x, true);
  return [...key(field, 5), ...b];
}
const utf8 = (s: string) => new TextEncoder().encode(s);

/** `Event{wall_time=1, step=2, file_version=3}` (tensorflow/core/util/event.proto). */
export function fileVersionEvent(wallTime: number): Uint8Array {
  return new Uint8Array([...doubleField(1, wallTime), ...bytesField(3, utf8('brain.Event:2'))]);
}

/** `Event{wall_time=1, step=2, summary=5: Summary{value=1: Value{tag=1, simple_value=2}}}`. */
export function scalarEvent(tag: string, value: number, step: number, wallTime: number): Uint8Array {
  const summaryValue = [...bytesField(1, utf8(tag)), ...floatField(2, value)];
  const summary = bytesField(1, summaryValue);
  return new Uint8Array([...doubleField(1, wallTime), ...key(2, 0), ...varint(step), ...bytesField(5, summary)]);
}

/** Appends scalar summaries to `<dir>/events.out.tfevents.<time>.<host>` (readable by TensorBoard). */
export class EventFileWriter {
  readonly path: string;
  private fd: number;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    const now = Date.now() / 1000;
    this.path = join(dir, `events.out.tfevents.${Math.floor(now)}.${hostname()}`);
    this.fd = openSync(this.path, 'a');
    this.write(fileVersionEvent(now));
  }

  addScalar(tag: string, value: number, step: number): void {
    this.write(scalarEvent(tag, value, step, Date.now() / 1000));
  }

  private write(event: Uint8Array): void {
    writeSync(this.fd, tfRecord(event));
  }

  flush(): void {
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}
