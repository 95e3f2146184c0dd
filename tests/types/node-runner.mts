// The typed Node runner (`pam-launch-wasm/http-signaling`, `pam-launch-wasm/node-webrtc`),
// checked (not run) by tsc in npm test with the package's other types.
import { launch } from "pam-launch-wasm";
import type { PamSession } from "pam-launch-wasm";
import { httpSignaling, signalingBase } from "pam-launch-wasm/http-signaling";
import { nodeRTCPeerConnection, UnsupportedError } from "pam-launch-wasm/node-webrtc";

export async function headlessLaunch(url: string, record: Record<string, unknown>): Promise<PamSession> {
  const RTCPeerConnection = await nodeRTCPeerConnection();
  const signaling = httpSignaling(url, { origin: null, graceMs: 500 });
  const base: URL = signalingBase(url);
  void base.href;
  // @ts-expect-error the Origin header is a string or null
  httpSignaling(url, { origin: 42 });
  return launch({
    plan: { recordUid: "uid", record },
    signaling,
    RTCPeerConnection,
    renderer: "headless",
  });
}

export function isUnsupported(e: unknown): boolean {
  return e instanceof UnsupportedError && e.code === "UNSUPPORTED";
}
