// Whole-instruction messages of at least `max` bytes (the last may be
// shorter), as a data channel delivers the gateway's frames: the test pages'
// own splitter (guac.js, worker.js), independent of this project's parser.
// Instruction ends are found on bytes: a length prefix counts code points,
// so the scan walks UTF-8 sequences. Returns views into `bytes`.
export function alignedMessages(bytes, max) {
  const out = [];
  let start = 0, i = 0;
  while (i < bytes.length) {
    // One instruction: elements "<len>.<value>" separated by ',' ending in ';'.
    for (;;) {
      let n = 0;
      while (bytes[i] !== 0x2e) n = n * 10 + (bytes[i++] - 0x30);
      i++;
      for (let c = 0; c < n; c++) {
        const b = bytes[i];
        i += b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
      }
      if (bytes[i++] === 0x3b) break;
    }
    if (i - start >= max) { out.push(bytes.subarray(start, i)); start = i; }
  }
  if (start < bytes.length) out.push(bytes.subarray(start));
  return out;
}
