//! Reading what comes back through Keeper's router.
//!
//! Two carriers, one content:
//! - the reply to `signaling.send` (the ControllerResponse: `{ is_ok` or
//!   `isOk, data?, error?, errors?, progress_status? }`, as an object or as its
//!   JSON text): non-trickle answers arrive here;
//! - router websocket messages: an object or an array of
//!   `{ conversationId, type?, payload }`, `payload` being a ControllerResponse
//!   (usually as JSON text). The conversation id may be URL-safe or standard
//!   base64; messages for other conversations are skipped.
//!
//! `data` is either a plain-text acknowledgement (it contains "ice candidate",
//! "buffered", "connected", "disconnected" or "error", or ends with the
//! conversation id), which gives no event (as does any other plain text), or
//! tunnel-encrypted JSON:
//! `{"answer": base64 SDP}` (the answer), `{"sdp": raw}` (an ICE-restart
//! answer, or the non-trickle answer), `{"type": "offer", "sdp": raw}` (the
//! gateway's ICE-restart offer), `{"candidates": [...]}`; or raw SDP text.
//! `is_ok: false` (or a non-empty `errors`) is a refusal: `GATEWAY_REFUSED`
//! with the gateway's reason.

use serde_json::{Map, Value};

use super::crypto::{ConversationId, TunnelKey, GCM_NONCE_LEN, GCM_TAG_LEN};
use pam_error::{Error, ErrorCode, Result};
use pam_plan::dag::decode_base64;
use pam_plan::wire;

/// The longest gateway reason quoted in an error message, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Something the router delivered for this conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouterEvent {
    /// The gateway's SDP answer, as raw SDP text (`setRemoteDescription({ type: "answer", sdp })`).
    /// The first one answers the offer; a later one answers an ICE-restart offer.
    Answer { sdp: String },
    /// The gateway's ICE-restart offer, raw SDP: answer it and send `ice_restart_answer`.
    RestartOffer { sdp: String },
    /// The gateway's ICE candidates (`candidate:...` lines; `""` ends them).
    Candidates(Vec<String>),
    /// The gateway's `progress_status` text (for a status line).
    Progress(String),
}

/// A ControllerResponse, read leniently.
#[derive(Debug, Clone, PartialEq)]
pub struct ControllerResponse {
    /// `is_ok` or `isOk`; `None` when neither is a boolean.
    pub ok: Option<bool>,
    pub data: Option<Value>,
    /// `error`, else the non-empty `errors` joined with "; ".
    pub error: Option<String>,
    pub progress_status: Option<String>,
}

/// Parses a ControllerResponse given as an object or as JSON text.
pub fn parse_controller_response(v: &Value) -> Result<ControllerResponse> {
    let parsed;
    let obj =
        match v {
            Value::Object(o) => o,
            Value::String(text) => {
                parsed = serde_json::from_str::<Value>(text).map_err(|e| {
                    invalid(format!(
                        "the gateway's response is not JSON ({:?} at line {} column {})",
                        e.classify(),
                        e.line(),
                        e.column()
                    ))
                })?;
                parsed.as_object().ok_or_else(|| {
                    invalid("the gateway's response must be a JSON object { is_ok, data, error }")
                })?
            }
            _ => return Err(invalid(
                "the gateway's response must be an object { is_ok, data, error } or its JSON text",
            )),
        };
    let flag = |k: &str| match obj.get(k) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    };
    let error = obj.get(wire::RESPONSE_ERROR).and_then(text_of).or_else(|| {
        match obj.get(wire::RESPONSE_ERRORS) {
            Some(Value::Array(list)) => {
                let parts: Vec<String> = list.iter().filter_map(text_of).collect();
                (!parts.is_empty()).then(|| parts.join("; "))
            }
            Some(other) => text_of(other),
            None => None,
        }
    });
    Ok(ControllerResponse {
        ok: flag(wire::RESPONSE_IS_OK).or_else(|| flag(wire::RESPONSE_IS_OK_CAMEL)),
        data: obj
            .get(wire::RESPONSE_DATA)
            .filter(|d| !d.is_null())
            .cloned(),
        error,
        progress_status: obj.get(wire::RESPONSE_PROGRESS_STATUS).and_then(text_of),
    })
}

