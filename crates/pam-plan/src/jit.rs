//! JIT settings: normalising the two stored shapes, deriving the mode, and
//! projecting the gateway payloads.
//!
//! Settings are authored in two places:
//! 1. the web vault writes a DAG DATA edge `jit_settings` with camelCase keys
//!    (`createEphemeral`, `elevate`, `elevationMethod`, ...): authoritative;
//! 2. `pam env apply` writes `pamSettings.options.jit_settings` on the record,
//!    with snake_case keys.
//!
//! [`normalize`] folds both into snake_case; everything else in the crate
//! reasons about that one shape. Every function here also accepts the camelCase
//! shape directly (normalising is idempotent on snake_case input).

use serde_json::{Map, Value};

use super::error::{Error, Result};
use super::wire;

/// The JIT mode of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JitMode {
    /// The gateway creates a short-lived account for the session.
    Ephemeral,
    /// The gateway elevates the linked account for the session.
    Elevation,
    /// An ephemeral account, elevated.
    Both,
}

impl JitMode {
    pub const ALL: [JitMode; 3] = [JitMode::Ephemeral, JitMode::Elevation, JitMode::Both];

    pub const fn as_str(self) -> &'static str {
        match self {
            JitMode::Ephemeral => "ephemeral",
            JitMode::Elevation => "elevation",
            JitMode::Both => "both",
        }
    }

    /// Parses the exact mode strings `"ephemeral"`, `"elevation"`, `"both"`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// True for the modes in which the gateway provisions the account.
    pub const fn creates_account(self) -> bool {
        matches!(self, JitMode::Ephemeral | JitMode::Both)
    }
}

/// Normalises raw settings to snake_case.
///
/// Non-objects and empty objects give `None`. camelCase keys map to their
/// snake_case names; when both casings of one field are present the snake_case
/// value wins. Unknown keys are kept as they are, in their original order.
pub fn normalize(raw: &Value) -> Option<Map<String, Value>> {
    let obj = raw.as_object()?;
    let mut out = Map::with_capacity(obj.len());
    // Pass 1: the camelCase keys, renamed.
    for (k, v) in obj {
        if let Some(snake) = camel_to_snake(k) {
            out.insert(snake.to_owned(), v.clone());
        }
    }
    // Pass 2: everything else; a snake_case key overwrites its camelCase twin.
    for (k, v) in obj {
        if camel_to_snake(k).is_none() {
            out.insert(k.clone(), v.clone());
        }
    }
    (!out.is_empty()).then_some(out)
}

fn camel_to_snake(key: &str) -> Option<&'static str> {
    wire::JIT_CAMEL_TO_SNAKE
        .iter()
        .find(|(camel, _)| *camel == key)
        .map(|(_, snake)| *snake)
}

/// Reads one of the two mode flags.
///
/// Accepted: `true`/`false`, the strings `"true"`/`"false"` in any case,
/// `1`/`0`; `null`, `""` and an absent key are false. Anything else is an
/// `INVALID_INPUT` error: a string such as `"false"` must never turn JIT on.
pub fn parse_flag(settings: &Map<String, Value>, key: &str) -> Result<bool> {
    let Some(v) = settings.get(key) else {
        return Ok(false);
    };
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() || t.eq_ignore_ascii_case("false") {
                Ok(false)
            } else if t.eq_ignore_ascii_case("true") {
                Ok(true)
            } else {
                Err(bad_flag(key, "the string", s))
            }
        }
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Ok(true),
            Some(0.0) => Ok(false),
            _ => Err(bad_flag(key, "the number", &n.to_string())),
        },
        Value::Array(_) => Err(bad_flag(key, "an array", "")),
        Value::Object(_) => Err(bad_flag(key, "an object", "")),
    }
}

fn bad_flag(key: &str, kind: &str, shown: &str) -> Error {
    let mut shown: String = shown.chars().take(40).collect();
    if !shown.is_empty() {
        shown = format!(" {shown:?}");
    }
    Error::invalid_input(format!(
        "jit_settings.{key} is {kind}{shown}; use true or false (or \"true\"/\"false\", 1/0)"
    ))
}

/// Derives the mode from settings (either casing). Non-objects give `None`.
pub fn derive_mode(settings: &Value) -> Result<Option<JitMode>> {
    match normalize(settings) {
        Some(s) => derive_mode_normalized(&s),
        None => Ok(None),
    }
}

/// Derives the mode from already normalised settings.
pub fn derive_mode_normalized(settings: &Map<String, Value>) -> Result<Option<JitMode>> {
    let create = parse_flag(settings, wire::CREATE_EPHEMERAL)?;
    let elevate = parse_flag(settings, wire::ELEVATE)?;
    Ok(match (create, elevate) {
        (true, true) => Some(JitMode::Both),
        (true, false) => Some(JitMode::Ephemeral),
        (false, true) => Some(JitMode::Elevation),
        (false, false) => None,
    })
}

/// The gateway's `jitSettings` object: only the ephemeral keys, empty values dropped.
pub fn ephemeral_payload(settings: &Value) -> Map<String, Value> {
    project(settings, &wire::JIT_EPHEMERAL_KEYS)
}

/// The gateway's `jitElevation` object: only the elevation keys, empty values dropped.
pub fn elevation_payload(settings: &Value) -> Map<String, Value> {
    project(settings, &wire::JIT_ELEVATION_KEYS)
}

/// Projects `keys` (in that order) out of the settings. `null` and `""` are
/// dropped; `false` and `0` are kept; values are passed through unchanged.
pub fn project_normalized(settings: &Map<String, Value>, keys: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    for key in keys {
        match settings.get(*key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(v) => {
                out.insert((*key).to_owned(), v.clone());
            }
        }
    }
    out
}

