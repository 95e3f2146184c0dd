// RecordingPlayer seek benchmark, run in headless Chromium by run.mjs: from
// "seek called" to "drawn" (the promise seek() returns resolves after the
// frame is composited into the canvas), with keyframes (lazy, then after
// index()) and without (the from-start replay of the old seek).
import init, { RecordingPlayer } from '/pkg/web/pam_launch_wasm.js';

await init();

const fixture = async (name) => new Uint8Array(await (await fetch(`/fixtures/${name}`)).arrayBuffer());
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const stats = (xs) => ({ n: xs.length, median: pct(xs, 0.5), p95: pct(xs, 0.95), max: Math.max(...xs) });

// A deterministic shuffle (the same "random" backward targets every run).
function lcg(seed) { let x = seed >>> 0; return () => ((x = (x * 1664525 + 1013904223) >>> 0) / 2 ** 32); }

async function timeSeek(player, ms) {
  const t0 = performance.now();
  await player.seek(ms);
  return performance.now() - t0;
}

// Every 5% forward, then `back` random backward targets.
function targets(duration, back) {
  const fwd = [];
  for (let p = 5; p <= 100; p += 5) fwd.push(duration * p / 100);
  const rnd = lcg(11);
  const bwd = [];
  let at = duration;
  for (let i = 0; i < back; i++) { const t = rnd() * at; bwd.push(t); at = t > duration * 0.1 ? t : duration; }
  return { fwd, bwd };
}

window.runSeekBench = async ({ files, back = 20, oldSamples = 3 }) => {
  const out = [];
  for (const file of files) {
    const bytes = await fixture(file);
    const canvas = document.getElementById('a');
    // Lazy keyframes: nothing before the first seek.
    let t0 = performance.now();
    const lazy = new RecordingPlayer(bytes, canvas);
    await lazy.seek(0);
    const firstFrameLazy = performance.now() - t0;
    const d = lazy.duration;
    const { fwd, bwd } = targets(d, back);
    const lazyFwd = [], lazyBwd = [];
    for (const t of fwd) lazyFwd.push(await timeSeek(lazy, t));
    for (const t of bwd) lazyBwd.push(await timeSeek(lazy, t));
    const lazyKeyframes = lazy.keyframeCount;
    lazy.free();
    // Indexed: index() in the background after the first frame.
    t0 = performance.now();
    const idx = new RecordingPlayer(bytes, canvas);
    await idx.seek(0);
    const firstFrameIndexed = performance.now() - t0;
    t0 = performance.now();
    await idx.index();
    const indexMs = performance.now() - t0;
    const idxFwd = [], idxBwd = [];
    for (const t of fwd) idxFwd.push(await timeSeek(idx, t));
    for (const t of bwd) idxBwd.push(await timeSeek(idx, t));
    const kf = { count: idx.keyframeCount, bytes: idx.keyframeBytes, spacing: idx.keyframeSpacing };
    idx.free();
    // The old seek: no keyframes, a backward seek replays from the start.
    const old = new RecordingPlayer(bytes, document.getElementById('b'), { keyframes: false });
    const oldTimes = [];
    for (let i = 0; i < oldSamples; i++) {
      await old.seek(d);
      await old.seek(0);
      oldTimes.push(await timeSeek(old, d * 0.9));
    }
    old.free();
    out.push({
      file, bytes: bytes.length, duration: d, firstFrameLazy, firstFrameIndexed, indexMs, kf, lazyKeyframes,
      lazy: { fwd: stats(lazyFwd), bwd: stats(lazyBwd) },
      indexed: { fwd: stats(idxFwd), bwd: stats(idxBwd), all: stats([...idxFwd, ...idxBwd]) },
      old90: stats(oldTimes),
    });
  }
  return out;
};
window.benchReady = true;
