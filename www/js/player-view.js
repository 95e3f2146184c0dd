// PlayerView: the whole recording player UI inside a container (the picker
// and drop zone, the picture, play/pause, speed, skip idle, the timeline,
// frame stepping, the key log, PNG export), on the wasm RecordingPlayer.
// Styled by www/player.css (classes prefixed pv-). Hosted by www/player.html
// and by <pam-launch-session mode="recording">. Recording data is hostile:
// every text from it goes in through textContent.

/** Recordings larger than this are refused before they are read (bytes). */
export const MAX_RECORDING_BYTES = 256 * 1024 * 1024;
/** Speeds offered. */
export const RATES = [0.5, 1, 1.5, 2, 4, 8];
/** Arrow keys on the timeline move this far (ms); with Shift, SMALL_STEP_MS. */
const STEP_MS = 5000;
const SMALL_STEP_MS = 1000;

/** "1:23", "1:02:03" for a time in ms. */
export function formatTime(ms) {
  const t = Math.max(0, Math.floor((Number(ms) || 0) / 1000));
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** "1 minute 23 seconds" for screen readers. */
function spokenTime(ms) {
  const t = Math.max(0, Math.floor((Number(ms) || 0) / 1000));
  const m = Math.floor(t / 60), s = t % 60;
  const parts = [];
  if (m) parts.push(`${m} minute${m === 1 ? '' : 's'}`);
  parts.push(`${s} second${s === 1 ? '' : 's'}`);
  return parts.join(' ');
}

/**
 * Key presses grouped into lines: a Return ends a line; other special keys
 * show as ⟨Name⟩ tokens. Each line keeps the time of its first press.
 * @param {{ atMs: number, text: string, special: boolean }[]} events
 * @returns {{ atMs: number, text: string }[]}
 */
export function keyLines(events) {
  const lines = [];
  let cur = null;
  for (const e of events) {
    if (e.special && (e.text === 'Return' || e.text === 'KP_Enter')) {
      if (cur) lines.push(cur);
      else lines.push({ atMs: e.atMs, text: '' });
      cur = null;
      continue;
    }
    if (!cur) cur = { atMs: e.atMs, text: '' };
    cur.text += e.special ? `⟨${e.text}⟩` : e.text;
  }
  if (cur) lines.push(cur);
  return lines.filter((l) => l.text !== '');
}

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  if (text !== undefined) e.textContent = text;
  return e;
}

let ids = 0;

