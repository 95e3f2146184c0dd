// Types of `pam-launch-wasm/node-webrtc` (bin/lib/node-webrtc.mjs).
import type { RTCPeerConnectionClass } from "pam-launch-wasm";

/** A PamLaunchError with code UNSUPPORTED: node-datachannel is not installed. */
export class UnsupportedError extends Error {
  constructor(message: string);
  readonly code: "UNSUPPORTED";
}

/** node-datachannel's RTCPeerConnection polyfill, for launch()'s `RTCPeerConnection` option; rejects with code UNSUPPORTED without it. */
export function nodeRTCPeerConnection(): Promise<RTCPeerConnectionClass>;
