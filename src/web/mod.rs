//! The thin JavaScript binding (wasm32 only).
//!
//! Each export converts JS values to the core's JSON/bytes types, calls the
//! same-named function in [`crate::core::api`], and converts back. No logic
//! lives here: Node, the browser and native tests all run the core's code.

mod audio;
mod canvas;
mod clock;
mod convert;
mod display;
mod error;
mod guac;
mod input;
mod keyboard;
mod launch;
mod player;
mod session;
mod sink;
mod surface;
mod worker;

pub use guac::{summarize_recording, GuacamoleParser};
pub use launch::{launch, PamSession};
pub use player::RecordingPlayer;
pub use session::GuacamoleClient;
pub use worker::KeyTranslator;

use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::core::api;
use crate::core::error::ErrorCode;

use convert::{dag_from_js, record_key_from_js, to_js, to_json};
use error::to_js_error;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** A JIT mode: the gateway creates an account, elevates the linked one, or both. */
export type JitMode = "ephemeral" | "elevation" | "both";

/** The gateway's credential types. */
export type CredentialType = "ephemeral" | "linked" | "userSupplied";

/** Stable error codes, found on `error.code` of every error this module throws. */
export type PamLaunchErrorCode =
  | "INVALID_INPUT"
  | "JIT_NOT_CONFIGURED"
  | "JIT_WITH_SUPPLY_HOST"
  | "JIT_EXCLUSIVE_OPTION"
  | "JIT_ELEVATION_NEEDS_LINKED_CREDENTIAL"
  | "DAG_DECRYPT_FAILED"
  | "DAG_INVALID_JSON"
  | "INCOMPLETE_INSTRUCTION"
  | "MALFORMED_INSTRUCTION"
  | "INSTRUCTION_TOO_LARGE"
  | "TUNNEL_DECRYPT_FAILED"
  | "INVALID_SIGNALING_MESSAGE"
  | "GATEWAY_REFUSED"
  | "GATEWAY_TIMEOUT"
  | "TUNNEL_TIMEOUT"
  | "MALFORMED_FRAME"
  | "FRAME_TOO_LARGE"
  | "GATEWAY_CLOSED"
  | "CONNECTION_LOST"
  | "RESOURCE_LIMIT"
  | "UNSUPPORTED";

/** Options of `new GuacamoleClient(...)`. */
export interface GuacamoleClientOptions {
  /** Called with every chunk of bytes for the server (a data channel, a WebSocket, ...). */
  send: (bytes: Uint8Array) => void;
  /**
   * "canvas" (default): draw into `canvas`; "headless": draw nothing, report
   * instructions (`oninstruction`) and frames (`onframe(frame: HeadlessFrame)`),
   * answer each `sync` as its frame completes (for Node runners).
   */
  renderer?: "canvas" | "headless";
  /**
   * The canvas to render into: an HTMLCanvasElement, or an OffscreenCanvas.
   * Absent, one is created from `document` (see `client.canvas`); with no
   * document (a Worker, Node) that is an UNSUPPORTED error: pass a canvas or
   * use `renderer: "headless"`.
   */
  canvas?: HTMLCanvasElement | OffscreenCanvas;
  /** Every instruction the server sent, as it arrives (blob and img payloads as their base64 text). */
  oninstruction?: (opcode: string, args: string[]) => void;
  /** "gateway" (default): the Keeper gateway did the handshake; "direct": talk to guacd, starting with `select`. */
  mode?: "gateway" | "direct";
  /** For "direct": the protocol to select (ssh, rdp, vnc, ...). */
  protocol?: string;
  /** For "direct": connection parameters by name (values for `connect`). */
  params?: Record<string, string>;
  width?: number;
  height?: number;
  dpi?: number;
  timezone?: string;
  audio?: string[];
  image?: string[];
  /** Do not pass the remote clipboard to the page. */
  disableCopy?: boolean;
  /** Do not send the page's clipboard to the remote side. */
  disablePaste?: boolean;
  /** Scale the display to fit the canvas's CSS box (default true). */
  autoScale?: boolean;
  /** Send KP_Enter for the numpad Enter key (default: Return, as guacd's RDP keymaps expect). */
  keypadEnter?: boolean;
}

/**
 * A download the server offers (`client.onfile = (offer) => ...`). Nothing
 * is acknowledged or kept until `accept()`; without an `onfile` handler every
 * download is refused. Guacamole announces no size: it is the Blob's.
 */
export interface FileOffer {
  /** The server's stream index. */
  stream: number;
  /** The file name the server gives (not a path to trust). */
  name: string;
  mimetype: string;
  /**
   * Accepts the download: resolves with the whole file once the server ends
   * the stream; rejects if the session ends first, or past the limit on open
   * streams (64 MiB, the session then ends with RESOURCE_LIMIT).
   */
  accept(): Promise<Blob>;
  /** Refuses the download (an error ack to the server); nothing is kept. */
  reject(): void;
}

/**
 * How an upload stands, as `client.onupload(stream, sent, total, status, message?)`
 * reports it: "progress" each time the server acknowledges a chunk (`sent`:
 * bytes acknowledged so far), then one of "done" (all acknowledged, `end`
 * sent), "error" (the server refused it, or the file could not be read;
 * `message` says why) or "cancelled" (`client.cancelUpload(stream)`).
 */