export class PlayerView {
  /**
   * @param {HTMLElement} container
   * @param {{ api: any }} options the initialised wasm module (RecordingPlayer)
   */
  constructor(container, { api }) {
    if (!api || typeof api.RecordingPlayer !== 'function') throw new TypeError('PlayerView needs { api }: the initialised pam-launch-wasm module');
    this.api = api;
    this.container = container;
    this.player = null;
    this.name = '';
    this.lines = [];
    this.pendingSeek = null;
    this.seekBusy = false;
    this.disposers = [];
    const id = `pv${++ids}`;
    this.root = el('div', { class: 'pv-root' });

    // Picker and drop zone.
    this.drop = el('div', { class: 'pv-drop' });
    const pickId = `${id}-file`;
    const pickLabel = el('label', { class: 'pv-button pv-pick', for: pickId }, 'Open a recording…');
    this.file = /** @type {HTMLInputElement} */ (el('input', { type: 'file', id: pickId, class: 'pv-file', accept: '.guac,application/octet-stream,text/plain' }));
    const hint = el('p', { class: 'pv-hint' }, `or drop a guacd session recording here (up to ${MAX_RECORDING_BYTES / 1024 / 1024} MiB)`);
    this.fileName = el('p', { class: 'pv-name' });
    this.drop.append(pickLabel, this.file, hint, this.fileName);

    this.error = el('div', { class: 'pv-error', role: 'alert' });
    this.error.hidden = true;

    // The picture.
    this.screen = el('div', { class: 'pv-screen' });
    this.canvas = /** @type {HTMLCanvasElement} */ (el('canvas', { class: 'pv-canvas', role: 'img', 'aria-label': 'Recording' }));
    this.screen.append(this.canvas);

    // Controls.
    this.controls = el('div', { class: 'pv-controls', role: 'group', 'aria-label': 'Playback' });
    this.playBtn = el('button', { type: 'button', class: 'pv-button pv-play', 'aria-keyshortcuts': 'k' }, 'Play');
    this.prevBtn = el('button', { type: 'button', class: 'pv-button', 'aria-label': 'Previous frame', 'aria-keyshortcuts': ',' }, '◀ Frame');
    this.nextBtn = el('button', { type: 'button', class: 'pv-button', 'aria-label': 'Next frame', 'aria-keyshortcuts': '.' }, 'Frame ▶');
    const rateId = `${id}-rate`;
    const rateWrap = el('span', { class: 'pv-field' });
    this.rate = /** @type {HTMLSelectElement} */ (el('select', { id: rateId, class: 'pv-rate' }));
    for (const r of RATES) {
      const o = /** @type {HTMLOptionElement} */ (el('option', { value: String(r) }, `${r}x`));
      if (r === 1) o.selected = true;
      this.rate.append(o);
    }
    rateWrap.append(el('label', { for: rateId }, 'Speed'), this.rate);
    const idleId = `${id}-idle`;
    const idleWrap = el('span', { class: 'pv-field' });
    this.idle = /** @type {HTMLInputElement} */ (el('input', { type: 'checkbox', id: idleId, class: 'pv-idle' }));
    idleWrap.append(this.idle, el('label', { for: idleId }, 'Skip idle'));
    this.exportBtn = el('button', { type: 'button', class: 'pv-button' }, 'Export frame (PNG)');
    const timelineId = `${id}-timeline`;
    this.timelineRow = el('div', { class: 'pv-timeline-row' });
    this.timeline = /** @type {HTMLInputElement} */ (el('input', { type: 'range', id: timelineId, class: 'pv-timeline', min: '0', max: '0', step: 'any', value: '0' }));
    this.time = el('span', { class: 'pv-time', 'aria-hidden': 'true' }, '0:00 / 0:00');
    this.frameText = el('span', { class: 'pv-frame' }, '');
    this.timelineRow.append(el('label', { for: timelineId, class: 'pv-visually-hidden' }, 'Position'), this.timeline, this.time);
    this.controls.append(this.playBtn, this.prevBtn, this.nextBtn, rateWrap, idleWrap, this.exportBtn, this.frameText);

    // Key log.
    this.keys = el('aside', { class: 'pv-keys', 'aria-labelledby': `${id}-keys-h` });
    const keysH = el('h2', { id: `${id}-keys-h`, class: 'pv-keys-title' }, 'Typed keys');
    const searchId = `${id}-search`;
    this.search = /** @type {HTMLInputElement} */ (el('input', { type: 'search', id: searchId, class: 'pv-search', placeholder: 'Search typed text' }));
    this.keyCount = el('p', { class: 'pv-key-count' });
    this.keyList = el('ol', { class: 'pv-key-list' });
    this.keys.append(keysH, el('label', { for: searchId, class: 'pv-visually-hidden' }, 'Search typed text'), this.search, this.keyCount, this.keyList);

    this.status = el('p', { class: 'pv-status', role: 'status', 'aria-live': 'polite' });

    this.stage = el('div', { class: 'pv-stage' });
    const main = el('div', { class: 'pv-main' });
    main.append(this.screen, this.timelineRow, this.controls);
    this.stage.append(main, this.keys);
    this.stage.hidden = true;
    this.root.append(this.drop, this.error, this.stage, this.status);
    container.append(this.root);
    this.wire();
  }

  /** @param {EventTarget} t @param {string} type @param {(e: any) => void} f */
  on(t, type, f) {
    t.addEventListener(type, f);
    this.disposers.push(() => t.removeEventListener(type, f));
  }

  wire() {
    this.on(this.file, 'change', () => {
      const f = this.file.files && this.file.files[0];
      if (f) this.open(f, f.name);
      this.file.value = '';
    });
    for (const type of ['dragenter', 'dragover']) {
      this.on(this.root, type, (e) => { e.preventDefault(); this.drop.classList.add('pv-dragging'); });
    }
    this.on(this.root, 'dragleave', (e) => { if (e.target === this.drop) this.drop.classList.remove('pv-dragging'); });
    this.on(this.root, 'drop', (e) => {
      e.preventDefault();
      this.drop.classList.remove('pv-dragging');
      const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
      if (f) this.open(f, f.name);
    });
    this.on(this.playBtn, 'click', () => this.togglePlay());
    this.on(this.prevBtn, 'click', () => this.step(-1));
    this.on(this.nextBtn, 'click', () => this.step(1));
    this.on(this.rate, 'change', () => this.setRate(Number(this.rate.value)));
    this.on(this.idle, 'change', () => {
      if (!this.player) return;
      this.player.skipIdle = this.idle.checked;
      this.say(this.idle.checked ? 'Skipping idle gaps longer than 1 second' : 'Playing idle gaps in real time');
    });
    this.on(this.exportBtn, 'click', () => this.exportPng());
    this.on(this.timeline, 'input', () => this.seekTo(Number(this.timeline.value), false));
    this.on(this.timeline, 'change', () => this.seekTo(Number(this.timeline.value), true));
    this.on(this.timeline, 'keydown', (e) => this.timelineKey(e));
    this.on(this.search, 'input', () => this.renderKeys());
    this.on(this.keyList, 'click', (e) => {
      const b = e.target instanceof Element ? e.target.closest('button[data-ms]') : null;
      if (b) this.seekTo(Number(b.getAttribute('data-ms')), true);
    });
    this.on(this.root, 'keydown', (e) => this.shortcut(e));
    if (typeof ResizeObserver === 'function') {
      const ro = new ResizeObserver(() => { try { this.player?.client.redraw(); } catch { /* closed */ } });
      ro.observe(this.screen);
      this.disposers.push(() => ro.disconnect());
    }
  }

