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

    /// The inverse of [`Self::to_json`]: the `inputs` of a launch plan that
    /// went through JavaScript (`planLaunch(...).inputs`) back to the struct.
    /// `kind`, `base64Nonce` and `data` are ignored (the launch writes its
    /// own); any other unknown key is `INVALID_INPUT`, so that a plan edited
    /// by hand cannot smuggle keys past the wire contract. Errors name keys,
    /// never values.
    pub fn from_json(inputs: &Value) -> crate::error::Result<Self> {
        use crate::error::Error;
        let Some(m) = inputs.as_object() else {
            return Err(Error::invalid_input(
                "plan.inputs must be the inputs object of planLaunch",
            ));
        };
        let text = |k: &str| -> crate::error::Result<Option<String>> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
                Some(_) => Err(Error::invalid_input(format!(
                    "plan.inputs.{k} must be a non-empty string"
                ))),
            }
        };
        let object = |k: &str| -> crate::error::Result<Option<Map<String, Value>>> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Object(o)) => Ok(Some(o.clone())),
                Some(_) => Err(Error::invalid_input(format!(
                    "plan.inputs.{k} must be an object"
                ))),
            }
        };
        for k in m.keys() {
            if !matches!(
                k.as_str(),
                "recordUid"
                    | "kind"
                    | "base64Nonce"
                    | "conversationType"
                    | "data"
                    | "trickleICE"
                    | "credentialType"
                    | "userRecordUid"
                    | "allowSupplyUser"
                    | "jitSettings"
                    | "jitElevation"
            ) {
                return Err(Error::invalid_input(format!(
                    "plan.inputs has an unknown key {:?}: pass the inputs of planLaunch unchanged",
                    k.chars().take(40).collect::<String>()
                )));
            }
        }
        let record_uid = text("recordUid")?
            .ok_or_else(|| Error::invalid_input("plan.inputs.recordUid is required"))?;
        let conversation_type = text("conversationType")?
            .ok_or_else(|| Error::invalid_input("plan.inputs.conversationType is required"))?;
        let trickle_ice = match m.get("trickleICE") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(Error::invalid_input(
                    "plan.inputs.trickleICE must be true or false",
                ))
            }
        };
        let credential_type = match text("credentialType")?.as_deref() {
            None => None,
            Some("ephemeral") => Some(CredentialType::Ephemeral),
            Some("linked") => Some(CredentialType::Linked),
            Some("userSupplied") => Some(CredentialType::UserSupplied),
            Some(_) => return Err(Error::invalid_input(
                "plan.inputs.credentialType must be \"ephemeral\", \"linked\" or \"userSupplied\"",
            )),
        };
        let allow_supply_user = match m.get("allowSupplyUser") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(Value::Bool(true)) => true,
            Some(_) => {
                return Err(Error::invalid_input(
                    "plan.inputs.allowSupplyUser must be true or absent",
                ))
            }
        };
        Ok(Self {
            record_uid,
            conversation_type,
            trickle_ice,
            credential_type,
            user_record_uid: text("userRecordUid")?,
            allow_supply_user,
            jit_settings: object("jitSettings")?,
            jit_elevation: object("jitElevation")?,
        })
    }
}

// ---------------------------------------------------------------------------
// WebRTC launch (issue 6): the offer data, the GatewayAction, router replies.
// ---------------------------------------------------------------------------

/// `inputs.kind` of the messages after `start` (Keeper Commander's names).
pub const KIND_ICE_CANDIDATE: &str = "icecandidate";
pub const KIND_ICE_RESTART_OFFER: &str = "ice_restart_offer";
pub const KIND_ICE_RESTART_ANSWER: &str = "ice_restart_answer";

/// The GatewayAction's `action` for a WebRTC session.
pub const ACTION_WEBRTC_SESSION: &str = "webrtc-session";

/// Keys of a ControllerResponse (the router's reply, HTTP body or websocket payload).
pub const RESPONSE_IS_OK: &str = "is_ok";
pub const RESPONSE_IS_OK_CAMEL: &str = "isOk";
pub const RESPONSE_DATA: &str = "data";
pub const RESPONSE_ERROR: &str = "error";
pub const RESPONSE_ERRORS: &str = "errors";
pub const RESPONSE_PROGRESS_STATUS: &str = "progress_status";

