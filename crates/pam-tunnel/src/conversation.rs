//! One launch's signaling context: its conversation id, tunnel key and the
//! parts of the inputs every message repeats. It builds the GatewayActions
//! the caller's `signaling.send(action, { timeoutMs, streamResponse })` posts,
//! and reads the router's replies (see [`super::router`]).

use std::fmt;

use serde_json::Value;

use super::crypto::{self, ConversationId, TunnelKey, GCM_NONCE_LEN, SALT_LEN};
use super::router::{self, RouterEvent};
use pam_error::{Error, Result};
use pam_plan::wire::{self, CredentialType, GatewayInputs, OfferCrypto};

/// The router timeout of an offer.
pub const OFFER_TIMEOUT_MS: u64 = 30_000;
/// The router timeout of an offer with `credentialType: "ephemeral"`: the
/// gateway spends 30-90 s creating the account.
pub const EPHEMERAL_OFFER_TIMEOUT_MS: u64 = 120_000;
/// The router timeout of the other messages (Commander's `GATEWAY_TIMEOUT`).
pub const SIGNAL_TIMEOUT_MS: u64 = 30_000;

/// One call of the caller's `signaling.send`.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayRequest {
    /// The GatewayAction object (`payload` of the router message).
    pub action: Value,
    /// The router message's `timeout`.
    pub timeout_ms: u64,
    /// The router message's `streamResponse` (= trickle ICE).
    pub stream_response: bool,
}

/// The random bytes a launch needs, drawn by the caller.
#[derive(Clone, PartialEq, Eq)]
pub struct LaunchRandom {
    /// The conversation id.
    pub conversation_id: [u8; 16],
    /// The HKDF salt (`base64Nonce`).
    pub salt: [u8; SALT_LEN],
}

impl fmt::Debug for LaunchRandom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LaunchRandom(<redacted>)")
    }
}

/// A launch's signaling context.
#[derive(Debug, Clone)]
pub struct Conversation {
    id: ConversationId,
    key: TunnelKey,
    base64_nonce: String,
    inputs: GatewayInputs,
}

impl Conversation {
    /// `inputs` is the launch plan's (`LaunchPlan::inputs`; its `trickle_ice`
    /// decides the ICE mode); `seed` the record's `trafficEncryptionSeed`
    /// (see `record::traffic_encryption_seed`) or 32 random bytes.
    pub fn new(inputs: &GatewayInputs, seed: &[u8], random: &LaunchRandom) -> Result<Self> {
        if inputs.record_uid.trim().is_empty() || inputs.conversation_type.trim().is_empty() {
            return Err(Error::invalid_input(
                "the launch plan's inputs need recordUid and conversationType: pass LaunchPlan.inputs from planLaunch",
            ));
        }
        Ok(Self {
            id: ConversationId::from_bytes(random.conversation_id),
            key: TunnelKey::derive(seed, &random.salt)?,
            base64_nonce: crypto::base64_std(&random.salt),
            inputs: inputs.clone(),
        })
    }

    pub fn id(&self) -> &ConversationId {
        &self.id
    }

    pub fn key(&self) -> &TunnelKey {
        &self.key
    }

    /// `base64Nonce`: standard base64 of the HKDF salt.
    pub fn base64_nonce(&self) -> &str {
        &self.base64_nonce
    }

    pub fn trickle_ice(&self) -> bool {
        self.inputs.trickle_ice
    }

    pub fn is_ephemeral(&self) -> bool {
        self.inputs.credential_type == Some(CredentialType::Ephemeral)
    }

    /// The router timeout of the offer: 30 s, 120 s for ephemeral launches.
    pub fn offer_timeout_ms(&self) -> u64 {
        if self.is_ephemeral() {
            EPHEMERAL_OFFER_TIMEOUT_MS
        } else {
            OFFER_TIMEOUT_MS
        }
    }

