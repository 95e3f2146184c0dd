// Types of <pam-launch-session> (www/js/element/pam-launch-session.js).
//
//   import 'pam-launch-wasm/element';
//   const el = document.createElement('pam-launch-session'); // PamLaunchSession
//   el.addEventListener('pam-close', (e) => e.detail.reason);  // typed

import type * as Wasm from "../../../pkg/web/pam_launch_wasm.js";

/** The initialised wasm package (`import * as api from 'pam-launch-wasm/web'; await api.default();`). */
export type PamLaunchApi = typeof Wasm;

/** The player mode="recording" mounts (www/js/player-view.js). */
export interface PamPlayerView {
  open(source: File | Blob | Uint8Array, name?: string): Promise<void>;
  close(): void;
  destroy(): void;
  /** The open recording's player; null before one is opened. */
  readonly player: Wasm.RecordingPlayer | null;
}

export type PamLaunchScaling = "fit" | "real" | "remote-resize";
export type PamLaunchMode = "live" | "recording";
export type PamLaunchState = "idle" | "connecting" | "live" | "closed" | "error";

/** Named key combinations of the toolbar's Keys menu (sendKeys also takes an array of X11 keysyms). */
export type PamKeyCombo =
  | "ctrl-alt-del"
  | "win"
  | "alt-tab"
  | "ctrl-alt-f1" | "ctrl-alt-f2" | "ctrl-alt-f3" | "ctrl-alt-f4" | "ctrl-alt-f5" | "ctrl-alt-f6"
  | "ctrl-alt-f7" | "ctrl-alt-f8" | "ctrl-alt-f9" | "ctrl-alt-f10" | "ctrl-alt-f11" | "ctrl-alt-f12"
  | "print-screen"
  | "escape";

/** `pam-status`: every launch phase, as launch() reports it. */
export interface PamStatusDetail {
  phase: "planning" | "offerSent" | "waitingForGateway" | "ice" | "channelOpen" | "openingConnection" | "connectionOpened" | "connected" | "firstFrame" | "closed";
  /** A sentence for a person; never a secret. */
  message: string;
  /** Milliseconds since launch(). */
  ms: number;
  /** The error code when the launch ended in failure. */
  code?: string;
}

/** `pam-clipboard`: the remote side's clipboard (never sent when the record disables copying). */
export interface PamClipboardDetail {
  text: string;
}

/** `pam-file-offer`: the remote side offers a file; once more with `size` when it has arrived (Save and Discard are the person's). */
export interface PamFileOfferDetail {
  name: string;
  mimetype: string;
  size?: number;
}

/** `pam-upload`: an upload's progress (bytes the gateway acknowledged). */
export interface PamUploadDetail {
  name: string;
  sent: number;
  total: number;
  status: "progress" | "done" | "cancelled" | "error";
}

/** `pam-stats`: once a second while live. null where this build of the module reports none. */
export interface PamStatsDetail {
  rttMs: number | null;
  fps: number | null;
  bytesIn: number | null;
  bytesOut: number | null;
  /** RTT above 400 ms for 3 samples in a row, or a Ping overdue by more than 4 s. */
  poor: boolean;
}

/** `pam-close`: the session ended. */
export interface PamCloseDetail {
  /** The close reason's name (normal, connectionLost, adminClosed, aiClosed, ...), or null when the status has none. */
  reason: string | null;
  /** The error code (GATEWAY_CLOSED, CONNECTION_LOST, ...), or null for a clean close. */
  code: string | null;
  /** The module's message. */
  message: string;
  /** The sentence the element shows. */
  text: string;
  /** A reconnect may fix it. */
  transient: boolean;
  /** CloseConnection's numeric reason, when the status has one. */
  reasonCode?: number;
  /** Set when an automatic reconnect is counting down. */
  reconnectInMs?: number;
}

export interface PamLaunchSessionEventMap {
  "pam-status": CustomEvent<PamStatusDetail>;
  "pam-clipboard": CustomEvent<PamClipboardDetail>;
  "pam-file-offer": CustomEvent<PamFileOfferDetail>;
  "pam-upload": CustomEvent<PamUploadDetail>;
  "pam-stats": CustomEvent<PamStatsDetail>;
  "pam-close": CustomEvent<PamCloseDetail>;
}