/// A non-empty trimmed string, or a number/bool as text.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Reads the reply to `signaling.send`. Without `is_ok: true` it is a refusal.
pub fn read_response(
    id: &ConversationId,
    key: &TunnelKey,
    response: &Value,
) -> Result<Vec<RouterEvent>> {
    let r = parse_controller_response(response)?;
    if r.ok != Some(true) {
        return Err(refusal(&r));
    }
    events_of(id, key, &r)
}

/// Reads one router websocket message.
pub fn read_ws_message(
    id: &ConversationId,
    key: &TunnelKey,
    message: &Value,
) -> Result<Vec<RouterEvent>> {
    let parsed;
    let message = match message {
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).map_err(|e| {
                invalid(format!(
                    "a router websocket message is not JSON ({:?} at line {} column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                ))
            })?;
            &parsed
        }
        other => other,
    };
    let items: Vec<&Value> = match message {
        Value::Array(list) => list.iter().collect(),
        Value::Object(_) => vec![message],
        _ => {
            return Err(invalid(
                "a router websocket message must be an object { conversationId, payload } or an array of them",
            ))
        }
    };
    let mut out = Vec::new();
    for item in items {
        out.extend(read_ws_item(id, key, item)?);
    }
    Ok(out)
}

fn read_ws_item(id: &ConversationId, key: &TunnelKey, item: &Value) -> Result<Vec<RouterEvent>> {
    let Some(obj) = item.as_object() else {
        return Err(invalid(
            "a router websocket message item must be an object { conversationId, payload }",
        ));
    };
    let ours = obj
        .get(wire::WS_CONVERSATION_ID)
        .and_then(Value::as_str)
        .is_some_and(|c| id.matches(c));
    if !ours {
        return Ok(Vec::new());
    }
    let Some(payload) = obj.get(wire::WS_PAYLOAD).filter(|p| !p.is_null()) else {
        return Ok(Vec::new());
    };
    if payload.as_str().is_some_and(|s| s.trim().is_empty()) {
        return Ok(Vec::new());
    }
    let r = parse_controller_response(payload)?;
    if r.ok == Some(false) || (r.ok.is_none() && r.error.is_some()) {
        return Err(refusal(&r));
    }
    if r.ok != Some(true) {
        return Ok(Vec::new());
    }
    events_of(id, key, &r)
}

fn events_of(
    id: &ConversationId,
    key: &TunnelKey,
    r: &ControllerResponse,
) -> Result<Vec<RouterEvent>> {
    let mut out = Vec::new();
    if let Some(p) = &r.progress_status {
        out.push(RouterEvent::Progress(clip(p)));
    }
    if let Some(Value::String(data)) = &r.data {
        out.extend(read_data(id, key, data)?);
    }
    Ok(out)
}

/// `data`: an acknowledgement (no event) or tunnel-encrypted content.
pub fn read_data(id: &ConversationId, key: &TunnelKey, data: &str) -> Result<Option<RouterEvent>> {
    let text = data.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let ack = is_acknowledgement(id, text);
    let base64_like = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'='));
    let could_be_ciphertext =
        base64_like && decode_base64(text).is_some_and(|b| b.len() >= GCM_NONCE_LEN + GCM_TAG_LEN);
    if !could_be_ciphertext {
        // Plain text: an acknowledgement, or one we do not know; Commander
        // ignores both.
        return Ok(None);
    }
    // Encrypted content may by chance contain "error" or end like the id:
    // decrypt first, and only call it an acknowledgement when that fails.
    match key.decrypt(text) {
        Ok(plain) => decode_plaintext(&plain),
        Err(_) if ack => Ok(None),
        Err(e) => Err(e),
    }
}

/// Commander's test for a plain-text acknowledgement.
pub fn is_acknowledgement(id: &ConversationId, text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    [
        "ice candidate",
        "buffered",
        "connected",
        "disconnected",
        "error",
    ]
    .iter()
    .any(|w| lower.contains(w))
        || [
            id.id(),
            id.channel_label(),
            id.channel_label().trim_end_matches('=').to_owned(),
        ]
        .iter()
        .any(|form| text.ends_with(form.as_str()))
}

