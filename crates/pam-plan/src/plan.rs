//! The launch plan: which credential path a launch takes and the exact gateway
//! `inputs` it sends, following Keeper Commander's `pam launch -j`.
//!
//! Precedence: `allowSupplyHost > JIT > allowSupplyUser > linked`.
//! JIT is strictly opt-in (`jit` absent or false means off); `jit: "auto"`
//! turns it on exactly when the loaded settings have an active mode and the
//! record has no `allowSupplyHost` (what the web vault does).

use serde_json::{Map, Value};

use super::dag::{self, DagInput};
use super::error::{Error, ErrorCode, Result};
use super::jit::{self, JitMode};
use super::record::PamRecord;
use super::wire::{self, CredentialType, GatewayInputs};

/// Whether the caller asked for JIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JitRequest {
    #[default]
    Off,
    On,
    /// On exactly when the settings have an active mode and the record has no allowSupplyHost.
    Auto,
}

impl JitRequest {
    /// `true`/`false` (also `"true"`/`"false"`, 1/0), `null`, or `"auto"`.
    pub fn from_value(v: Option<&Value>) -> Result<Self> {
        let bad = || Error::invalid_input("jit must be true, false or \"auto\"");
        match v {
            None | Some(Value::Null) => Ok(JitRequest::Off),
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("auto") => Ok(JitRequest::Auto),
            Some(other) => {
                let mut m = Map::new();
                m.insert("jit".into(), other.clone());
                match jit::parse_flag(&m, "jit") {
                    Ok(true) => Ok(JitRequest::On),
                    Ok(false) => Ok(JitRequest::Off),
                    Err(_) => Err(bad()),
                }
            }
        }
    }
}

/// A launch request (the JS `planLaunch` argument, decoded).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LaunchRequest {
    pub record_uid: String,
    pub record: Value,
    pub dag: Option<DagInput>,
    pub record_key: Option<Vec<u8>>,
    pub linked_user_record_uid: Option<String>,
    pub pam_directory_uid: Option<String>,
    pub jit: JitRequest,
    pub credential_override: Option<String>,
    pub host_override: bool,
    pub host_record_uid: Option<String>,
}

/// A warning the launcher shows; the launch still goes ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub code: &'static str,
    pub message: String,
}

/// Warning codes (stable).
pub mod warning {
    /// The DAG says createEphemeral but JIT was not requested: the gateway may refuse.
    pub const EPHEMERAL_RESOURCE_WITHOUT_JIT: &str = "EPHEMERAL_RESOURCE_WITHOUT_JIT";
    /// A domain ephemeral account without a pamDirectory link: the gateway will check.
    pub const DOMAIN_WITHOUT_DIRECTORY: &str = "DOMAIN_WITHOUT_DIRECTORY";
    /// No DAG-linked credential; `pamSettings.connection.userRecords[0]` is used.
    pub const IMPLICIT_CREDENTIAL: &str = "IMPLICIT_CREDENTIAL";
    /// JIT elevation on a record with no linked credential: the supplied account is elevated.
    pub const ELEVATION_OF_SUPPLIED_CREDENTIAL: &str = "ELEVATION_OF_SUPPLIED_CREDENTIAL";
}

/// The plan.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchPlan {
    /// The active JIT mode (`None` when JIT is off for this launch).
    pub jit_mode: Option<JitMode>,
    pub credential_type: Option<CredentialType>,
    pub inputs: GatewayInputs,
    /// The guacd username/password are left empty (the gateway injects them, or the user supplies them).
    pub guacd_credentials_empty: bool,
    pub warnings: Vec<Warning>,
}

/// Where the settings came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsSource {
    Dag,
    Record,
}

/// Loaded, normalised settings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadedSettings {
    pub settings: Option<Map<String, Value>>,
    pub source: Option<SettingsSource>,
    pub has_domain_link: bool,
}

/// DAG first; if the DAG gives nothing after normalising, the record's
/// `pamSettings.options.jit_settings` (a non-object there is ignored).
pub fn load_settings(
    dag: Option<&DagInput>,
    record_key: Option<&[u8]>,
    record: Option<&PamRecord>,
) -> Result<LoadedSettings> {
    let mut out = LoadedSettings::default();
    if let Some(d) = dag {
        let decoded = dag::decode(d, record_key)?;
        out.has_domain_link = decoded.has_domain_link;
        if let Some(s) = decoded.settings.as_ref().and_then(jit::normalize) {
            out.settings = Some(s);
            out.source = Some(SettingsSource::Dag);
            return Ok(out);
        }
    }
    if let Some(s) = record
        .and_then(|r| r.jit_settings.as_ref())
        .and_then(jit::normalize)
    {
        out.settings = Some(s);
        out.source = Some(SettingsSource::Record);
    }
    Ok(out)
}

