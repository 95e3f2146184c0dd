// The RTCPeerConnection that pam-launch passes to launch() in Node:
// node-datachannel's polyfill (libdatachannel's WebRTC).
//
//   import { nodeRTCPeerConnection } from 'pam-launch-wasm/node-webrtc';
//   const RTCPeerConnection = await nodeRTCPeerConnection();   // rejects with code UNSUPPORTED without node-datachannel
//   launch({ ..., RTCPeerConnection, renderer: 'headless' });
//
// node-datachannel is an optional peer dependency of the package: only this
// launch path needs it, and it is a native module (prebuilt binaries) that a
// browser or extension user of the package should not have to download. It
// is looked up from the caller's project first, then beside this package.
//
// Known limits of the polyfill (0.33.4) with Keeper's library, measured in
// tests/e2e/node-launch.test.mjs's set-up: about 1 launch in 12 fails its
// DTLS handshake ("certificate verify failed" in libdatachannel's log), which
// launch() reports as CONNECTION_LOST before the data channel opens (without
// trickle ICE: INVALID_SIGNALING_MESSAGE, the answer meeting a connection
// libdatachannel has already closed). It looks like the gateway's DTLS
// ClientHello arriving before our side has applied its answer (the
// fingerprint to check it against). Its
// createOffer() always returns the first offer, so a client-side ICE restart
// cannot work.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export class UnsupportedError extends Error {
  constructor(message) {
    super(message);
    this.name = 'PamLaunchError';
    this.code = 'UNSUPPORTED';
  }
}

let cached;

/** The polyfill's class, loaded once; rejects with code UNSUPPORTED when node-datachannel is missing. */
export async function nodeRTCPeerConnection() {
  if (cached) return cached;
  try {
    let url;
    try {
      url = pathToFileURL(createRequire(`${process.cwd()}/`).resolve('node-datachannel/polyfill')).href;
    } catch {
      url = 'node-datachannel/polyfill'; // beside this package
    }
    const m = await import(url);
    const Ctor = m.RTCPeerConnection || m.default?.RTCPeerConnection;
    if (typeof Ctor !== 'function') throw new Error('it has no RTCPeerConnection export');
    cached = Ctor;
    return cached;
  } catch (e) {
    throw new UnsupportedError(`WebRTC for Node is missing: node-datachannel cannot be loaded (${e.code || e.message}); install it beside pam-launch-wasm: npm install node-datachannel`);
  }
}
