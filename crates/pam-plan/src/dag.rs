//! Decoding the DAG `jit_settings` DATA edge as the vault hands it over.
//!
//! Accepted forms (see `ARCHITECTURE.md`):
//! - already decoded: a JSON object, or JSON text, or UTF-8 bytes of JSON;
//! - encrypted with the record key: bytes `nonce(12) || ciphertext || tag(16)`
//!   (AES-256-GCM, no associated data), or that as base64url text (padding
//!   optional; the standard alphabet is accepted too);
//! - a list of edges as a DAG sync returns them,
//!   `[{ path, version, type: "DATA" | "DELETION" | "LINK" | ..., content }]`:
//!   of the edges with path `jit_settings` the highest version wins and a
//!   DELETION there means "no settings"; a LINK edge with path `domain` is the
//!   resource's pamDirectory binding.
//!
//! All content is hostile: nothing here panics, sizes are checked before use,
//! and no error message quotes the key or any plaintext.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use serde_json::{Map, Value};

use super::error::{Error, ErrorCode, Result};
use super::wire;

/// Length of the AES-GCM nonce that prefixes encrypted content.
pub const NONCE_LEN: usize = 12;
/// Length of the AES-GCM tag that ends encrypted content.
pub const TAG_LEN: usize = 16;
/// Length of a record key (AES-256).
pub const RECORD_KEY_LEN: usize = 32;
/// The DAG path of the pamDirectory LINK edge.
pub const DOMAIN_LINK_PATH: &str = "domain";

/// Edge content: either a JSON value or raw bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Json(Value),
    Bytes(Vec<u8>),
}

/// The type of a DAG edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeType {
    Data,
    Deletion,
    Link,
    Other(String),
}

impl EdgeType {
    pub fn parse(s: &str) -> Self {
        match s.trim().to_ascii_uppercase().as_str() {
            "DATA" => EdgeType::Data,
            "DELETION" => EdgeType::Deletion,
            "LINK" => EdgeType::Link,
            other => EdgeType::Other(other.to_owned()),
        }
    }
}

/// One DAG edge.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub path: Option<String>,
    pub version: f64,
    pub edge_type: EdgeType,
    pub content: Option<Content>,
}

/// What the caller handed over as "the DAG".
#[derive(Debug, Clone, PartialEq)]
pub enum DagInput {
    /// The content of the `jit_settings` DATA edge itself.
    Content(Content),
    /// Edges as a DAG sync returns them.
    Edges(Vec<Edge>),
}

impl DagInput {
    /// Classifies a JSON value: an array is an edge list, an object with
    /// `content` and `type` or `path` is a single edge, anything else is content.
    pub fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| edge_from_value(item, i))
                .collect::<Result<Vec<_>>>()
                .map(DagInput::Edges),
            Value::Object(ref o) if looks_like_edge(o) => {
                edge_from_value(v, 0).map(|e| DagInput::Edges(vec![e]))
            }
            other => Ok(DagInput::Content(Content::Json(other))),
        }
    }
}

/// True for an object that is an edge record rather than settings.
pub fn looks_like_edge(o: &Map<String, Value>) -> bool {
    o.contains_key("content") && (o.contains_key("type") || o.contains_key("path"))
}

/// One edge record `{ path, version, type, content }`; `index` is for the error message.
pub fn edge_from_value(v: Value, index: usize) -> Result<Edge> {
    let Value::Object(mut o) = v else {
        return Err(Error::invalid_input(format!(
            "DAG edge {index} is not an object; expected {{ path, version, type, content }}"
        )));
    };
    let path = match o.get("path") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let version = version_of(o.get("version")).ok_or_else(|| {
        Error::invalid_input(format!(
            "DAG edge {index} has a version that is not a number"
        ))
    })?;
    let edge_type = match o.get("type") {
        Some(Value::String(s)) => EdgeType::parse(s),
        None | Some(Value::Null) => EdgeType::Data,
        Some(_) => EdgeType::Other(String::new()),
    };
    let content = match o.remove("content") {
        None | Some(Value::Null) => None,
        Some(c) => Some(Content::Json(c)),
    };
    Ok(Edge {
        path,
        version,
        edge_type,
        content,
    })
}

/// Versions are numbers, or numeric strings; absent means 0.
pub fn version_of(v: Option<&Value>) -> Option<f64> {
    match v {
        None | Some(Value::Null) => Some(0.0),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => pam_error::num::parse_f64(s.trim()).filter(|x| x.is_finite()),
        Some(_) => None,
    }
}

/// The result of decoding the DAG.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DagJit {
    /// The decoded content of the winning `jit_settings` edge (as stored, camelCase).
    pub settings: Option<Value>,
    /// A LINK edge with path `domain` is present (the pamDirectory binding).
    pub has_domain_link: bool,
}

