// The element's automatic-reconnect policy against a scripted `api` (no
// network, no wasm): each launch() plays the next script of window.scripts
// through the options' onstatus, and resolves `closed` with its final status.
// window.launches records each launch() call's time.
import '/js/element/pam-launch-session.js';

const noop = () => {};
window.launches = [];
window.scripts = [];

function fakeSession(options, script) {
  let resolveClosed = noop;
  let done = false;
  const closed = new Promise((r) => { resolveClosed = r; });
  const finish = (status) => {
    if (done) return;
    done = true;
    options.onstatus(status);
    resolveClosed(status);
  };
  const client = {
    width: 800, height: 600, autoScale: true, keyboardEnabled: true, disableCopy: false, disablePaste: false,
    onfile: null, onclipboard: null, onupload: null, onresize: null,
    redraw: noop, cancelUpload: () => false,
  };
  const session = {
    client, closed,
    attachInput: noop, detachInput: noop, focus: noop, resize: noop, free: noop,
    sendKeyEvent: noop, setClipboard: () => true,
    stats: { bytesIn: 0, bytesOut: 0, framesRendered: 0, rttMs: null, rttAt: null, pingOverdueMs: null, syncLagMs: null, bufferedAmount: 0 },
    disconnect: () => finish({ phase: 'closed', message: 'disconnected', closeReason: { code: 0, name: 'normal', transient: false, source: 'client' } }),
  };
  setTimeout(() => script(options, finish), 50);
  return session;
}

const el = document.getElementById('s');
el.api = {
  launch(options) {
    const script = window.scripts[window.launches.length] || (() => {});
    window.launches.push(performance.now());
    return fakeSession(options, script);
  },
};
el.plan = { jitMode: null, credentialType: 'linked', inputs: { recordUid: 'r', kind: 'start', conversationType: 'ssh', trickleICE: true }, guacdCredentialsEmpty: false, warnings: [] };
el.signaling = { send: async () => ({}), subscribe: () => noop };
window.pageReady = true;
