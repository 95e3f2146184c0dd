// The soak's feeder, the same on the main thread (soak.js) and in the
// Worker (soak-worker.js): the recordings played back to back into a
// GuacamoleClient as guacd paces a session, one frame at a time, the next
// only once the client has drawn the previous one and answered its `sync`.
// The sync timestamps are rewritten onto one clock that runs on across the
// recordings (session time), as guacd's would over an hour.
import { splitFrames, syncBytes, answeredSyncs } from './frames.mjs';

/** guacd's clock at session time 0 (any value; guacd's is its uptime in ms). */
const CLOCK_BASE = 1_000_000;
/** Session time between the last frame of one recording and the first of the next (ms). */
const GAP_MS = 1;
/** A frame not drawn within this wall time stops the soak (ms). */
const STALL_MS = 60_000;

// The next frame arrives in a task of its own, as a data channel's
// `message` event would bring it (a MessageChannel round, no timer clamp):
// the thread's event loop runs between frames, and no stretch of frames
// becomes one long task (which the browser would keep as a long-task /
// long-animation-frame entry in its performance timeline).
const channel = new MessageChannel();
const queued = [];
channel.port1.onmessage = () => queued.shift()();
const nextTask = () => new Promise((resolve) => { queued.push(resolve); channel.port2.postMessage(0); });

/**
 * `GuacamoleClient`: the class; `canvas`: where it draws; `memory`: the
 * module's `WebAssembly.Memory`; `recordings`: `[{ name, bytes }]`;
 * `freshClient`: a new client (the previous one freed) for every recording,
 * instead of one session for the whole soak.
 */
export function createFeeder({ GuacamoleClient, canvas, memory, recordings, freshClient = false }) {
  const recs = recordings.map(({ name, bytes }) => ({ name, ...splitFrames(bytes) }));
  let client = null;
  // Per client: frames drawn as onframe reported them.
  let drawn = 0;
  let waiter = null;
  // Whole soak.
  const total = {
    framesFed: 0, framesDrawn: 0, orderErrors: 0, syncsFed: 0, distinctSyncsFed: 0,
    answers: 0, answersOutOfOrder: 0, recordingsStarted: 0, clients: 0,
  };
  // Timestamps fed and not yet answered, oldest first.
  const expected = [];
  let lastFedTs = null;
  let fedThisClient = 0;
  // Where the feed is.
  let rec = 0, frame = 0, offset = 0;
  let failed = null;

  function newClient() {
    if (client) client.free();
    drawn = 0;
    fedThisClient = 0;
    total.clients++;
    client = new GuacamoleClient({
      canvas,
      autoScale: false,
      send: (bytes) => {
        for (const ts of answeredSyncs(bytes)) {
          total.answers++;
          // Answers come in the order the syncs were fed, each once.
          if (expected.length && expected[0] === ts) expected.shift();
          else {
            total.answersOutOfOrder++;
            const at = expected.indexOf(ts);
            if (at >= 0) expected.splice(at, 1);
          }
        }
      },
    });
    client.onframe = (count) => {
      // Each report is the next frame, by one.
      if (count !== drawn + 1) total.orderErrors++;
      drawn = count;
      total.framesDrawn++;
      if (waiter && drawn >= waiter.k) {
        const w = waiter;
        waiter = null;
        w.resolve();
      }
    };
  }

  function drawnUpTo(k) {
    if (drawn >= k) return null;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`frame ${k} of the client not drawn after ${STALL_MS} ms (drawn ${drawn}, pending ${client.framesPending})`)), STALL_MS);
      waiter = { k, resolve: () => { clearTimeout(timer); resolve(); } };
    });
  }

  /** Session time (ms) of the next frame to feed. */
  const nextAt = () => offset + recs[rec].frames[frame].ts;

  /**
   * Feeds every frame whose session time is before `untilMs`; returns the
   * counters so far and this stretch's feeding time.
   */
  async function run(untilMs) {
    const t0 = performance.now();
    const framesBefore = total.framesDrawn;
    while (!failed && nextAt() < untilMs) {
      const r = recs[rec];
      if (frame === 0) {
        total.recordingsStarted++;
        if (!client || freshClient) newClient();
      }
      const f = r.frames[frame];
      const ts = CLOCK_BASE + offset + f.ts;
      // Counted before it is sent: a frame without images is drawn and
      // answered inside receive().
      total.framesFed++;
      fedThisClient++;
      total.syncsFed++;
      if (ts !== lastFedTs) {
        total.distinctSyncsFed++;
        expected.push(ts);
        lastFedTs = ts;
      }
      try {
        client.receive(f.body);
        client.receive(syncBytes(ts, f.rest));
      } catch (e) {
        failed = `${e.code || e.name}: ${e.message}`;
        break;
      }
      const wait = drawnUpTo(fedThisClient);
      if (wait) {
        try { await wait; } catch (e) { failed = e.message; break; }
      }
      await nextTask();
      frame++;
      if (frame === r.frames.length) {
        // The operations after the last sync join the next recording's first frame.
        if (r.tail.length) client.receive(r.tail);
        offset += r.span + GAP_MS;
        frame = 0;
        rec = (rec + 1) % recs.length;
      }
    }
    return {
      ...total,
      unanswered: expected.length,
      feedMs: performance.now() - t0,
      framesInStretch: total.framesDrawn - framesBefore,
      sessionMs: nextAt(),
      wasmBytes: memory.buffer.byteLength,
      canvasCount: client ? client.canvasCount : 0,
      framesPending: client ? client.framesPending : 0,
      failed,
    };
  }

  /** Frees the client: what is left is what the page keeps without a session. */
  function end() {
    if (client) client.free();
    client = null;
    return { wasmBytes: memory.buffer.byteLength };
  }

  return {
    run,
    end,
    recordings: recs.map((r) => ({ name: r.name, frames: r.frames.length, spanMs: r.span, tailBytes: r.tail.length })),
  };
}