/// Keys of a router websocket message `{ conversationId, type?, payload }`.
pub const WS_CONVERSATION_ID: &str = "conversationId";
pub const WS_PAYLOAD: &str = "payload";

/// Keys of the decrypted signaling payloads.
pub const SIGNAL_ANSWER: &str = "answer";
pub const SIGNAL_SDP: &str = "sdp";
pub const SIGNAL_TYPE: &str = "type";
pub const SIGNAL_OFFER: &str = "offer";
pub const SIGNAL_CANDIDATES: &str = "candidates";

/// Keys of the ConnectAs `user` object the gateway reads (username, password,
/// private_key, passphrase as Commander and the web vault send them; the rest
/// are accepted by the gateway, per Keeper's WebRTC library).
pub const CONNECT_AS_USER_KEYS: [&str; 12] = [
    "username",
    "password",
    "private_key",
    "passphrase",
    "public_key",
    "private_key_passphrase",
    "domain",
    "connect_database",
    "distinguished_name",
    "totp",
    "host",
    "port",
];

/// What the offer data (`inputs.data` of `start`, before encryption) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferDataFields<'a> {
    /// base64 (standard) of the SDP offer.
    pub offer_base64: &'a str,
    /// `[width, height, dpi]`.
    pub size: [u32; 3],
    pub host_name: &'a str,
    /// `None` is written as `null`.
    pub port: Option<u16>,
    /// `guacd_params["enable-pipe"] = "true"` (Commander's terminal mode).
    pub enable_pipe: bool,
    pub disable_copy: bool,
    pub disable_paste: bool,
}

/// The offer data object, in Keeper Commander's key order: `offer, audio,
/// video, size, image, host {hostName, port}, guacd_params, terminalSettings,
/// clipboard`.
pub fn offer_data_json(f: &OfferDataFields<'_>) -> Value {
    let strings = |v: &[&str]| Value::Array(v.iter().map(|s| Value::String((*s).into())).collect());
    let mut host = Map::new();
    host.insert("hostName".into(), Value::String(f.host_name.into()));
    host.insert("port".into(), f.port.map_or(Value::Null, Value::from));
    let mut guacd = Map::new();
    if f.enable_pipe {
        guacd.insert("enable-pipe".into(), Value::String("true".into()));
    }
    if f.disable_paste {
        guacd.insert("disable-paste".into(), Value::String("true".into()));
    }
    if f.disable_copy {
        guacd.insert("disable-copy".into(), Value::String("true".into()));
    }
    let clip = || {
        let mut m = Map::new();
        m.insert("disableCopy".into(), Value::Bool(f.disable_copy));
        m.insert("disablePaste".into(), Value::Bool(f.disable_paste));
        Value::Object(m)
    };
    let mut m = Map::new();
    m.insert("offer".into(), Value::String(f.offer_base64.into()));
    m.insert("audio".into(), strings(&["audio/L8", "audio/L16"]));
    m.insert("video".into(), Value::Array(Vec::new()));
    m.insert(
        "size".into(),
        Value::Array(f.size.iter().map(|n| Value::from(*n)).collect()),
    );
    m.insert(
        "image".into(),
        strings(&["image/jpeg", "image/png", "image/webp"]),
    );
    m.insert("host".into(), Value::Object(host));
    m.insert("guacd_params".into(), Value::Object(guacd));
    m.insert("terminalSettings".into(), clip());
    m.insert("clipboard".into(), clip());
    Value::Object(m)
}

/// The GatewayAction object for a WebRTC session, with the keys sorted as
/// Commander's `json.dumps(sort_keys=True)` writes them:
/// `action, conversationId, gateway_destination: null, inputs, is_scheduled: false, messageId`.
pub fn gateway_action_json(
    conversation_id: &str,
    message_id: &str,
    inputs: Map<String, Value>,
) -> Value {
    let mut m = Map::new();
    m.insert("action".into(), Value::String(ACTION_WEBRTC_SESSION.into()));
    m.insert(
        WS_CONVERSATION_ID.into(),
        Value::String(conversation_id.into()),
    );
    m.insert("gateway_destination".into(), Value::Null);
    m.insert("inputs".into(), Value::Object(inputs));
    m.insert("is_scheduled".into(), Value::Bool(false));
    m.insert("messageId".into(), Value::String(message_id.into()));
    Value::Object(m)
}