/// Decodes the DAG input. `record_key` is needed only for encrypted content.
pub fn decode(input: &DagInput, record_key: Option<&[u8]>) -> Result<DagJit> {
    match input {
        DagInput::Content(c) => match decode_content(c, record_key)? {
            // JSON text or bytes of an edge list or of one edge record (a
            // sync response handed over as it came): decode those edges.
            Some(v) if holds_edges(&v) => decode(&DagInput::from_value(v)?, record_key),
            settings => Ok(DagJit {
                settings,
                has_domain_link: false,
            }),
        },
        DagInput::Edges(edges) => {
            let jit = latest(edges, wire::DAG_JIT_PATH, |t| {
                matches!(t, EdgeType::Data | EdgeType::Deletion)
            });
            let settings = match jit {
                Some(Edge {
                    edge_type: EdgeType::Data,
                    content: Some(c),
                    ..
                }) => decode_content(c, record_key)?,
                _ => None,
            };
            let domain = latest(edges, DOMAIN_LINK_PATH, |t| {
                matches!(t, EdgeType::Link | EdgeType::Deletion)
            });
            Ok(DagJit {
                settings,
                has_domain_link: matches!(domain, Some(e) if e.edge_type == EdgeType::Link),
            })
        }
    }
}

/// An array of objects (an edge list) or an edge record, once decoded from
/// text or bytes. Settings are a plain object and never look like this.
fn holds_edges(v: &Value) -> bool {
    match v {
        Value::Array(items) => !items.is_empty() && items.iter().all(Value::is_object),
        Value::Object(o) => looks_like_edge(o),
        _ => false,
    }
}

/// Of the edges with `path` whose type passes `keep`, the one with the highest
/// version; on a tie the later one in the list.
fn latest<'a>(edges: &'a [Edge], path: &str, keep: impl Fn(&EdgeType) -> bool) -> Option<&'a Edge> {
    edges
        .iter()
        .filter(|e| e.path.as_deref() == Some(path) && keep(&e.edge_type))
        .fold(None, |best: Option<&Edge>, e| match best {
            Some(b) if b.version > e.version => Some(b),
            _ => Some(e),
        })
}

/// Decodes one edge's content to a JSON value (`None` for empty content).
pub fn decode_content(content: &Content, record_key: Option<&[u8]>) -> Result<Option<Value>> {
    let value = match content {
        Content::Json(Value::Null) => return Ok(None),
        Content::Json(Value::String(s)) => decode_text(s, record_key)?,
        Content::Json(Value::Array(items)) if is_byte_array(items) => {
            let bytes: Vec<u8> = items
                .iter()
                .filter_map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            decode_bytes(&bytes, record_key)?
        }
        Content::Json(v) => Some(v.clone()),
        Content::Bytes(b) => decode_bytes(b, record_key)?,
    };
    // Content stored as a JSON string that itself holds a JSON object: unwrap once.
    Ok(match value {
        Some(Value::String(s)) if looks_like_json(s.as_bytes()) => serde_json::from_str(&s).ok(),
        other => other,
    })
}

fn is_byte_array(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|v| v.as_u64().is_some_and(|n| n <= 255))
}

fn decode_text(s: &str, record_key: Option<&[u8]>) -> Result<Option<Value>> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if looks_like_json(t.as_bytes()) {
        return parse_json(t.as_bytes(), "edge content").map(Some);
    }
    let bytes = decode_base64(t).ok_or_else(|| {
        Error::new(
            ErrorCode::DagDecryptFailed,
            "edge content is neither JSON nor base64url ciphertext",
        )
    })?;
    decode_bytes(&bytes, record_key)
}

fn decode_bytes(bytes: &[u8], record_key: Option<&[u8]>) -> Result<Option<Value>> {
    let trimmed = trim_ascii(strip_bom(bytes));
    if trimmed.is_empty() {
        return Ok(None);
    }
    if looks_like_json(trimmed) {
        match parse_json(trimmed, "edge content") {
            Ok(v) => return Ok(Some(v)),
            // Ciphertext whose nonce happens to start with `{`: only with a key.
            Err(e) if record_key.is_none() => return Err(e),
            Err(_) => {}
        }
    } else if trimmed.iter().all(|b| is_base64_byte(*b)) {
        // Base64url ciphertext handed over as bytes of its text.
        if let Ok(text) = std::str::from_utf8(trimmed) {
            if let Some(raw) = decode_base64(text) {
                return decode_bytes(&raw, record_key);
            }
        }
    }
    let Some(key) = record_key else {
        return Err(Error::new(
            ErrorCode::DagDecryptFailed,
            "edge content is encrypted; pass the record key (32 bytes) to decrypt it",
        ));
    };
    let plain = decrypt(bytes, key)?;
    parse_json(&plain, "decrypted edge content").map(Some)
}

