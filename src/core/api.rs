//! The public API as JSON in, JSON out: one function per JS export, with the
//! same names and semantics. The web layer only converts JS values to
//! [`serde_json::Value`] (and bytes) and back, so Node, the browser and native
//! tests run exactly this code.

use serde_json::{Map, Value};

use super::dag::{self, Content, DagInput};
use super::error::{Error, Result};
use super::jit::{self, JitMode};
use super::plan::{self, JitRequest, LaunchPlan, LaunchRequest};
use super::record::PamRecord;

/// `normalizeJitSettings(raw)`: snake_case object, or `null`.
pub fn normalize_jit_settings(raw: &Value) -> Value {
    jit::normalize(raw).map_or(Value::Null, Value::Object)
}

/// `deriveJitMode(settings)`: `"ephemeral" | "elevation" | "both" | null`.
pub fn derive_jit_mode(settings: &Value) -> Result<Value> {
    Ok(mode_value(jit::derive_mode(settings)?))
}

/// `buildEphemeralPayload(settings)`.
pub fn build_ephemeral_payload(settings: &Value) -> Value {
    Value::Object(jit::ephemeral_payload(settings))
}

/// `buildElevationPayload(settings)`.
pub fn build_elevation_payload(settings: &Value) -> Value {
    Value::Object(jit::elevation_payload(settings))
}

/// `provisionsCredential(jitFlag, mode)`: the flag is taken by JavaScript
/// truthiness; the mode must be one of the exact mode strings.
pub fn provisions_credential(jit_flag: &Value, mode: &Value) -> bool {
    let mode = mode.as_str().and_then(JitMode::parse);
    jit::provisions_credential(truthy(jit_flag), mode)
}

/// JavaScript truthiness of a JSON value (`NaN` and `undefined` arrive as `null`).
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0 && !x.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `decodeDagJitSettings(edge, recordKey?)`: the content of the winning
/// `jit_settings` edge as stored (camelCase), or `null`.
pub fn decode_dag_jit_settings(edge: &DagInput, record_key: Option<&[u8]>) -> Result<Value> {
    Ok(dag::decode(edge, record_key)?
        .settings
        .unwrap_or(Value::Null))
}

/// `loadJitSettings({ dag, record })`: DAG first, then the record; snake_case or `null`.
pub fn load_jit_settings(
    dag: Option<&DagInput>,
    record_key: Option<&[u8]>,
    record: Option<&Value>,
) -> Result<Value> {
    let record = match record {
        None | Some(Value::Null) => None,
        Some(r) => Some(PamRecord::parse(r)?),
    };
    let loaded = plan::load_settings(dag, record_key, record.as_ref())?;
    Ok(loaded.settings.map_or(Value::Null, Value::Object))
}

/// Builds a [`LaunchRequest`] from the JSON request object. `dag` and
/// `record_key` are passed separately because they may be bytes.
pub fn launch_request(
    request: &Value,
    dag: Option<DagInput>,
    record_key: Option<Vec<u8>>,
) -> Result<LaunchRequest> {
    let Some(req) = request.as_object() else {
        return Err(Error::invalid_input(
            "planLaunch takes an object { recordUid, record, dag?, recordKey?, linkedUserRecordUid?, pamDirectoryUid?, jit?, credentialOverride?, hostOverride?, hostRecordUid? }",
        ));
    };
    let record_uid = match req.get("recordUid") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(Error::invalid_input(
                "recordUid is required: the UID of the PAM resource record",
            ))
        }
    };
    let record = match req.get("record") {
        Some(r @ Value::Object(_)) => r.clone(),
        _ => {
            return Err(Error::invalid_input(
                "record is required: the typed record JSON { type, title, fields, custom } as the vault decrypts it",
            ))
        }
    };
    Ok(LaunchRequest {
        record_uid,
        record,
        dag,
        record_key,
        linked_user_record_uid: opt_uid(req, "linkedUserRecordUid")?,
        pam_directory_uid: opt_uid(req, "pamDirectoryUid")?,
        jit: JitRequest::from_value(req.get("jit"))?,
        credential_override: opt_override(req, "credentialOverride")?,
        host_override: opt_override(req, "hostOverride")?.is_some(),
        host_record_uid: opt_uid(req, "hostRecordUid")?,
    })
}

fn opt_uid(req: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::invalid_input(format!(
            "{key} must be a record UID string"
        ))),
    }
}

/// An override is "given" when it is a non-empty string or an object
/// (`{ uid }`, `{ hostName, port }`); `false`, `null` and `""` mean none.
fn opt_override(req: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match req.get(key) {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Object(o)) => Ok(Some(
            ["uid", "recordUid", "hostName"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str))
                .unwrap_or("(object)")
                .to_owned(),
        )),
        Some(_) => Err(Error::invalid_input(format!(
            "{key} must be a string or an object"
        ))),
    }
}

/// `planLaunch(request)`.
pub fn plan_launch(req: &LaunchRequest) -> Result<Value> {
    plan::plan(req).map(|p| plan_to_json(&p))
}

