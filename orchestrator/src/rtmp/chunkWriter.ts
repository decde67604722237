/**
 * Writes RTMP messages as chunks: a fmt 0 header, then fmt 3 continuation chunks of at most
 * `chunkSize` bytes, with the extended timestamp repeated on each continuation when used.
 * The server sends few, small messages (control, command replies), so simplicity beats header
 * compression here.
 */
export function writeChunks(m: { csid: number; typeId: number; streamId: number; timestamp: number; payload: Buffer }, chunkSize: number): Buffer {
  const ts = m.timestamp >>> 0;
  const ext = ts >= 0xffffff;
  const basic = (fmt: number) => {
    if (m.csid < 64) return Buffer.from([(fmt << 6) | m.csid]);
    if (m.csid < 320) return Buffer.from([fmt << 6, m.csid - 64]);
    return Buffer.from([(fmt << 6) | 1, (m.csid - 64) & 0xff, (m.csid - 64) >> 8]);
  };
  const extBuf = () => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(ts);
    return b;
  };
  const head = Buffer.alloc(11);
  head.writeUIntBE(ext ? 0xffffff : ts, 0, 3);
  head.writeUIntBE(m.payload.length, 3, 3);
  head[6] = m.typeId;
  head.writeUInt32LE(m.streamId, 7);
  const parts: Buffer[] = [basic(0), head];
  if (ext) parts.push(extBuf());
  for (let o = 0; o < m.payload.length || o === 0; o += chunkSize) {
    if (o > 0) {
      parts.push(basic(3));
      if (ext) parts.push(extBuf());
    }
    parts.push(m.payload.subarray(o, o + chunkSize));
    if (m.payload.length === 0) break;
  }
  return Buffer.concat(parts);
}