export declare const POOR_RTT_MS: number;
export declare const POOR_SAMPLES: number;
export declare const POOR_OVERDUE_MS: number;
export declare const RECONNECT_DELAYS_MS: number[];

/** The record's clipboard policy (pamSettings.connection.disableCopy / disablePaste). */
export declare function recordClipboardPolicy(record: unknown): { disableCopy: boolean; disablePaste: boolean };

export declare class PamLaunchSession extends HTMLElement {
  /** The initialised wasm module (the element never imports it). */
  api: PamLaunchApi | null;
  /** planLaunch()'s result, or a LaunchRequest to plan. */
  plan: Wasm.LaunchPlan | Wasm.LaunchRequest | null;
  /** The typed record (trafficEncryptionSeed, pamHostname, clipboard policy). */
  record: Wasm.TypedRecord | null;
  /** The gateway signaling (routerSignaling() of www/js/signaling.js, or your own). */
  signaling: Wasm.LaunchSignaling | null;
  iceServers: RTCIceServer[] | null;
  /** An RTCPeerConnection class (default: the browser's). */
  RTCPeerConnection: Wasm.RTCPeerConnectionClass | null;
  timeouts: Wasm.LaunchTimeouts | null;
  trickleIce: boolean | null;
  /** The module's PamSession of the current (or last) launch; null before the first. */
  readonly session: Wasm.PamSession | null;
  readonly canvas: HTMLCanvasElement;
  /** "fit" (default), "real" (1:1, scrolls) or "remote-resize"; the `scaling` attribute. */
  scaling: PamLaunchScaling;
  /** The `readonly` attribute: view only (no keyboard, mouse, paste or upload). */
  readOnly: boolean;
  /** The `mode` attribute. */
  mode: PamLaunchMode;
  /** Also the host's data-state attribute. */
  readonly state: PamLaunchState;
  readonly stats: PamStatsDetail;
  readonly keyboardCapture: boolean;
  readonly clipboardPolicy: { disableCopy: boolean; disablePaste: boolean };

  /** Starts a session with the properties above; the PamSession, or null when it could not start (then pam-close says why). */
  launch(): Wasm.PamSession | null;
  /** Ends the session cleanly (or cancels a launch, or a pending automatic reconnect). */
  disconnect(): void;
  /** A new session with the same properties. */
  reconnect(): Wasm.PamSession | null;
  /** Stops a pending automatic reconnect. */
  cancelReconnect(quiet?: boolean): void;
  /** Presses the keys in order, releases them in reverse; false with no live session or an unknown combination. */
  sendKeys(combo: PamKeyCombo | number[]): boolean;
  /** Sends text to the remote clipboard; false when pasting is disabled or nothing is live. */
  setClipboard(text: string): boolean;
  /** Uploads a file with progress (pam-upload); the stream index, or null. */
  upload(file: File): number | null;
  cancelUpload(stream: number): boolean;
  /** Opens a guacd recording in the player (switches to mode="recording"). */
  openRecording(source: File | Blob | Uint8Array, name?: string): Promise<void>;
  /** The recording player (mode="recording"), mounted on first use; rejects without `api`. */
  getPlayer(): Promise<PamPlayerView>;
  setScaling(mode: PamLaunchScaling): boolean;
  setKeyboardCapture(on: boolean): void;
  /** Fullscreen of the element with the keyboard lock where allowed; resolves to the new state. */
  toggleFullscreen(): Promise<boolean>;

  addEventListener<K extends keyof PamLaunchSessionEventMap>(type: K, listener: (this: PamLaunchSession, ev: PamLaunchSessionEventMap[K]) => any, options?: boolean | AddEventListenerOptions): void;
  addEventListener<K extends keyof HTMLElementEventMap>(type: K, listener: (this: PamLaunchSession, ev: HTMLElementEventMap[K]) => any, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof PamLaunchSessionEventMap>(type: K, listener: (this: PamLaunchSession, ev: PamLaunchSessionEventMap[K]) => any, options?: boolean | EventListenerOptions): void;
  removeEventListener<K extends keyof HTMLElementEventMap>(type: K, listener: (this: PamLaunchSession, ev: HTMLElementEventMap[K]) => any, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    "pam-launch-session": PamLaunchSession;
  }
  // The events bubble and are composed: a listener on document gets them too.
  interface HTMLElementEventMap extends PamLaunchSessionEventMap {}
}