  /** Page-wide shortcuts inside the player: k play/pause, `,` `.` frames. */
  shortcut(e) {
    if (!this.player || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t instanceof HTMLInputElement && (t.type === 'search' || t.type === 'text')) return;
    if (t instanceof HTMLSelectElement) return;
    if (e.key === ',' || e.key === '<') { e.preventDefault(); this.step(-1); }
    else if (e.key === '.' || e.key === '>') { e.preventDefault(); this.step(1); }
    else if (e.key === 'k' || e.key === 'K') { e.preventDefault(); this.togglePlay(); }
  }

  timelineKey(e) {
    if (!this.player) return;
    const d = this.player.duration;
    const pos = this.player.position;
    const step = e.shiftKey ? SMALL_STEP_MS : STEP_MS;
    let to = null;
    if (e.key === 'ArrowLeft' || e.key === 'ArrowDown') to = pos - step;
    else if (e.key === 'ArrowRight' || e.key === 'ArrowUp') to = pos + step;
    else if (e.key === 'PageDown') to = pos - d / 10;
    else if (e.key === 'PageUp') to = pos + d / 10;
    else if (e.key === 'Home') to = 0;
    else if (e.key === 'End') to = d;
    if (to === null) return;
    e.preventDefault();
    this.seekTo(Math.max(0, Math.min(d, to)), true);
  }

  say(text) { this.status.textContent = text; }

  showError(code, message) {
    this.error.textContent = '';
    this.error.append(el('strong', {}, code), document.createTextNode(` ${message}`));
    this.error.hidden = false;
    this.say(`Could not open the recording: ${message}`);
  }

  /**
   * Opens a recording (a File, a Blob or the bytes); a damaged or oversized
   * one shows its error code and sentence. Resolves once the first frame is drawn.
   * @param {File | Blob | Uint8Array} source
   * @param {string} [name]
   */
  async open(source, name) {
    this.close();
    this.error.hidden = true;
    const size = source instanceof Uint8Array ? source.byteLength : source.size;
    const label = name || (source instanceof File ? source.name : 'recording.guac');
    if (size > MAX_RECORDING_BYTES) {
      this.showError('RESOURCE_LIMIT', `${label} is ${(size / 1048576).toFixed(0)} MiB; the player opens recordings of up to ${MAX_RECORDING_BYTES / 1048576} MiB.`);
      return;
    }
    this.say(`Opening ${label}…`);
    let bytes;
    try {
      bytes = source instanceof Uint8Array ? source : new Uint8Array(await source.arrayBuffer());
    } catch (e) {
      this.showError('INVALID_INPUT', `${label} could not be read: ${e && e.message ? e.message : e}`);
      return;
    }
    let player;
    try {
      player = new this.api.RecordingPlayer(bytes, this.canvas);
    } catch (e) {
      const code = e && e.code ? String(e.code) : 'INVALID_INPUT';
      this.showError(code, `${label} is not a playable recording: ${e && e.message ? e.message : e}`);
      return;
    }
    this.player = player;
    this.name = label;
    this.fileName.textContent = label;
    this.canvas.setAttribute('aria-label', `Recording ${label}`);
    player.client.onresize = (w, h) => { if (w > 0 && h > 0) this.canvas.style.aspectRatio = `${w} / ${h}`; };
    player.onprogress = () => this.update();
    player.onend = () => { this.update(); this.say(`Ended at ${formatTime(player.duration)}`); };
    player.playbackRate = Number(this.rate.value) || 1;
    player.skipIdle = this.idle.checked;
    this.timeline.max = String(player.duration);
    this.stage.hidden = false;
    this.lines = keyLines(player.keyEvents());
    this.keys.hidden = this.lines.length === 0;
    this.stage.classList.toggle('pv-no-keys', this.lines.length === 0);
    this.renderKeys();
    await player.seek(0);
    // Another recording opened (or close()) meanwhile: this one is gone.
    if (this.player !== player) return;
    this.update();
    this.say(`Opened ${label}: ${formatTime(player.duration)}, ${player.frameCount} frames`);
    // Keyframes for fast seeking, in the background.
    player.index().catch(() => {});
  }