/// Plans a launch.
pub fn plan(req: &LaunchRequest) -> Result<LaunchPlan> {
    if req.record_uid.trim().is_empty() {
        return Err(Error::invalid_input(
            "recordUid is required: the UID of the PAM resource record",
        ));
    }
    let record = PamRecord::parse(&req.record)?;
    let conversation_type = record.conversation_type()?.to_owned();
    let loaded = load_settings(req.dag.as_ref(), req.record_key.as_deref(), Some(&record))?;
    let settings = loaded.settings.as_ref();

    let jit_requested = match req.jit {
        JitRequest::Off => false,
        JitRequest::On => true,
        JitRequest::Auto => !record.allow_supply_host && mode_of(settings)?.is_some(),
    };

    let mut inputs = GatewayInputs {
        record_uid: req.record_uid.clone(),
        conversation_type,
        trickle_ice: true,
        ..GatewayInputs::default()
    };
    let mut warnings = Vec::new();
    let linked = linked_credential(req, &record);

    if jit_requested {
        let Some(mode) = mode_of(settings)? else {
            return Err(Error::new(
                ErrorCode::JitNotConfigured,
                "JIT was requested but the resource has no active JIT configuration: enable \"create ephemeral account\" and/or \"elevate\" in the web vault (DAG jit_settings) or declare pamSettings.options.jit_settings, or launch without JIT",
            ));
        };
        if record.allow_supply_host {
            return Err(Error::new(
                ErrorCode::JitWithSupplyHost,
                "JIT cannot be combined with allowSupplyHost on the record: the user supplies host and credential there; disable allowSupplyHost or launch without JIT",
            ));
        }
        if req.credential_override.is_some() || req.host_override || req.host_record_uid.is_some() {
            return Err(Error::new(
                ErrorCode::JitExclusiveOption,
                "JIT provisions the credential itself, so it cannot be combined with a credential override, host override or host record; remove those or launch without JIT",
            ));
        }
        // Settings are present whenever a mode is.
        let s = settings.cloned().unwrap_or_default();
        let guacd_credentials_empty = if mode.creates_account() {
            inputs.credential_type = Some(CredentialType::Ephemeral);
            inputs.jit_settings = non_empty(jit::project_normalized(&s, &wire::JIT_EPHEMERAL_KEYS));
            if mode == JitMode::Both {
                inputs.jit_elevation =
                    non_empty(jit::project_normalized(&s, &wire::JIT_ELEVATION_KEYS));
            }
            if is_domain_account(&s) && !has_directory(req, &loaded, &s) {
                warnings.push(Warning {
                    code: warning::DOMAIN_WITHOUT_DIRECTORY,
                    message: "the ephemeral account type is \"domain\" but the resource has no pamDirectory link; the gateway will refuse the launch unless the resource is linked to a directory".into(),
                });
            }
            true
        } else {
            let elevation = non_empty(jit::project_normalized(&s, &wire::JIT_ELEVATION_KEYS));
            if let Some(uid) = linked.take_with(&mut warnings) {
                inputs.credential_type = Some(CredentialType::Linked);
                inputs.user_record_uid = Some(uid);
                inputs.jit_elevation = elevation;
                false
            } else if record.allow_supply_user {
                inputs.credential_type = Some(CredentialType::UserSupplied);
                inputs.allow_supply_user = true;
                inputs.jit_elevation = elevation;
                warnings.push(Warning {
                    code: warning::ELEVATION_OF_SUPPLIED_CREDENTIAL,
                    message: "the resource has no linked credential: the gateway elevates the account the user supplies".into(),
                });
                true
            } else {
                return Err(Error::new(
                    ErrorCode::JitElevationNeedsLinkedCredential,
                    "JIT elevation is applied on top of an existing account, and the resource has no linked credential: link a pamUser record, enable allowSupplyUser, or set create ephemeral account in the JIT settings",
                ));
            }
        };
        return Ok(LaunchPlan {
            jit_mode: Some(mode),
            credential_type: inputs.credential_type,
            inputs,
            guacd_credentials_empty,
            warnings,
        });
    }

    // JIT off: today's credential path, whatever jit_settings the record carries.
    let host_given = req.host_override || req.host_record_uid.is_some();
    if req.host_override && req.host_record_uid.is_some() {
        return Err(Error::invalid_input(
            "give either a host override or a host record, not both",
        ));
    }
    if host_given && req.credential_override.is_none() {
        return Err(Error::invalid_input(
            "a host override needs a credential override too: with allowSupplyHost, host and credential are supplied together",
        ));
    }
    if host_given && !record.allow_supply_host {
        return Err(Error::invalid_input(
            "a host override needs allowSupplyHost on the record (web vault: allow users to select their own host and credential)",
        ));
    }
    let override_uid = req
        .credential_override
        .clone()
        // A credential override equal to the linked credential, without a host, is no override.
        .filter(|c| host_given || Some(c.as_str()) != linked.uid());
    if override_uid.is_some() && !record.allow_supply_user && !record.allow_supply_host {
        return Err(Error::invalid_input(
            "a credential override needs allowSupplyUser or allowSupplyHost on the record",
        ));
    }
    let mut guacd_credentials_empty = false;
    if override_uid.is_some() {
        inputs.credential_type = Some(CredentialType::UserSupplied);
        inputs.allow_supply_user = true;
    } else if let Some(uid) = linked.take_with(&mut warnings) {
        inputs.credential_type = Some(CredentialType::Linked);
        inputs.user_record_uid = Some(uid);
    } else if record.allow_supply_user || record.allow_supply_host {
        inputs.credential_type = Some(CredentialType::UserSupplied);
        inputs.allow_supply_user = true;
        guacd_credentials_empty = true;
    }
    if loaded.source == Some(SettingsSource::Dag)
        && settings.is_some_and(|s| jit::parse_flag(s, wire::CREATE_EPHEMERAL).unwrap_or(false))
    {
        warnings.push(Warning {
            code: warning::EPHEMERAL_RESOURCE_WITHOUT_JIT,
            message: "the resource is set to create an ephemeral account (DAG createEphemeral) but JIT is off: the gateway may refuse a non-ephemeral launch; launch with JIT".into(),
        });
    }
    Ok(LaunchPlan {
        jit_mode: None,
        credential_type: inputs.credential_type,
        inputs,
        guacd_credentials_empty,
        warnings,
    })
}