fn project(settings: &Value, keys: &[&str]) -> Map<String, Value> {
    normalize(settings)
        .map(|s| project_normalized(&s, keys))
        .unwrap_or_default()
}

/// True when an active JIT launch gets its credential from the gateway:
/// JIT requested and the mode creates an account (ephemeral or both).
pub fn provisions_credential(jit_requested: bool, mode: Option<JitMode>) -> bool {
    jit_requested && mode.is_some_and(JitMode::creates_account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(v: Value) -> Option<Value> {
        normalize(&v).map(Value::Object)
    }

    #[test]
    fn normalize_rejects_non_objects_and_empty() {
        for v in [
            json!(null),
            json!("x"),
            json!([]),
            json!([1]),
            json!(3),
            json!({}),
        ] {
            assert_eq!(norm(v.clone()), None, "{v}");
        }
    }

    #[test]
    fn normalize_maps_every_web_vault_key() {
        let out = norm(json!({
            "createEphemeral": true, "elevate": true, "elevationMethod": "group",
            "elevationString": "wheel,sudo", "baseDistinguishedName": "OU=JIT,DC=acme,DC=corp",
            "ephemeralAccountType": "linux"
        }));
        assert_eq!(
            out,
            Some(json!({
                "create_ephemeral": true, "elevate": true, "elevation_method": "group",
                "elevation_string": "wheel,sudo", "base_distinguished_name": "OU=JIT,DC=acme,DC=corp",
                "ephemeral_account_type": "linux"
            }))
        );
    }

    #[test]
    fn snake_wins_on_collision_in_either_order() {
        let a = norm(json!({"createEphemeral": false, "create_ephemeral": true}));
        let b = norm(json!({"create_ephemeral": true, "createEphemeral": false}));
        assert_eq!(a, Some(json!({"create_ephemeral": true})));
        assert_eq!(b, Some(json!({"create_ephemeral": true})));
    }

    #[test]
    fn unknown_keys_kept() {
        assert_eq!(
            norm(json!({"createEphemeral": true, "futureField": "x"})),
            Some(json!({"create_ephemeral": true, "futureField": "x"}))
        );
    }

    #[test]
    fn flags_accept_documented_forms_only() {
        let cases = [
            (json!(true), Some(true)),
            (json!(false), Some(false)),
            (json!("TRUE"), Some(true)),
            (json!("False"), Some(false)),
            (json!(1), Some(true)),
            (json!(0), Some(false)),
            (json!(null), Some(false)),
            (json!(""), Some(false)),
            (json!("yes"), None),
            (json!(2), None),
            (json!(-1), None),
            (json!([]), None),
            (json!({}), None),
        ];
        for (v, want) in cases {
            let m = json!({ "create_ephemeral": v.clone() });
            let got = derive_mode(&m).map(|x| x.is_some()).ok();
            assert_eq!(got, want, "{v}");
        }
    }

    #[test]
    fn string_false_is_false_not_truthy() {
        assert_eq!(
            derive_mode(&json!({"create_ephemeral": "false", "elevate": "true"})),
            Ok(Some(JitMode::Elevation))
        );
    }

    #[test]
    fn modes() {
        assert_eq!(derive_mode(&json!({})), Ok(None));
        assert_eq!(derive_mode(&json!("nope")), Ok(None));
        assert_eq!(derive_mode(&json!({"elevation_method": "group"})), Ok(None));
        assert_eq!(
            derive_mode(&json!({"create_ephemeral": true})),
            Ok(Some(JitMode::Ephemeral))
        );
        assert_eq!(
            derive_mode(&json!({"elevate": true})),
            Ok(Some(JitMode::Elevation))
        );
        assert_eq!(
            derive_mode(&json!({"create_ephemeral": true, "elevate": 1})),
            Ok(Some(JitMode::Both))
        );
        assert_eq!(
            derive_mode(&json!({"createEphemeral": true})),
            Ok(Some(JitMode::Ephemeral))
        );
    }

    #[test]
    fn bad_flag_error_names_the_key() {
        let err = derive_mode(&json!({"elevate": "maybe"})).err();
        let err = err.map(|e| (e.code(), e.message().contains("elevate")));
        assert_eq!(err, Some((crate::error::ErrorCode::InvalidInput, true)));
    }

    #[test]
    fn payloads_project_and_drop_empty() {
        let all = json!({
            "create_ephemeral": true, "ephemeral_account_type": "linux",
            "base_distinguished_name": "", "pam_directory_uid_ref": null,
            "elevate": false, "elevation_method": "group", "elevation_string": "", "x": 1
        });
        assert_eq!(
            Value::Object(ephemeral_payload(&all)),
            json!({"create_ephemeral": true, "ephemeral_account_type": "linux"})
        );
        assert_eq!(
            Value::Object(elevation_payload(&all)),
            json!({"elevate": false, "elevation_method": "group"})
        );
        assert!(ephemeral_payload(&json!(42)).is_empty());
        assert!(elevation_payload(&json!(null)).is_empty());
        assert_eq!(
            Value::Object(ephemeral_payload(&json!({"create_ephemeral": 0}))),
            json!({"create_ephemeral": 0})
        );
    }

    #[test]
    fn provisions_only_for_requested_account_creating_modes() {
        assert!(provisions_credential(true, Some(JitMode::Ephemeral)));
        assert!(provisions_credential(true, Some(JitMode::Both)));
        assert!(!provisions_credential(true, Some(JitMode::Elevation)));
        assert!(!provisions_credential(true, None));
        for m in [
            None,
            Some(JitMode::Ephemeral),
            Some(JitMode::Both),
            Some(JitMode::Elevation),
        ] {
            assert!(!provisions_credential(false, m));
        }
    }
}