/// The JSON form of a plan: `{ jitMode, credentialType, inputs, guacdCredentialsEmpty, warnings }`.
pub fn plan_to_json(p: &LaunchPlan) -> Value {
    let mut m = Map::new();
    m.insert("jitMode".into(), mode_value(p.jit_mode));
    m.insert(
        "credentialType".into(),
        p.credential_type
            .map_or(Value::Null, |c| Value::String(c.as_str().into())),
    );
    m.insert("inputs".into(), Value::Object(p.inputs.to_json(None)));
    m.insert(
        "guacdCredentialsEmpty".into(),
        Value::Bool(p.guacd_credentials_empty),
    );
    m.insert(
        "warnings".into(),
        Value::Array(
            p.warnings
                .iter()
                .map(|w| {
                    let mut o = Map::new();
                    o.insert("code".into(), Value::String(w.code.into()));
                    o.insert("message".into(), Value::String(w.message.clone()));
                    Value::Object(o)
                })
                .collect(),
        ),
    );
    Value::Object(m)
}

fn mode_value(m: Option<JitMode>) -> Value {
    m.map_or(Value::Null, |m| Value::String(m.as_str().into()))
}

/// A DAG input from plain JSON (no bytes): used by native callers and tests.
pub fn dag_from_json(v: &Value) -> Result<Option<DagInput>> {
    match v {
        Value::Null => Ok(None),
        other => DagInput::from_value(other.clone()).map(Some),
    }
}

/// A record key from JSON: base64/base64url text, or an array of byte values.
pub fn record_key_from_json(v: &Value) -> Result<Option<Vec<u8>>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => dag::record_key_from_text(s).map(Some),
        Value::Array(a) => a
            .iter()
            .map(|b| b.as_u64().and_then(|n| u8::try_from(n).ok()))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| Error::invalid_input("record key bytes must be numbers 0-255"))
            .map(Some),
        _ => Err(Error::invalid_input(
            "record key must be bytes (Uint8Array) or base64url text",
        )),
    }
}

/// Content given as bytes (for the web layer).
pub fn dag_from_bytes(bytes: Vec<u8>) -> DagInput {
    DagInput::Content(Content::Bytes(bytes))
}

// ---------------------------------------------------------------------------
// The WebRTC launch (`launch()` in the web layer): the JSON it starts from.
// ---------------------------------------------------------------------------

/// Whether `launch({ plan })` was given a plan (it has `inputs`) rather than
/// the request to plan.
pub fn is_launch_plan(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.contains_key("inputs"))
}

/// The gateway inputs of a plan object as `planLaunch` returned it.
pub fn plan_inputs(plan: &Value) -> Result<crate::core::wire::GatewayInputs> {
    let inputs = plan.get("inputs").ok_or_else(|| {
        Error::invalid_input("plan must be the result of planLaunch (it has no inputs)")
    })?;
    crate::core::wire::GatewayInputs::from_json(inputs)
}

/// What the offer data of a launch says besides the SDP: the display size,
/// the target host (`host_override` `{ hostName, port }` first, then the
/// record's `pamHostname`) and the clipboard policy (the record's, made
/// stricter by the caller's `disable_copy` / `disable_paste`).
pub fn launch_offer_params(
    record: &Value,
    host_override: &Value,
    size: crate::core::tunnel::offer::ScreenSize,
    disable_copy: bool,
    disable_paste: bool,
) -> Result<crate::core::tunnel::offer::OfferParams> {
    use crate::core::record::{self, TargetHost};
    let host = match host_override {
        Value::Null => record::target_host(record),
        Value::Object(o) => {
            let host_name = o
                .get("hostName")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .ok_or_else(|| Error::invalid_input("host must be { hostName, port? }"))?;
            let bad_port = || Error::invalid_input("host.port must be a port number 1-65535");
            let port = match o.get("port") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::Number(n)) => Some(
                    n.as_u64()
                        .and_then(|p| u16::try_from(p).ok())
                        .filter(|p| *p > 0)
                        .ok_or_else(bad_port)?,
                ),
                Some(Value::String(s)) => Some(
                    s.trim()
                        .parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(bad_port)?,
                ),
                Some(_) => return Err(bad_port()),
            };
            Some(TargetHost {
                host_name: host_name.to_owned(),
                port,
            })
        }
        _ => return Err(Error::invalid_input("host must be { hostName, port? }")),
    };
    let host = host.ok_or_else(|| {
        Error::invalid_input(
            "the record has no pamHostname with a hostName: pass the PAM resource record, or host: { hostName, port }",
        )
    })?;
    let mut clipboard = record::clipboard_policy(record)?;
    clipboard.disable_copy |= disable_copy;
    clipboard.disable_paste |= disable_paste;
    Ok(crate::core::tunnel::offer::OfferParams {
        size,
        host,
        clipboard,
        enable_pipe: false,
    })
}

/// The events of one router websocket message for this conversation. Items
/// of other conversations, and anything that is not such an item (a router
/// websocket carries other traffic too), are skipped, so that an error can
/// only come from this conversation's own messages.
pub fn launch_ws_events(
    conversation: &crate::core::tunnel::Conversation,
    message: &Value,
) -> Result<Vec<crate::core::tunnel::RouterEvent>> {
    use crate::core::wire::WS_CONVERSATION_ID;
    let parsed;
    let message = match message {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(v) => {
                parsed = v;
                &parsed
            }
            Err(_) => return Ok(Vec::new()),
        },
        other => other,
    };
    let ours = |item: &&Value| {
        item.get(WS_CONVERSATION_ID)
            .and_then(Value::as_str)
            .is_some_and(|c| conversation.id().matches(c))
    };
    let items: Vec<Value> = match message {
        Value::Array(list) => list.iter().filter(ours).cloned().collect(),
        Value::Object(_) => std::iter::once(message).filter(ours).cloned().collect(),
        _ => Vec::new(),
    };
    if items.is_empty() {
        return Ok(Vec::new());
    }
    conversation.read_ws_message(&Value::Array(items))
}
