// The gateway's data-channel framing, for the test pages' own (plain-JS)
// peers: conn u32 | timestamp u64 ms | len u32 | payload | ';' (big-endian),
// control messages as u16 code + data on connection 0. Written from
// docs/tube-framing.md §1-§2, independently of the Rust codec it checks.

export const CTRL = { Ping: 1, Pong: 2, OpenConnection: 101, CloseConnection: 102, ConnectionOpened: 103, SendEOF: 104 };

export function frame(conn, payload) {
  const f = new Uint8Array(17 + payload.length);
  const dv = new DataView(f.buffer);
  dv.setUint32(0, conn);
  dv.setBigUint64(4, BigInt(Date.now()));
  dv.setUint32(12, payload.length);
  f.set(payload, 16);
  f[16 + payload.length] = 0x3b;
  return f;
}

export function control(code, data = new Uint8Array(0)) {
  const p = new Uint8Array(2 + data.length);
  new DataView(p.buffer).setUint16(0, code);
  p.set(data, 2);
  return frame(0, p);
}

export const u32 = (n) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};

/**
 * A streaming frame reader: feed it each data-channel message; it calls
 * onFrame(conn, timestampMs, payload) per whole frame (several per message,
 * or one split across messages) and onError(why) once the stream is corrupt.
 */
export function frameReader(onFrame, onError) {
  let buf = new Uint8Array(0);
  return (chunk) => {
    const nb = new Uint8Array(buf.length + chunk.length);
    nb.set(buf);
    nb.set(chunk, buf.length);
    buf = nb;
    let off = 0;
    while (buf.length - off >= 17) {
      const dv = new DataView(buf.buffer, buf.byteOffset + off);
      const len = dv.getUint32(12);
      if (buf.length - off < 17 + len) break;
      if (buf[off + 16 + len] !== 0x3b) {
        onError('terminator mismatch');
        buf = new Uint8Array(0);
        return;
      }
      onFrame(dv.getUint32(0), Number(dv.getBigUint64(4)), buf.slice(off + 16, off + 16 + len));
      off += 17 + len;
    }
    buf = buf.slice(off);
  };
}