export type UploadStatus = "progress" | "done" | "error" | "cancelled";

/** `client.onupload`. `total` is the file's size (0 when unknown). */
export type UploadCallback = (stream: number, sent: number, total: number, status: UploadStatus, message?: string) => void;

/** A completed frame, as the headless renderer reports it. */
export interface HeadlessFrame {
  /** Frames completed so far, this one included (1 for the first). */
  frame: number;
  /** Drawing operations in the frame. */
  ops: number;
  /** The remote display size (layer 0) after the frame. */
  width: number;
  height: number;
  /** `performance.now()` when the frame completed. */
  at: number;
  /** The server's `sync` timestamp; null for the operations after the last `sync` (`flushPending`). */
  timestamp: number | null;
  /** The frame drew into the visible display. */
  painted: boolean;
}

/** What `summarizeRecording` reports about a Guacamole recording or stream. */
export interface RecordingSummary {
  /** Total instructions. */
  instructions: number;
  /** Instructions per opcode. */
  counts: Record<string, number>;
  /** Frames (`sync` instructions). */
  frames: number;
  /** From the first `sync` timestamp to the last, in milliseconds. */
  durationMs: number;
  /** Bytes read. */
  bytes: number;
}

/** The errors this module throws: plain `Error` objects with a stable `code`. */
export interface PamLaunchError extends Error {
  name: "PamLaunchError";
  code: PamLaunchErrorCode;
}

/** JIT settings in snake_case (unknown keys are kept). */
export interface JitSettings {
  create_ephemeral?: unknown;
  ephemeral_account_type?: string;
  base_distinguished_name?: string;
  pam_directory_uid_ref?: string;
  elevate?: unknown;
  elevation_method?: string;
  elevation_string?: string;
  [key: string]: unknown;
}

/** One DAG edge as a DAG sync returns it. */
export interface DagEdge {
  path?: string;
  version?: number | string;
  type?: "DATA" | "DELETION" | "LINK" | string;
  content?: unknown;
  [key: string]: unknown;
}

/**
 * The DAG `jit_settings` edge as the vault hands it over: the decoded object,
 * JSON text, bytes, encrypted content (base64url text or bytes of
 * nonce(12) || ciphertext || tag(16)), one edge, or the list of edges.
 */
export type DagJitInput = Record<string, unknown> | string | Uint8Array | ArrayBuffer | DagEdge | DagEdge[] | null;

/** A record key: 32 bytes, or their base64url text. */
export type RecordKey = Uint8Array | ArrayBuffer | string;

/** The typed record JSON as the vault decrypts it. */
export interface TypedRecord {
  type?: string;
  title?: string;
  fields?: { type: string; label?: string; value?: unknown[] }[];
  custom?: { type: string; label?: string; value?: unknown[] }[];
  [key: string]: unknown;
}

export interface LoadJitSettingsOptions {
  dag?: DagJitInput;
  record?: TypedRecord | null;
  recordKey?: RecordKey;
}

export interface LaunchRequest {
  /** UID of the PAM resource record. */
  recordUid: string;
  record: TypedRecord;
  dag?: DagJitInput;
  recordKey?: RecordKey;
  /** The pamUser the DAG links as the launch credential. */
  linkedUserRecordUid?: string | null;
  /** The directory the DAG LINK edge with path "domain" points to. */
  pamDirectoryUid?: string | null;
  /** JIT is opt-in; "auto" turns it on when the resource has an active mode and no allowSupplyHost. */
  jit?: boolean | "auto" | null;
  credentialOverride?: string | { uid: string } | null;
  hostOverride?: string | { hostName: string; port?: number | string } | null;
  hostRecordUid?: string | null;
}

/** The gateway `inputs` object, in Keeper Commander's key order. */
export interface GatewayInputs {
  recordUid: string;
  kind: "start";
  conversationType: string;
  trickleICE: boolean;
  credentialType?: CredentialType;
  userRecordUid?: string;
  allowSupplyUser?: true;
  jitSettings?: Record<string, unknown>;
  jitElevation?: Record<string, unknown>;
}

export interface LaunchWarning {
  code: "EPHEMERAL_RESOURCE_WITHOUT_JIT" | "DOMAIN_WITHOUT_DIRECTORY" | "IMPLICIT_CREDENTIAL" | "ELEVATION_OF_SUPPLIED_CREDENTIAL";
  message: string;
}

export interface LaunchPlan {
  /** The active JIT mode; null when JIT is off for this launch. */
  jitMode: JitMode | null;
  credentialType: CredentialType | null;
  inputs: GatewayInputs;
  /** guacd username/password are left empty (the gateway or the user supplies them). */
  guacdCredentialsEmpty: boolean;
  warnings: LaunchWarning[];
}
"#;

