// The soak's own view of a recording (page and Worker alike): the stream cut
// into frames, each the bytes up to (not including) its `sync`, with that
// sync's timestamp and the rest of its arguments, so the feeder can send the
// frame with a timestamp of its own (guacd's clock runs on over an hour,
// where the recordings restart theirs). Found on bytes, independent of this
// project's parser: an element's length counts code points, so the scan
// walks UTF-8 sequences.

const SYNC = [0x34, 0x2e, 0x73, 0x79, 0x6e, 0x63, 0x2c]; // "4.sync,"

function isSync(bytes, at) {
  for (let k = 0; k < SYNC.length; k++) if (bytes[at + k] !== SYNC[k]) return false;
  return true;
}

/**
 * `{ frames: [{ body, ts, rest }], tail, span }`: `body` a view of the bytes
 * before the sync, `ts` its timestamp relative to the first sync (ms),
 * `rest` the sync's remaining arguments as text (e.g. "1.0"); `tail` the
 * bytes after the last sync; `span` the last timestamp minus the first.
 */
export function splitFrames(bytes) {
  const frames = [];
  const latin1 = new TextDecoder('latin1');
  let start = 0, i = 0, first = null, last = 0;
  while (i < bytes.length) {
    const begin = i;
    // One instruction: elements "<len>.<value>" separated by ',' ending in ';'.
    const bounds = [];
    for (;;) {
      let n = 0;
      while (bytes[i] !== 0x2e) n = n * 10 + (bytes[i++] - 0x30);
      i++;
      const from = i;
      for (let c = 0; c < n; c++) {
        const b = bytes[i];
        i += b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
      }
      bounds.push([from, i]);
      if (bytes[i++] === 0x3b) break;
    }
    if (isSync(bytes, begin) && bounds.length >= 2) {
      const ts = Number(latin1.decode(bytes.subarray(bounds[1][0], bounds[1][1])));
      if (first === null) first = ts;
      last = ts;
      // Everything after the timestamp element, up to the ';'.
      const rest = latin1.decode(bytes.subarray(bounds[1][1] + 1, i - 1));
      frames.push({ body: bytes.subarray(start, begin), ts: ts - first, rest });
      start = i;
    }
  }
  return { frames, tail: bytes.subarray(start), span: first === null ? 0 : last - first };
}

const encoder = new TextEncoder();

/** The `sync` instruction with timestamp `ts` (an integer) and `rest`. */
export function syncBytes(ts, rest) {
  const t = String(ts);
  return encoder.encode(`4.sync,${t.length}.${t}${rest ? `,${rest}` : ''};`);
}

/** The timestamps of the `sync` answers in bytes the client sent. */
export function answeredSyncs(bytes) {
  const text = new TextDecoder('latin1').decode(bytes);
  const out = [];
  for (const m of text.matchAll(/4\.sync,\d+\.(\d+);/g)) out.push(Number(m[1]));
  return out;
}
