// www/player.html: hosts the PlayerView on the wasm module. ?src=<url> opens
// a recording from this origin at once (tests, links from the launcher).
import init, * as api from './pkg/pam_launch_wasm.js';
import { PlayerView } from './js/player-view.js';

await init();
const host = /** @type {HTMLElement} */ (document.getElementById('player'));
const view = new PlayerView(host, { api });
// @ts-ignore: for tests and the console
window.playerView = view;
const src = new URLSearchParams(location.search).get('src');
if (src && new URL(src, location.href).origin === location.origin) {
  const r = await fetch(src);
  if (r.ok) await view.open(new Uint8Array(await r.arrayBuffer()), decodeURIComponent(src.split('/').pop() || 'recording.guac'));
}
// @ts-ignore
window.playerReady = true;
