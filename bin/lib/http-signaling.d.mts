// Types of `pam-launch-wasm/http-signaling` (bin/lib/http-signaling.mjs).
import type { LaunchSignaling } from "pam-launch-wasm";

export interface HttpSignalingOptions {
  /** The Origin header: default the URL's own origin; `null` sends none. */
  origin?: string | null;
  /** The extra wait beyond an action's `timeoutMs`, in ms (default 2000). */
  graceMs?: number;
  /** Called with a handler that threw, or an event stream that ended or failed. */
  onerror?: ((err: unknown) => void) | null;
  /** Another fetch (tests). */
  fetch?: typeof fetch;
}

/** The signaling directory URL (ending in "/signal/") for a server's base URL or its signal/ URL. */
export function signalingBase(url: string | URL): URL;

/** Reads a Server-Sent Events body, calling `onEvent` with each event's data; resolves when the body ends. */
export function readEventStream(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  onEvent: (data: string) => void,
  options?: { maxEventBytes?: number },
): Promise<void>;

/** launch()'s `signaling` over a JSON-over-HTTP router (the local gateway stand-in, npm start's /signal/). */
export function httpSignaling(url: string | URL, options?: HttpSignalingOptions): LaunchSignaling;