/// The decrypted content of `data`.
pub fn decode_plaintext(plain: &[u8]) -> Result<Option<RouterEvent>> {
    let full = std::str::from_utf8(plain)
        .map_err(|_| invalid("the gateway's decrypted payload is not UTF-8 text"))?;
    let text = full.trim();
    let json = serde_json::from_str::<Value>(text).ok().or_else(|| {
        // Commander replaces ' with " before parsing (a Python-repr dict).
        text.contains('\'')
            .then(|| serde_json::from_str::<Value>(&text.replace('\'', "\"")).ok())
            .flatten()
    });
    match json {
        Some(Value::Object(o)) => decode_object(&o).map(Some),
        Some(Value::String(s)) => Ok(sdp_text(&s).map(|sdp| RouterEvent::Answer { sdp })),
        Some(_) => Err(invalid(
            "the gateway's decrypted payload is JSON but not an object with answer, sdp, offer or candidates",
        )),
        None if text.starts_with("v=") => Ok(Some(RouterEvent::Answer {
            sdp: full.trim_start().to_owned(),
        })),
        None => Err(invalid(
            "the gateway's decrypted payload is neither JSON nor SDP",
        )),
    }
}

fn decode_object(o: &Map<String, Value>) -> Result<RouterEvent> {
    let field = |k: &str| o.get(k).and_then(Value::as_str);
    let no_sdp = || invalid("the gateway's SDP is neither SDP text nor base64 of it");
    let is_offer = field(wire::SIGNAL_TYPE).is_some_and(|t| t.eq_ignore_ascii_case("offer"))
        || (o.contains_key(wire::SIGNAL_OFFER) && !o.contains_key(wire::SIGNAL_ANSWER));
    if is_offer {
        let raw = field(wire::SIGNAL_SDP)
            .or_else(|| field(wire::SIGNAL_OFFER))
            .ok_or_else(no_sdp)?;
        return sdp_text(raw)
            .map(|sdp| RouterEvent::RestartOffer { sdp })
            .ok_or_else(no_sdp);
    }
    if let Some(raw) = field(wire::SIGNAL_ANSWER).or_else(|| field(wire::SIGNAL_SDP)) {
        return sdp_text(raw)
            .map(|sdp| RouterEvent::Answer { sdp })
            .ok_or_else(no_sdp);
    }
    if let Some(list) = o.get(wire::SIGNAL_CANDIDATES) {
        let Some(list) = list.as_array() else {
            return Err(invalid("the gateway's candidates must be a list"));
        };
        let candidates = list
            .iter()
            .filter_map(|c| match c {
                Value::String(s) => Some(s.clone()),
                // RTCIceCandidate.toJSON() form.
                Value::Object(m) => m
                    .get("candidate")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                _ => None,
            })
            .collect();
        return Ok(RouterEvent::Candidates(candidates));
    }
    Err(invalid(
        "the gateway's decrypted payload has none of answer, sdp, offer or candidates",
    ))
}

/// SDP text given raw (`v=...`) or as base64 of it.
pub fn sdp_text(v: &str) -> Option<String> {
    let t = v.trim();
    if t.starts_with("v=") {
        return Some(v.to_owned());
    }
    let bytes = decode_base64(t)?;
    String::from_utf8(bytes)
        .ok()
        .filter(|s| s.trim_start().starts_with("v="))
}

fn refusal(r: &ControllerResponse) -> Error {
    let reason = r
        .error
        .clone()
        .or_else(|| r.data.as_ref().and_then(text_of))
        .map(|s| clip(&s))
        .unwrap_or_else(|| "no reason given".to_owned());
    Error::new(
        ErrorCode::GatewayRefused,
        format!("the gateway refused the launch: {reason}"),
    )
}

/// The text with control characters replaced and at most [`MAX_REASON_CHARS`] characters.
fn clip(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REASON_CHARS)
        .collect();
    if s.chars().count() > MAX_REASON_CHARS {
        out.push('…');
    }
    out
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidSignalingMessage, message)
}
