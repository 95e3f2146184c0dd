//! Reading the parts of a typed PAM record that a launch needs.
//!
//! The record is the JSON the vault decrypts:
//! `{ type, title, fields: [{ type, value: [...] }], custom: [...] }`.
//! Only `pamSettings` (and, for pamDatabase, `pamHostname`) is read; the
//! record's secrets (passwords, keys) are never copied out.

use serde_json::{Map, Value};

use super::error::{Error, Result};
use super::jit;
use super::wire;

/// What a launch plan needs from the record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PamRecord {
    /// `pamSettings.connection.protocol` (lowercased), or inferred for pamDatabase.
    pub protocol: Option<String>,
    /// `pamSettings.connection.allowSupplyUser`.
    pub allow_supply_user: bool,
    /// `pamSettings.allowSupplyHost` (top level of the pamSettings value).
    pub allow_supply_host: bool,
    /// `pamSettings.connection.userRecords` (string UIDs, in order).
    pub user_records: Vec<String>,
    /// `pamSettings.options.jit_settings`, as stored (not normalised).
    pub jit_settings: Option<Value>,
}

impl PamRecord {
    pub fn parse(record: &Value) -> Result<Self> {
        let Some(rec) = record.as_object() else {
            return Err(Error::invalid_input(
                "record must be the typed record object { type, title, fields, custom }",
            ));
        };
        let mut out = PamRecord::default();
        let Some(settings) = typed_field_value(rec, "pamSettings") else {
            return Ok(out);
        };
        let connection = settings.get("connection").and_then(Value::as_object);
        if let Some(conn) = connection {
            out.protocol = conn
                .get("protocol")
                .and_then(Value::as_str)
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty());
            out.allow_supply_user = record_flag(conn, "allowSupplyUser")?;
            out.user_records = conn
                .get("userRecords")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
        }
        out.allow_supply_host = record_flag(settings, "allowSupplyHost")?;
        if out.protocol.is_none() && rec.get("type").and_then(Value::as_str) == Some("pamDatabase")
        {
            out.protocol = infer_database_protocol(rec, connection);
        }
        out.jit_settings = settings
            .get("options")
            .and_then(Value::as_object)
            .and_then(|o| o.get("jit_settings"))
            .filter(|v| v.is_object())
            .cloned();
        Ok(out)
    }

    /// The gateway `conversationType`, or `INVALID_INPUT` naming what is wrong.
    pub fn conversation_type(&self) -> Result<&str> {
        match self.protocol.as_deref() {
            Some(p) if wire::CONVERSATION_TYPES.contains(&p) => Ok(p),
            Some(p) => {
                let shown: String = p.chars().take(40).collect();
                Err(Error::invalid_input(format!(
                    "pamSettings.connection.protocol {shown:?} is not a protocol the gateway launches; use one of {}",
                    wire::CONVERSATION_TYPES.join(", ")
                )))
            }
            None => Err(Error::invalid_input(
                "the record has no pamSettings.connection.protocol; set the connection protocol (ssh, rdp, vnc, ...) on the PAM resource",
            )),
        }
    }
}

/// The record's `trafficEncryptionSeed` field (base64 or base64url text),
/// decoded: the input keying material of the tunnel key (issue 6). `None`
/// when the record has no such field or it is empty; then the caller uses 32
/// random bytes, as Keeper Commander does. The error never quotes the value.
pub fn traffic_encryption_seed(record: &Value) -> Result<Option<Vec<u8>>> {
    let Some(rec) = record.as_object() else {
        return Ok(None);
    };
    let text = ["fields", "custom"]
        .iter()
        .filter_map(|list| rec.get(*list).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_object)
        .filter(|f| f.get("type").and_then(Value::as_str) == Some("trafficEncryptionSeed"))
        .find_map(|f| match f.get("value") {
            Some(Value::Array(values)) => values.first().and_then(Value::as_str),
            Some(Value::String(s)) => Some(s.as_str()),
            _ => None,
        })
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match text {
        None => Ok(None),
        Some(t) => super::dag::decode_base64(t).map(Some).ok_or_else(|| {
            Error::invalid_input(
                "the record's trafficEncryptionSeed is not base64 text: re-save the PAM resource in the web vault",
            )
        }),
    }
}

/// The target host of a launch: `pamHostname` `{ hostName, port }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetHost {
    pub host_name: String,
    /// `None` when the record has no (numeric) port.
    pub port: Option<u16>,
}

/// `pamHostname` of the record, when it names a host.
pub fn target_host(record: &Value) -> Option<TargetHost> {
    let host = typed_field_value(record.as_object()?, "pamHostname")?;
    let host_name = host.get("hostName").and_then(Value::as_str)?.trim();
    if host_name.is_empty() {
        return None;
    }
    let port = match host.get("port") {
        Some(Value::Number(n)) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    Some(TargetHost {
        host_name: host_name.to_owned(),
        port,
    })
}

/// The clipboard policy of `pamSettings.connection` (`disableCopy`, `disablePaste`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClipboardPolicy {
    pub disable_copy: bool,
    pub disable_paste: bool,
}

/// `pamSettings.connection.disableCopy` / `disablePaste` (absent = allowed).
pub fn clipboard_policy(record: &Value) -> Result<ClipboardPolicy> {
    let conn = record
        .as_object()
        .and_then(|rec| typed_field_value(rec, "pamSettings"))
        .and_then(|s| s.get("connection"))
        .and_then(Value::as_object);
    let Some(conn) = conn else {
        return Ok(ClipboardPolicy::default());
    };
    Ok(ClipboardPolicy {
        disable_copy: record_flag(conn, "disableCopy")?,
        disable_paste: record_flag(conn, "disablePaste")?,
    })
}

