import { readFileSync } from 'node:fs';
import { crc32c, EventFileWriter, maskedCrc32c, scalarEvent, tfRecord } from '../../src/runner/logging/tfevents.js';
import { tempDir } from './helpers.js';

describe('TensorBoard event files', () => {
  test('CRC-32C check value and TFRecord framing', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    const data = new Uint8Array([1, 2, 3]);
    const rec = tfRecord(data);
    const dv = new DataView(rec.buffer);
    expect(Number(dv.getBigUint64(0, true))).toBe(3);
    expect(dv.getUint32(8, true)).toBe(maskedCrc32c(rec.subarray(0, 8)));
    expect(Array.from(rec.subarray(12, 15))).toEqual([1, 2, 3]);
    expect(dv.getUint32(15, true)).toBe(maskedCrc32c(data));
  });

  test('scalar event protobuf: wall_time (1, double), step (2, varint), summary.value{tag, simple_value}', () => {
    const ev = scalarEvent('train/loss', 1.5, 300, 2);
    // field 1 wire 1 (double 2.0)
    expect(ev[0]).toBe(0x09);
    expect(new DataView(ev.buffer).getFloat64(1, true)).toBe(2);
    // field 2 varint 300 = ac 02
    expect(Array.from(ev.subarray(9, 12))).toEqual([0x10, 0xac, 0x02]);
    // field 5 length-delimited summary containing field 1 value with tag bytes
    expect(ev[12]).toBe(0x2a);
    const tail = Buffer.from(ev.subarray(13));
    expect(tail.includes(Buffer.from('train/loss'))).toBe(true);
    const f = tail.subarray(tail.length - 4).readFloatLE(0);
    expect(f).toBe(1.5);
  });

  test('the writer starts with a file_version event and appends records', () => {
    const dir = tempDir();
    const w = new EventFileWriter(dir);
    w.addScalar('learning_rate', 0.1, 1);
    w.close();
    const buf = readFileSync(w.path);
    const first = Number(buf.readBigUInt64LE(0));
    expect(buf.subarray(12, 12 + first).includes(Buffer.from('brain.Event:2'))).toBe(true);
    const secondLen = Number(buf.readBigUInt64LE(16 + first));
    expect(buf.length).toBe(16 + first + 16 + secondLen);
  });
});