    /// The `start` message: `offer_data` (see [`super::offer::offer_data`])
    /// encrypted with `gcm_nonce`, inside the plan's inputs.
    pub fn start(
        &self,
        offer_data: &Value,
        gcm_nonce: &[u8; GCM_NONCE_LEN],
    ) -> Result<GatewayRequest> {
        let data = self.encrypt_json(offer_data, gcm_nonce)?;
        let inputs = self.inputs.to_json(Some(&OfferCrypto {
            base64_nonce: self.base64_nonce.clone(),
            data,
        }));
        Ok(self.request(inputs, self.offer_timeout_ms()))
    }

    /// An `icecandidate` message with `{"candidates": [...]}` (each a
    /// `candidate:...` line; `""` is end-of-candidates).
    pub fn ice_candidates(
        &self,
        candidates: &[String],
        gcm_nonce: &[u8; GCM_NONCE_LEN],
    ) -> Result<GatewayRequest> {
        if candidates.is_empty() {
            return Err(Error::invalid_input(
                "an icecandidate message needs at least one candidate",
            ));
        }
        self.signal(
            wire::KIND_ICE_CANDIDATE,
            &wire::candidates_json(candidates),
            gcm_nonce,
        )
    }

    /// An `ice_restart_offer` message with the raw SDP of the restart offer.
    pub fn ice_restart_offer(
        &self,
        sdp: &str,
        gcm_nonce: &[u8; GCM_NONCE_LEN],
    ) -> Result<GatewayRequest> {
        self.signal(
            wire::KIND_ICE_RESTART_OFFER,
            &wire::ice_restart_json("offer", sdp),
            gcm_nonce,
        )
    }

    /// An `ice_restart_answer` message with the raw SDP of the answer to the
    /// gateway's restart offer.
    pub fn ice_restart_answer(
        &self,
        sdp: &str,
        gcm_nonce: &[u8; GCM_NONCE_LEN],
    ) -> Result<GatewayRequest> {
        self.signal(
            wire::KIND_ICE_RESTART_ANSWER,
            &wire::ice_restart_json("answer", sdp),
            gcm_nonce,
        )
    }

    /// What the `signaling.send` promise resolved to (the ControllerResponse,
    /// an object or its JSON text): the answer in non-trickle mode, usually
    /// nothing in trickle mode. `GATEWAY_REFUSED` when the gateway said no.
    pub fn read_response(&self, response: &Value) -> Result<Vec<RouterEvent>> {
        router::read_response(&self.id, &self.key, response)
    }

    /// One router websocket message (an object or an array of them). Messages
    /// of other conversations give no events.
    pub fn read_ws_message(&self, message: &Value) -> Result<Vec<RouterEvent>> {
        router::read_ws_message(&self.id, &self.key, message)
    }

    fn signal(
        &self,
        kind: &str,
        plain: &Value,
        gcm_nonce: &[u8; GCM_NONCE_LEN],
    ) -> Result<GatewayRequest> {
        let data = self.encrypt_json(plain, gcm_nonce)?;
        let inputs = wire::signal_inputs_json(
            &self.inputs.record_uid,
            kind,
            &self.base64_nonce,
            &self.inputs.conversation_type,
            &data,
            self.inputs.trickle_ice,
        );
        Ok(self.request(inputs, SIGNAL_TIMEOUT_MS))
    }

    fn encrypt_json(&self, v: &Value, gcm_nonce: &[u8; GCM_NONCE_LEN]) -> Result<String> {
        self.key.encrypt(gcm_nonce, v.to_string().as_bytes())
    }

    fn request(&self, inputs: serde_json::Map<String, Value>, timeout_ms: u64) -> GatewayRequest {
        GatewayRequest {
            action: wire::gateway_action_json(&self.id.id(), &self.id.message_id(), inputs),
            timeout_ms,
            stream_response: self.inputs.trickle_ice,
        }
    }
}