fn mode_of(settings: Option<&Map<String, Value>>) -> Result<Option<JitMode>> {
    settings.map_or(Ok(None), jit::derive_mode_normalized)
}

fn non_empty(m: Map<String, Value>) -> Option<Map<String, Value>> {
    (!m.is_empty()).then_some(m)
}

/// The linked credential: the DAG-linked pamUser, else the record's first
/// `userRecords` entry (Keeper Commander's fallback).
struct Linked {
    uid: Option<String>,
    /// The fallback was taken on a record that lets users supply credentials:
    /// the choice is implicit, so the plan says so when it uses it.
    implicit: bool,
}

impl Linked {
    fn uid(&self) -> Option<&str> {
        self.uid.as_deref()
    }

    /// The UID, for a plan that uses it (with the implicit-choice warning).
    fn take_with(self, warnings: &mut Vec<Warning>) -> Option<String> {
        if self.implicit && self.uid.is_some() {
            warnings.push(Warning {
                code: warning::IMPLICIT_CREDENTIAL,
                message: "no DAG-linked launch credential was given; using the record's first pamSettings.connection.userRecords entry".into(),
            });
        }
        self.uid
    }
}

fn linked_credential(req: &LaunchRequest, record: &PamRecord) -> Linked {
    if let Some(uid) = req
        .linked_user_record_uid
        .as_ref()
        .filter(|s| !s.trim().is_empty())
    {
        return Linked {
            uid: Some(uid.clone()),
            implicit: false,
        };
    }
    Linked {
        uid: record.user_records.first().cloned(),
        implicit: record.allow_supply_user || record.allow_supply_host,
    }
}

fn is_domain_account(s: &Map<String, Value>) -> bool {
    s.get(wire::EPHEMERAL_ACCOUNT_TYPE)
        .and_then(Value::as_str)
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("domain"))
}

fn has_directory(req: &LaunchRequest, loaded: &LoadedSettings, s: &Map<String, Value>) -> bool {
    let set = |v: Option<&Value>| match v {
        Some(Value::String(x)) => !x.trim().is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    };
    loaded.has_domain_link
        || req
            .pam_directory_uid
            .as_ref()
            .is_some_and(|d| !d.trim().is_empty())
        || set(s.get(wire::PAM_DIRECTORY_UID_REF))
}
