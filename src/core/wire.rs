//! The wire contract with the Keeper Gateway, in one place.
//!
//! Every key name the gateway reads from a launch is spelled here and nowhere
//! else: if the gateway renames a key (say `jitSettings` goes camelCase inside),
//! one constant or one function in this file changes.

use serde_json::{Map, Value};

/// camelCase key (DAG `jit_settings` edge, written by the web vault) -> the
/// snake_case key the rest of the core and the gateway payloads use. Only keys
/// that differ between the two shapes are listed; `elevate` is the same in both.
pub const JIT_CAMEL_TO_SNAKE: [(&str, &str); 5] = [
    ("createEphemeral", "create_ephemeral"),
    ("ephemeralAccountType", "ephemeral_account_type"),
    ("elevationMethod", "elevation_method"),
    ("elevationString", "elevation_string"),
    ("baseDistinguishedName", "base_distinguished_name"),
];

/// Snake-case settings keys.
pub const CREATE_EPHEMERAL: &str = "create_ephemeral";
pub const ELEVATE: &str = "elevate";
pub const EPHEMERAL_ACCOUNT_TYPE: &str = "ephemeral_account_type";
pub const PAM_DIRECTORY_UID_REF: &str = "pam_directory_uid_ref";

/// Keys projected into the gateway's `jitSettings` object (ephemeral account), in wire order.
pub const JIT_EPHEMERAL_KEYS: [&str; 4] = [
    CREATE_EPHEMERAL,
    EPHEMERAL_ACCOUNT_TYPE,
    "base_distinguished_name",
    PAM_DIRECTORY_UID_REF,
];

/// Keys projected into the gateway's `jitElevation` object, in wire order.
pub const JIT_ELEVATION_KEYS: [&str; 3] = [ELEVATE, "elevation_method", "elevation_string"];

/// DAG: the DATA edge path that carries JIT settings.
pub const DAG_JIT_PATH: &str = "jit_settings";

/// Protocols the gateway accepts as `conversationType` (Keeper Commander's list).
pub const CONVERSATION_TYPES: [&str; 16] = [
    "rdp",
    "vnc",
    "telnet",
    "ssh",
    "kubernetes",
    "sql-server",
    "postgresql",
    "mysql",
    "mariadb",
    "oracle",
    "mongodb",
    "redis",
    "elasticsearch",
    "clickhouse",
    "dynamodb",
    "http",
];

/// The gateway's credential types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialType {
    /// The gateway provisions a short-lived account (JIT ephemeral or both).
    Ephemeral,
    /// The gateway looks up the DAG-linked pamUser (`userRecordUid`).
    Linked,
    /// The user supplies the credential (ConnectAs) or is prompted.
    UserSupplied,
}

impl CredentialType {
    pub const fn as_str(self) -> &'static str {
        match self {
            CredentialType::Ephemeral => "ephemeral",
            CredentialType::Linked => "linked",
            CredentialType::UserSupplied => "userSupplied",
        }
    }
}

/// What goes into the gateway `inputs` object, before the offer crypto adds
/// `base64Nonce` and `data`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GatewayInputs {
    pub record_uid: String,
    pub conversation_type: String,
    pub trickle_ice: bool,
    pub credential_type: Option<CredentialType>,
    pub user_record_uid: Option<String>,
    pub allow_supply_user: bool,
    pub jit_settings: Option<Map<String, Value>>,
    pub jit_elevation: Option<Map<String, Value>>,
}

/// The offer crypto's part of the inputs (issue 6): nonce and encrypted offer data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferCrypto {
    pub base64_nonce: String,
    pub data: String,
}

impl GatewayInputs {
    /// The inputs object with Keeper Commander's key order:
    /// `recordUid, kind, [base64Nonce], conversationType, [data], trickleICE,
    /// credentialType?, userRecordUid?, allowSupplyUser?, jitSettings?, jitElevation?`.
    pub fn to_json(&self, offer: Option<&OfferCrypto>) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("recordUid".into(), Value::String(self.record_uid.clone()));
        m.insert("kind".into(), Value::String("start".into()));
        if let Some(o) = offer {
            m.insert("base64Nonce".into(), Value::String(o.base64_nonce.clone()));
        }
        m.insert(
            "conversationType".into(),
            Value::String(self.conversation_type.clone()),
        );
        if let Some(o) = offer {
            m.insert("data".into(), Value::String(o.data.clone()));
        }
        m.insert("trickleICE".into(), Value::Bool(self.trickle_ice));
        if let Some(ct) = self.credential_type {
            m.insert("credentialType".into(), Value::String(ct.as_str().into()));
        }
        if let Some(uid) = &self.user_record_uid {
            m.insert("userRecordUid".into(), Value::String(uid.clone()));
        }
        if self.allow_supply_user {
            m.insert("allowSupplyUser".into(), Value::Bool(true));
        }
        if let Some(s) = &self.jit_settings {
            m.insert("jitSettings".into(), Value::Object(s.clone()));
        }
        if let Some(e) = &self.jit_elevation {
            m.insert("jitElevation".into(), Value::Object(e.clone()));
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ephemeral_and_elevation_keys_are_disjoint() {
        for k in JIT_EPHEMERAL_KEYS {
            assert!(!JIT_ELEVATION_KEYS.contains(&k), "{k}");
        }
    }

    #[test]
    fn camel_map_targets_are_payload_keys() {
        for (_, snake) in JIT_CAMEL_TO_SNAKE {
            assert!(
                JIT_EPHEMERAL_KEYS.contains(&snake) || JIT_ELEVATION_KEYS.contains(&snake),
                "{snake}"
            );
        }
    }

    #[test]
    fn inputs_key_order_with_offer_crypto() {
        let inputs = GatewayInputs {
            record_uid: "r".into(),
            conversation_type: "ssh".into(),
            trickle_ice: true,
            credential_type: Some(CredentialType::UserSupplied),
            allow_supply_user: true,
            ..Default::default()
        };
        let offer = OfferCrypto {
            base64_nonce: "n".into(),
            data: "d".into(),
        };
        let keys: Vec<_> = inputs.to_json(Some(&offer)).keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "recordUid",
                "kind",
                "base64Nonce",
                "conversationType",
                "data",
                "trickleICE",
                "credentialType",
                "allowSupplyUser"
            ]
        );
    }
}
