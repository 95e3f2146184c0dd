// www/player.html: <pam-launch-session mode="recording"> (the element mounts
// the PlayerView of www/js/player-view.js in its shadow root) on the wasm
// module. ?src=<url> opens a recording from this origin at once (tests,
// links from the launcher).
import init, * as api from './pkg/pam_launch_wasm.js';
import './js/element/pam-launch-session.js';

await init();
const el = /** @type {any} */ (document.getElementById('player'));
el.api = api;
const src = new URLSearchParams(location.search).get('src');
if (src && new URL(src, location.href).origin === location.origin) {
  const r = await fetch(src);
  if (r.ok) await el.openRecording(new Uint8Array(await r.arrayBuffer()), decodeURIComponent(src.split('/').pop() || 'recording.guac'));
}
// The element's PlayerView, for tests and the console.
// @ts-ignore
window.playerView = await el.getPlayer();
// @ts-ignore
window.playerReady = true;