/// The first value of the typed field `name`, looked up in `fields`, then `custom`.
fn typed_field_value<'a>(
    rec: &'a Map<String, Value>,
    name: &str,
) -> Option<&'a Map<String, Value>> {
    ["fields", "custom"]
        .iter()
        .filter_map(|list| rec.get(*list).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_object)
        .filter(|f| f.get("type").and_then(Value::as_str) == Some(name))
        .find_map(|f| match f.get("value") {
            Some(Value::Array(values)) => values.first().and_then(Value::as_object),
            Some(Value::Object(o)) => Some(o),
            _ => None,
        })
}

fn record_flag(obj: &Map<String, Value>, key: &str) -> Result<bool> {
    jit::parse_flag(obj, key)
        .map_err(|_| Error::invalid_input(format!("pamSettings {key} must be true or false")))
}

/// pamDatabase without a protocol: from `databaseType`, then from the port.
fn infer_database_protocol(
    rec: &Map<String, Value>,
    conn: Option<&Map<String, Value>>,
) -> Option<String> {
    let db_type = conn
        .and_then(|c| c.get("databaseType"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let by_type = if db_type.contains("mysql") {
        Some("mysql")
    } else if db_type.contains("postgres") {
        Some("postgresql")
    } else if db_type.contains("sql server")
        || db_type.contains("sqlserver")
        || db_type.contains("mssql")
    {
        Some("sql-server")
    } else {
        None
    };
    let by_port = || {
        let host = typed_field_value(rec, "pamHostname")?;
        let port = match host.get("port")? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }?;
        match port {
            3306 => Some("mysql"),
            5432 => Some("postgresql"),
            1433 => Some("sql-server"),
            _ => None,
        }
    };
    by_type.or_else(by_port).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(settings: Value) -> Value {
        json!({"type": "pamMachine", "title": "t", "fields": [
            {"type": "password", "value": ["s3cret"]},
            {"type": "pamSettings", "value": [settings]}
        ], "custom": []})
    }

    #[test]
    fn reads_connection_flags_and_options() {
        let r = PamRecord::parse(&rec(json!({
            "allowSupplyHost": true,
            "connection": {"protocol": " SSH ", "allowSupplyUser": "true", "userRecords": ["u1", "", 3]},
            "options": {"jit_settings": {"create_ephemeral": true}}
        })))
        .unwrap_or_default();
        assert_eq!(r.protocol.as_deref(), Some("ssh"));
        assert!(r.allow_supply_user && r.allow_supply_host);
        assert_eq!(r.user_records, vec!["u1".to_string()]);
        assert_eq!(r.jit_settings, Some(json!({"create_ephemeral": true})));
    }

    #[test]
    fn non_object_jit_settings_ignored_and_custom_searched() {
        let r = json!({"type": "pamMachine", "fields": [], "custom": [
            {"type": "pamSettings", "value": [{"connection": {"protocol": "rdp"}, "options": {"jit_settings": "bogus"}}]}
        ]});
        let r = PamRecord::parse(&r).unwrap_or_default();
        assert_eq!(r.protocol.as_deref(), Some("rdp"));
        assert_eq!(r.jit_settings, None);
    }

    #[test]
    fn protocol_validation() {
        let ok = PamRecord {
            protocol: Some("sql-server".into()),
            ..Default::default()
        };
        assert_eq!(ok.conversation_type(), Ok("sql-server"));
        let bad = PamRecord {
            protocol: Some("ftp".into()),
            ..Default::default()
        };
        assert!(bad.conversation_type().is_err());
        assert!(PamRecord::default().conversation_type().is_err());
        assert!(PamRecord::parse(&json!([1])).is_err());
    }

    #[test]
    fn tunnel_fields() {
        let r = json!({"type": "pamMachine", "fields": [
            {"type": "pamHostname", "value": [{"hostName": " db ", "port": "2222"}]},
            {"type": "trafficEncryptionSeed", "value": ["AAECAw"]},
            {"type": "pamSettings", "value": [{"connection": {"disableCopy": true, "disablePaste": "false"}}]}
        ]});
        assert_eq!(traffic_encryption_seed(&r), Ok(Some(vec![0, 1, 2, 3])));
        assert_eq!(
            target_host(&r),
            Some(TargetHost {
                host_name: "db".into(),
                port: Some(2222)
            })
        );
        assert_eq!(
            clipboard_policy(&r),
            Ok(ClipboardPolicy {
                disable_copy: true,
                disable_paste: false
            })
        );
        let bare = json!({"type": "pamMachine", "fields": []});
        assert_eq!(traffic_encryption_seed(&bare), Ok(None));
        assert_eq!(target_host(&bare), None);
        assert_eq!(clipboard_policy(&bare), Ok(ClipboardPolicy::default()));
        let bad = json!({"fields": [{"type": "trafficEncryptionSeed", "value": ["not base64!"]}]});
        let e = traffic_encryption_seed(&bad)
            .err()
            .map(|e| e.message().to_owned());
        assert!(e.is_some_and(|m| !m.contains("not base64!")));
    }

    #[test]
    fn database_protocol_inferred() {
        let r = json!({"type": "pamDatabase", "fields": [
            {"type": "pamHostname", "value": [{"hostName": "db", "port": "5432"}]},
            {"type": "pamSettings", "value": [{"connection": {}}]}
        ]});
        assert_eq!(
            PamRecord::parse(&r).ok().and_then(|r| r.protocol),
            Some("postgresql".into())
        );
        let r = json!({"type": "pamDatabase", "fields": [
            {"type": "pamSettings", "value": [{"connection": {"databaseType": "MSSQL"}}]}
        ]});
        assert_eq!(
            PamRecord::parse(&r).ok().and_then(|r| r.protocol),
            Some("sql-server".into())
        );
    }
}