/// AES-256-GCM decryption of `nonce(12) || ciphertext || tag(16)`.
pub fn decrypt(data: &[u8], key: &[u8]) -> Result<Vec<u8>> {
    let cipher = cipher_for(key)?;
    if data.len() < NONCE_LEN + TAG_LEN {
        return Err(Error::new(
            ErrorCode::DagDecryptFailed,
            format!(
                "encrypted edge content is {} bytes, shorter than nonce and tag ({} bytes): truncated",
                data.len(),
                NONCE_LEN + TAG_LEN
            ),
        ));
    }
    let (nonce, ct) = data.split_at(NONCE_LEN);
    cipher.decrypt(Nonce::from_slice(nonce), ct).map_err(|_| {
        Error::new(
            ErrorCode::DagDecryptFailed,
            "edge content failed authentication: wrong record key, or the content is corrupted or truncated",
        )
    })
}

/// AES-256-GCM encryption to `nonce(12) || ciphertext || tag(16)`, with the
/// nonce given by the caller (the core has no randomness of its own).
pub fn encrypt(plain: &[u8], key: &[u8], nonce: &[u8; NONCE_LEN]) -> Result<Vec<u8>> {
    let cipher = cipher_for(key)?;
    let ct = cipher
        .encrypt(Nonce::from_slice(nonce), plain)
        .map_err(|_| Error::invalid_input("content too large to encrypt"))?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

fn cipher_for(key: &[u8]) -> Result<Aes256Gcm> {
    if key.len() != RECORD_KEY_LEN {
        return Err(Error::invalid_input(format!(
            "record key must be {RECORD_KEY_LEN} bytes, got {}",
            key.len()
        )));
    }
    Aes256Gcm::new_from_slice(key)
        .map_err(|_| Error::invalid_input("record key is not a valid AES-256 key"))
}

/// Parses a record key given as text: base64url or standard base64, padding optional.
pub fn record_key_from_text(s: &str) -> Result<Vec<u8>> {
    let key = decode_base64(s.trim())
        .ok_or_else(|| Error::invalid_input("record key is not base64 or base64url text"))?;
    if key.len() != RECORD_KEY_LEN {
        return Err(Error::invalid_input(format!(
            "record key must be {RECORD_KEY_LEN} bytes, got {}",
            key.len()
        )));
    }
    Ok(key)
}

/// Decodes base64url or standard base64, with or without padding.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    use base64::engine::DecodePaddingMode;
    const CFG: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const URL: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CFG);
    const STD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CFG);
    if s.is_empty() {
        return None;
    }
    URL.decode(s).or_else(|_| STD.decode(s)).ok()
}

/// base64url text without padding.
pub fn encode_base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/' | b'=')
}

fn looks_like_json(b: &[u8]) -> bool {
    matches!(trim_ascii(strip_bom(b)).first(), Some(b'{' | b'[' | b'"'))
}

fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(b)
}

