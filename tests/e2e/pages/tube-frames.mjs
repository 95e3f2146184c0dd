// The gateway's data-channel framing, for the test pages' own (plain-JS)
// peers: conn u32 | timestamp u64 ms | len u32 | payload | ';' (big-endian),
// control messages as u16 code + data on connection 0. Written from
// keeper-webrtc-peer.md §4, independently of the Rust codec it checks.

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