  /** Closes the recording (back to the picker). */
  close() {
    if (this.player) {
      try { this.player.pause(); this.player.free(); } catch { /* already freed */ }
      this.player = null;
    }
    this.stage.hidden = true;
    this.fileName.textContent = '';
    this.keyList.textContent = '';
    this.lines = [];
  }

  /** Closes and removes the UI and its listeners. */
  destroy() {
    this.close();
    for (const d of this.disposers.splice(0)) d();
    this.root.remove();
  }

  togglePlay() {
    const p = this.player;
    if (!p) return;
    if (p.playing) {
      p.pause();
      this.say(`Paused at ${formatTime(p.position)}`);
    } else {
      p.play();
      this.say(`Playing at ${p.playbackRate}x`);
    }
    this.update();
  }

  setRate(r) {
    const p = this.player;
    if (!p || !Number.isFinite(r)) return;
    p.playbackRate = r;
    this.say(p.playing ? `Playing at ${p.playbackRate}x` : `Speed ${p.playbackRate}x`);
  }

  async step(n) {
    const p = this.player;
    if (!p) return;
    await p.stepFrame(n);
    this.update();
    this.say(`Frame ${p.frame + 1} of ${p.frameCount} at ${formatTime(p.position)}`);
  }

  /**
   * Seeks, one seek at a time: while one draws, only the latest target waits.
   * @param {number} ms
   * @param {boolean} announce
   */
  async seekTo(ms, announce) {
    const p = this.player;
    if (!p) return;
    this.pendingSeek = { ms, announce: announce || (this.pendingSeek ? this.pendingSeek.announce : false) };
    if (this.seekBusy) return;
    this.seekBusy = true;
    try {
      while (this.pendingSeek && this.player === p) {
        const { ms: to, announce: say } = this.pendingSeek;
        this.pendingSeek = null;
        await p.seek(to);
        this.update();
        if (say) this.say(`Seeked to ${formatTime(p.position)}`);
      }
    } finally {
      this.seekBusy = false;
    }
  }

  update() {
    const p = this.player;
    if (!p) return;
    const pos = p.position, d = p.duration;
    // The focused element of this tree (the document, or a shadow root when mounted in one).
    const root = /** @type {Document | ShadowRoot} */ (this.root.getRootNode());
    if (root.activeElement !== this.timeline || !this.seekBusy) this.timeline.value = String(pos);
    this.timeline.setAttribute('aria-valuetext', `${spokenTime(pos)} of ${spokenTime(d)}`);
    this.time.textContent = `${formatTime(pos)} / ${formatTime(d)}`;
    this.frameText.textContent = `Frame ${Math.max(0, p.frame + 1)} of ${p.frameCount}`;
    this.playBtn.textContent = p.playing ? 'Pause' : 'Play';
    this.playBtn.setAttribute('aria-pressed', String(p.playing));
    this.highlightKey(pos);
  }

  renderKeys() {
    const q = this.search.value.trim().toLowerCase();
    this.keyList.textContent = '';
    let shown = 0;
    for (const line of this.lines) {
      if (q && !line.text.toLowerCase().includes(q)) continue;
      shown++;
      const li = el('li', { class: 'pv-key' });
      const b = el('button', { type: 'button', class: 'pv-key-button', 'data-ms': String(line.atMs), 'aria-label': `${line.text} at ${formatTime(line.atMs)}: seek there` });
      b.append(el('span', { class: 'pv-key-time' }, formatTime(line.atMs)), el('span', { class: 'pv-key-text' }, line.text));
      li.append(b);
      this.keyList.append(li);
    }
    this.keyCount.textContent = q ? `${shown} of ${this.lines.length} lines match` : `${this.lines.length} lines typed`;
    if (this.player) this.highlightKey(this.player.position);
  }

  highlightKey(pos) {
    let current = null;
    for (const b of this.keyList.querySelectorAll('button[data-ms]')) {
      if (Number(b.getAttribute('data-ms')) <= pos) current = b;
      b.classList.remove('pv-key-current');
    }
    if (current) current.classList.add('pv-key-current');
  }

  /** The current frame as a PNG download named after the recording and the time. */
  async exportPng() {
    const p = this.player;
    if (!p) return;
    const snap = p.client.snapshot();
    /** @type {Blob} */
    const blob = typeof snap.convertToBlob === 'function'
      ? await snap.convertToBlob({ type: 'image/png' })
      : await new Promise((resolve, reject) => snap.toBlob((b) => (b ? resolve(b) : reject(new Error('no PNG'))), 'image/png'));
    const base = this.name.replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_') || 'recording';
    const t = (p.position / 1000).toFixed(1).replace('.', 's');
    const a = /** @type {HTMLAnchorElement} */ (el('a', { download: `${base}-${t}.png` }));
    const url = URL.createObjectURL(blob);
    a.href = url;
    this.root.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    this.say(`Exported the frame at ${formatTime(p.position)} as ${a.download}`);
  }
}
