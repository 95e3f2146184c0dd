// In a dedicated Worker (no window, no document, no RTCPeerConnection in
// Chromium's workers): the UNSUPPORTED errors, a launch through a fake
// RTCPeerConnection class that ends with GATEWAY_TIMEOUT by its own timer,
// and a headless client answering a sync.
import init, { launch, GuacamoleClient, RecordingPlayer } from '/pkg/web/pam_launch_wasm.js';

const report = { scope: {}, errors: {}, statuses: [], calls: [] };
const code = (f) => {
  try {
    f();
    return null;
  } catch (e) {
    return { name: e.name, code: e.code, message: e.message };
  }
};

class FakePC extends EventTarget {
  constructor(config) {
    super();
    report.calls.push('new');
    this.config = config;
    this.connectionState = 'new';
    this.iceGatheringState = 'new';
    this.localDescription = null;
  }
  createDataChannel() {
    report.calls.push('createDataChannel');
    const dc = new EventTarget();
    Object.assign(dc, { readyState: 'connecting', bufferedAmount: 0, bufferedAmountLowThreshold: 0, binaryType: 'blob', send() {}, close() { report.calls.push('dc.close'); } });
    return dc;
  }
  async createOffer() {
    report.calls.push('createOffer');
    return { type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n' };
  }
  async setLocalDescription(d) { report.calls.push('setLocalDescription'); this.localDescription = d; }
  close() { report.calls.push('close'); }
}

try {
  await init();
  report.scope = {
    window: typeof self.window,
    document: typeof self.document,
    RTCPeerConnection: typeof self.RTCPeerConnection,
    requestAnimationFrame: typeof self.requestAnimationFrame,
  };
  const scenario = await (await fetch('/fixtures/scenario2.json')).json();
  const plan = { recordUid: scenario.recordUid, record: scenario.record, dag: scenario.dag, linkedUserRecordUid: scenario.linkedUserRecordUid, jit: 'auto' };
  const signaling = { send: () => new Promise(() => {}), subscribe: () => () => {} };
  report.errors.noRtc = code(() => launch({ plan, signaling, renderer: 'headless' }));
  report.errors.noCanvas = code(() => launch({ plan, signaling, RTCPeerConnection: FakePC }));
  report.errors.clientNoCanvas = code(() => new GuacamoleClient({ send() {} }));
  report.errors.playerNoCanvas = code(() => new RecordingPlayer(new TextEncoder().encode('4.sync,1.1;')));

  const out = [];
  const client = new GuacamoleClient({ renderer: 'headless', send: (b) => out.push(new TextDecoder().decode(b)) });
  client.receive(new TextEncoder().encode('4.size,1.0,3.640,3.480;4.rect,1.0,1.0,1.0,2.10,2.10;5.cfill,2.14,1.0,1.0,1.0,1.0,3.255;4.sync,4.1234;'));
  report.headless = { sent: out.join(''), width: client.width, height: client.height, frames: client.framesRendered };

  const t0 = performance.now();
  const session = launch({
    plan, signaling, renderer: 'headless', RTCPeerConnection: FakePC, timeouts: { answerMs: 300 },
    onstatus: (s) => report.statuses.push({ phase: s.phase, code: s.error ? s.error.code : null, t: performance.now() - t0 }),
  });
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 5000));
  const final = await Promise.race([session.closed, timeout]);
  report.final = final ? { phase: final.phase, code: final.error ? final.error.code : null } : null;
} catch (e) {
  report.error = `${e.name}: ${e.message}`;
}
self.postMessage(report);