fn trim_ascii(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if first.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = b {
        if last.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    b
}

/// Parses JSON; the error names the position and kind, never the text.
pub fn parse_json(bytes: &[u8], what: &str) -> Result<Value> {
    let text = std::str::from_utf8(strip_bom(bytes)).map_err(|_| {
        Error::new(
            ErrorCode::DagInvalidJson,
            format!("{what} is not UTF-8 text"),
        )
    })?;
    serde_json::from_str(text).map_err(|e| {
        let kind = match e.classify() {
            serde_json::error::Category::Eof => "ends early",
            serde_json::error::Category::Syntax => "has a syntax error",
            serde_json::error::Category::Data => "has invalid data",
            serde_json::error::Category::Io => "could not be read",
        };
        Error::new(
            ErrorCode::DagInvalidJson,
            format!(
                "{what} is not valid JSON: it {kind} at line {} column {}",
                e.line(),
                e.column()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: [u8; 32] = [7u8; 32];
    const NONCE: [u8; 12] = [1u8; 12];

    fn enc(v: &Value) -> Vec<u8> {
        encrypt(v.to_string().as_bytes(), &KEY, &NONCE).unwrap_or_default()
    }

    fn settings(input: DagInput, key: Option<&[u8]>) -> Result<Option<Value>> {
        decode(&input, key).map(|d| d.settings)
    }

    #[test]
    fn plain_forms_decode() {
        let v = json!({"createEphemeral": true});
        let forms = [
            DagInput::Content(Content::Json(v.clone())),
            DagInput::Content(Content::Json(Value::String(v.to_string()))),
            DagInput::Content(Content::Bytes(v.to_string().into_bytes())),
            DagInput::Content(Content::Json(Value::String(format!("\u{feff} {v}\n")))),
        ];
        for f in forms {
            assert_eq!(settings(f, None), Ok(Some(v.clone())));
        }
    }

    #[test]
    fn encrypted_forms_decode_with_key() {
        let v = json!({"createEphemeral": true, "ephemeralAccountType": "linux"});
        let bytes = enc(&v);
        let url = encode_base64url(&bytes);
        let std_padded = base64::engine::general_purpose::STANDARD.encode(&bytes);
        for f in [
            DagInput::Content(Content::Bytes(bytes.clone())),
            DagInput::Content(Content::Json(Value::String(url.clone()))),
            DagInput::Content(Content::Json(Value::String(std_padded))),
            DagInput::Content(Content::Bytes(url.into_bytes())),
        ] {
            assert_eq!(settings(f, Some(&KEY)), Ok(Some(v.clone())));
        }
    }

    #[test]
    fn wrong_key_truncated_and_missing_key_are_typed() {
        let bytes = enc(&json!({"elevate": true}));
        let wrong = [8u8; 32];
        let e = settings(
            DagInput::Content(Content::Bytes(bytes.clone())),
            Some(&wrong),
        );
        assert_eq!(e.map_err(|e| e.code()), Err(ErrorCode::DagDecryptFailed));
        let short = DagInput::Content(Content::Bytes(bytes.get(..20).unwrap_or_default().to_vec()));
        assert_eq!(
            settings(short, Some(&KEY)).map_err(|e| e.code()),
            Err(ErrorCode::DagDecryptFailed)
        );
        let cut = DagInput::Content(Content::Bytes(
            bytes.get(..bytes.len() - 1).unwrap_or_default().to_vec(),
        ));
        assert_eq!(
            settings(cut, Some(&KEY)).map_err(|e| e.code()),
            Err(ErrorCode::DagDecryptFailed)
        );
        let nokey = DagInput::Content(Content::Bytes(bytes));
        assert_eq!(
            settings(nokey, None).map_err(|e| e.code()),
            Err(ErrorCode::DagDecryptFailed)
        );
        let short_key = DagInput::Content(Content::Bytes(vec![0; 40]));
        assert_eq!(
            settings(short_key, Some(&KEY[..16])).map_err(|e| e.code()),
            Err(ErrorCode::InvalidInput)
        );
    }

    #[test]
    fn bad_json_is_typed_and_does_not_echo() {
        let secret_plain = b"{\"elevationString\": \"hunter2";
        let ct = encrypt(secret_plain, &KEY, &NONCE).unwrap_or_default();
        let err = settings(DagInput::Content(Content::Bytes(ct)), Some(&KEY)).err();
        let err = err.map(|e| (e.code(), e.message().contains("hunter2")));
        assert_eq!(err, Some((ErrorCode::DagInvalidJson, false)));
        let plain = settings(DagInput::Content(Content::Json(json!("{oops"))), None);
        assert_eq!(plain.map_err(|e| e.code()), Err(ErrorCode::DagInvalidJson));
    }

    #[test]
    fn edge_list_highest_version_wins_and_deletion_clears() {
        let a = json!({"createEphemeral": true});
        let b = json!({"elevate": true});
        let list = json!([
            {"path": "jit_settings", "version": 2, "type": "DATA", "content": encode_base64url(&enc(&b))},
            {"path": "jit_settings", "version": 1, "type": "DATA", "content": a},
            {"path": "other", "version": 9, "type": "DATA", "content": {"createEphemeral": true}},
        ]);
        let input = DagInput::from_value(list).unwrap_or(DagInput::Edges(vec![]));
        assert_eq!(settings(input, Some(&KEY)), Ok(Some(b)));
        let del = json!([
            {"path": "jit_settings", "version": 1, "type": "DATA", "content": {"elevate": true}},
            {"path": "jit_settings", "version": 2, "type": "DELETION", "content": null},
        ]);
        let input = DagInput::from_value(del).unwrap_or(DagInput::Edges(vec![]));
        assert_eq!(settings(input, None), Ok(None));
    }

    #[test]
    fn domain_link_edge_is_seen() {
        let list = json!([{"path": "domain", "version": 0, "type": "LINK", "content": null, "head": "dir"}]);
        let input = DagInput::from_value(list).unwrap_or(DagInput::Edges(vec![]));
        assert_eq!(decode(&input, None).map(|d| d.has_domain_link), Ok(true));
    }

    #[test]
    fn double_encoded_json_unwraps_once() {
        let inner = json!({"elevate": true}).to_string();
        let outer = Value::String(serde_json::to_string(&inner).unwrap_or_default());
        assert_eq!(
            settings(DagInput::Content(Content::Json(outer)), None),
            Ok(Some(json!({"elevate": true})))
        );
    }
}