/// Normalises DAG (camelCase) or record (snake_case) JIT settings to snake_case.
#[wasm_bindgen(js_name = normalizeJitSettings, unchecked_return_type = "JitSettings | null")]
pub fn normalize_jit_settings(
    #[wasm_bindgen(unchecked_param_type = "unknown")] raw: JsValue,
) -> Result<JsValue, JsValue> {
    let v = to_json(&raw).map_err(to_js_error)?;
    to_js(&api::normalize_jit_settings(&v))
}

/// The JIT mode of the settings; throws `INVALID_INPUT` on a flag that is not a boolean.
#[wasm_bindgen(js_name = deriveJitMode, unchecked_return_type = "JitMode | null")]
pub fn derive_jit_mode(
    #[wasm_bindgen(unchecked_param_type = "unknown")] settings: JsValue,
) -> Result<JsValue, JsValue> {
    let v = to_json(&settings).map_err(to_js_error)?;
    to_js(&api::derive_jit_mode(&v).map_err(to_js_error)?)
}

/// The gateway's `jitSettings` payload (ephemeral keys only, empty values dropped).
#[wasm_bindgen(js_name = buildEphemeralPayload, unchecked_return_type = "Record<string, unknown>")]
pub fn build_ephemeral_payload(
    #[wasm_bindgen(unchecked_param_type = "unknown")] settings: JsValue,
) -> Result<JsValue, JsValue> {
    let v = to_json(&settings).map_err(to_js_error)?;
    to_js(&api::build_ephemeral_payload(&v))
}

/// The gateway's `jitElevation` payload (elevation keys only, empty values dropped).
#[wasm_bindgen(js_name = buildElevationPayload, unchecked_return_type = "Record<string, unknown>")]
pub fn build_elevation_payload(
    #[wasm_bindgen(unchecked_param_type = "unknown")] settings: JsValue,
) -> Result<JsValue, JsValue> {
    let v = to_json(&settings).map_err(to_js_error)?;
    to_js(&api::build_elevation_payload(&v))
}

/// True when a JIT launch gets its credential from the gateway (flag truthy, mode ephemeral or both).
#[wasm_bindgen(js_name = provisionsCredential)]
pub fn provisions_credential(
    #[wasm_bindgen(unchecked_param_type = "unknown")] jit_flag: JsValue,
    #[wasm_bindgen(unchecked_param_type = "unknown")] mode: JsValue,
) -> bool {
    let flag = Value::Bool(jit_flag.is_truthy());
    let mode = mode.as_string().map_or(Value::Null, Value::String);
    api::provisions_credential(&flag, &mode)
}

#[wasm_bindgen]
extern "C" {
    /// The 32-byte record key: bytes, or base64/base64url text.
    #[wasm_bindgen(typescript_type = "RecordKey")]
    pub type RecordKeyJs;
}

/// Decodes the DAG `jit_settings` edge (object, JSON, bytes, encrypted, or edge list) to its stored content.
#[wasm_bindgen(js_name = decodeDagJitSettings, unchecked_return_type = "Record<string, unknown> | null")]
pub fn decode_dag_jit_settings(
    #[wasm_bindgen(unchecked_param_type = "DagJitInput")] edge: JsValue,
    #[wasm_bindgen(js_name = recordKey)] record_key: Option<RecordKeyJs>,
) -> Result<JsValue, JsValue> {
    let record_key: Option<JsValue> = record_key.map(Into::into);
    let key = record_key_from_js(record_key.as_ref()).map_err(to_js_error)?;
    let Some(dag) = dag_from_js(&edge).map_err(to_js_error)? else {
        return Ok(JsValue::NULL);
    };
    to_js(&api::decode_dag_jit_settings(&dag, key.as_deref()).map_err(to_js_error)?)
}

/// Loads JIT settings: the DAG first, then the record's `pamSettings.options.jit_settings`.
#[wasm_bindgen(js_name = loadJitSettings, unchecked_return_type = "JitSettings | null")]
pub fn load_jit_settings(
    #[wasm_bindgen(unchecked_param_type = "LoadJitSettingsOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let (dag, key, rest) = convert::split_request(&options).map_err(to_js_error)?;
    let record = rest.get("record").cloned();
    to_js(
        &api::load_jit_settings(dag.as_ref(), key.as_deref(), record.as_ref())
            .map_err(to_js_error)?,
    )
}

/// Plans a launch: the JIT mode, the credential path and the exact gateway inputs.
#[wasm_bindgen(js_name = planLaunch, unchecked_return_type = "LaunchPlan")]
pub fn plan_launch(
    #[wasm_bindgen(unchecked_param_type = "LaunchRequest")] request: JsValue,
) -> Result<JsValue, JsValue> {
    let (dag, key, rest) = convert::split_request(&request).map_err(to_js_error)?;
    let req = api::launch_request(&rest, dag, key).map_err(to_js_error)?;
    to_js(&api::plan_launch(&req).map_err(to_js_error)?)
}

/// Every error code this module can throw.
#[wasm_bindgen(js_name = errorCodes, unchecked_return_type = "PamLaunchErrorCode[]")]
pub fn error_codes() -> Result<JsValue, JsValue> {
    let codes: Vec<Value> = ErrorCode::ALL
        .iter()
        .map(|c| Value::String(c.as_str().into()))
        .collect();
    to_js(&Value::Array(codes))
}
