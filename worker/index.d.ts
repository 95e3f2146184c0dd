// Types of `pam-launch-wasm/worker`: the page side of a session in a
// dedicated Worker (page.js) and the WebRTC/signaling relay (relay.js).
import type { LaunchOptions, LaunchSignaling, LaunchStatus, LaunchTimings, RTCPeerConnectionClass } from "../pkg/web/pam_launch_wasm.js";

/** A LaunchStatus as it crosses from the worker: the error as plain data. */
export interface WorkerLaunchStatus {
  phase: LaunchStatus["phase"];
  message: string;
  error?: { name: string; code?: string; message: string };
  /** Phase "closed": why it ended (as LaunchStatus.closeReason). */
  closeReason?: LaunchStatus["closeReason"];
  /** Phase "closed": guacd's error before the end (as LaunchStatus.guacStatus). */
  guacStatus?: LaunchStatus["guacStatus"];
}

/** The options of launch() that are plain data (they are posted to the worker as they are). */
export type WorkerPlainLaunchOptions = Omit<LaunchOptions, "canvas" | "signaling" | "onstatus" | "renderer" | "RTCPeerConnection">;

export interface WorkerLaunchOptions extends WorkerPlainLaunchOptions {
  /** A module Worker running `pam-launch-wasm/worker/session-worker.js`, not yet used. */
  worker: Worker;
  /** The page's canvas: transferred to the worker (`transferControlToOffscreen`), so a canvas serves one launch. */
  canvas: HTMLCanvasElement;
  /** The caller's router client; it stays in the page, the worker's launch() reaches it through the relay. */
  signaling: LaunchSignaling;
  /** The page's RTCPeerConnection class (default: globalThis.RTCPeerConnection). */
  RTCPeerConnection?: typeof RTCPeerConnection;
  onstatus?: (status: WorkerLaunchStatus) => void;
  onframe?: (framesRendered: number) => void;
  /** Where the worker loads the wasm from (default: next to pam_launch_wasm.js). */
  wasm?: string | URL;
  /** Forward the canvas's keyboard, mouse, wheel, touch, paste and resize events (default true). */
  input?: boolean;
}

/** Input the page sends to the worker (what `forwardInput` posts; `send` takes the same). */
export type WorkerInput =
  | { type: "keydown" | "keyup"; event: import("../pkg/web/pam_launch_wasm.js").SerializedKeyEvent }
  | { type: "text"; text: string }
  | { type: "blur" }
  | { type: "mouse"; x: number; y: number; w: number; h: number; buttons: number }
  | { type: "wheel"; deltaY: number }
  | { type: "paste"; text: string }
  | { type: "resize"; w: number; h: number; dpr: number }
  | { type: "disconnect" };

export interface WorkerSession {
  /** The last status. */
  readonly status: WorkerLaunchStatus;
  /** Resolves with the final status ("closed"); the worker may be terminated then. */
  readonly closed: Promise<WorkerLaunchStatus>;
  /** The launch's timings, once closed. */
  readonly timings: LaunchTimings | null;
  /** Frames drawn so far (in the worker). */
  readonly frames: number;
  /** Ends the session cleanly (CloseConnection, then the peer connection closes). */
  disconnect(): void;
  /** Sends input to the worker, e.g. from an on-screen keyboard. */
  send(input: WorkerInput): void;
}

/** Starts a launch in `options.worker`, drawing into `options.canvas`; throws TypeError on a missing worker, canvas or signaling. */
export function launchInWorker(options: WorkerLaunchOptions): WorkerSession;

/** Page side of the relay on `port`: real peer connections and the caller's signaling. Returns the function that stops it. */
export function hostRelay(port: MessagePort, options: { signaling: LaunchSignaling; RTCPeerConnection?: typeof RTCPeerConnection }): () => void;

/** Worker side of the relay on `port`: an RTCPeerConnection stand-in class for launch()'s `RTCPeerConnection` option, and the relayed signaling. */
export function relayClient(port: MessagePort): { RelayPeerConnection: RTCPeerConnectionClass; signaling: LaunchSignaling };