/// The inputs of the messages after `start` (`icecandidate`,
/// `ice_restart_offer`, `ice_restart_answer`), as Commander sends them:
/// `recordUid, kind, base64Nonce, conversationType, data, trickleICE`.
pub fn signal_inputs_json(
    record_uid: &str,
    kind: &str,
    base64_nonce: &str,
    conversation_type: &str,
    data: &str,
    trickle_ice: bool,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("recordUid".into(), Value::String(record_uid.into()));
    m.insert("kind".into(), Value::String(kind.into()));
    m.insert("base64Nonce".into(), Value::String(base64_nonce.into()));
    m.insert(
        "conversationType".into(),
        Value::String(conversation_type.into()),
    );
    m.insert("data".into(), Value::String(data.into()));
    m.insert("trickleICE".into(), Value::Bool(trickle_ice));
    m
}

/// `{"candidates": [...]}`, the plaintext of an `icecandidate` message.
pub fn candidates_json(candidates: &[String]) -> Value {
    let mut m = Map::new();
    m.insert(
        SIGNAL_CANDIDATES.into(),
        Value::Array(candidates.iter().cloned().map(Value::String).collect()),
    );
    Value::Object(m)
}

/// `{"type": "offer"|"answer", "sdp": <raw SDP>, "ice_restart": true}`, the
/// plaintext of an ICE-restart message.
pub fn ice_restart_json(sdp_type: &str, sdp: &str) -> Value {
    let mut m = Map::new();
    m.insert(SIGNAL_TYPE.into(), Value::String(sdp_type.into()));
    m.insert(SIGNAL_SDP.into(), Value::String(sdp.into()));
    m.insert("ice_restart".into(), Value::Bool(true));
    Value::Object(m)
}

/// `{"user": {...}}`, the ConnectAs plaintext before padding.
pub fn connect_as_json(user: Map<String, Value>) -> Value {
    let mut m = Map::new();
    m.insert("user".into(), Value::Object(user));
    Value::Object(m)
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
    fn inputs_round_trip_through_json() {
        let mut settings = Map::new();
        settings.insert(CREATE_EPHEMERAL.into(), Value::Bool(true));
        let mut elevation = Map::new();
        elevation.insert(ELEVATE.into(), Value::Bool(true));
        for inputs in [
            GatewayInputs {
                record_uid: "r".into(),
                conversation_type: "ssh".into(),
                trickle_ice: true,
                credential_type: Some(CredentialType::Ephemeral),
                jit_settings: Some(settings.clone()),
                ..Default::default()
            },
            GatewayInputs {
                record_uid: "r".into(),
                conversation_type: "rdp".into(),
                trickle_ice: false,
                credential_type: Some(CredentialType::Linked),
                user_record_uid: Some("u".into()),
                jit_elevation: Some(elevation.clone()),
                ..Default::default()
            },
            GatewayInputs {
                record_uid: "r".into(),
                conversation_type: "vnc".into(),
                credential_type: Some(CredentialType::UserSupplied),
                allow_supply_user: true,
                ..Default::default()
            },
        ] {
            let json = Value::Object(inputs.to_json(None));
            assert_eq!(GatewayInputs::from_json(&json).as_ref(), Ok(&inputs));
        }
        let bad = [
            serde_json::json!([]),
            serde_json::json!({"conversationType": "ssh"}),
            serde_json::json!({"recordUid": "r"}),
            serde_json::json!({"recordUid": "r", "conversationType": "ssh", "trickleICE": "yes"}),
            serde_json::json!({"recordUid": "r", "conversationType": "ssh", "credentialType": "pw"}),
            serde_json::json!({"recordUid": "r", "conversationType": "ssh", "jitSettings": "x"}),
            serde_json::json!({"recordUid": "r", "conversationType": "ssh", "extra": 1}),
        ];
        for b in bad {
            let e = GatewayInputs::from_json(&b).err();
            assert_eq!(
                e.map(|e| e.code()),
                Some(crate::error::ErrorCode::InvalidInput),
                "{b}"
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
