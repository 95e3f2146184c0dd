//! The tunnel key and the conversation id.
//!
//! Key: HKDF-SHA256(ikm = the record's `trafficEncryptionSeed`, salt = a
//! 16-byte random nonce, info = `KEEPER_TUNNEL_ENCRYPT_AES_GCM_128`, 32 bytes),
//! used with AES-256-GCM. `tunnel_encrypt` writes standard base64 of
//! `nonce(12) || ciphertext || tag(16)`; `tunnel_decrypt` reads either base64
//! alphabet, padding optional.
//!
//! Conversation id: 16 random bytes. The router and the GatewayAction use the
//! URL-safe text without padding (Commander's `bytes_to_url_safe_str`); the
//! data channel is named with the standard base64 text (with padding); the
//! message id is the conversation id without `=` and with `+` → `-`, `/` → `_`.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use hkdf::Hkdf;
use sha2::Sha256;

use pam_error::{Error, ErrorCode, Result};
use pam_plan::dag::decode_base64;

/// HKDF `info` of the tunnel key.
pub const TUNNEL_KEY_INFO: &[u8] = b"KEEPER_TUNNEL_ENCRYPT_AES_GCM_128";
/// Length of the HKDF salt (`base64Nonce` on the wire).
pub const SALT_LEN: usize = 16;
/// Length of the AES-GCM nonce that prefixes each encrypted payload.
pub const GCM_NONCE_LEN: usize = 12;
/// Length of the AES-GCM tag.
pub const GCM_TAG_LEN: usize = 16;
/// Length of the tunnel key (AES-256).
pub const KEY_LEN: usize = 32;
/// Length of a conversation id in bytes.
pub const CONVERSATION_ID_LEN: usize = 16;
/// Length of the random seed a caller draws when the record has no `trafficEncryptionSeed`.
pub const RANDOM_SEED_LEN: usize = 32;

/// The AES-256-GCM key of one conversation. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TunnelKey([u8; KEY_LEN]);

impl fmt::Debug for TunnelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TunnelKey(<redacted>)")
    }
}

impl TunnelKey {
    /// HKDF-SHA256(ikm = `seed`, salt = `salt`, info = [`TUNNEL_KEY_INFO`]).
    /// An empty seed is refused: it would make the key public.
    pub fn derive(seed: &[u8], salt: &[u8; SALT_LEN]) -> Result<Self> {
        if seed.is_empty() {
            return Err(Error::invalid_input(
                "the traffic encryption seed is empty: pass the record's trafficEncryptionSeed, or 32 random bytes when it has none",
            ));
        }
        let mut okm = [0u8; KEY_LEN];
        Hkdf::<Sha256>::new(Some(salt), seed)
            .expand(TUNNEL_KEY_INFO, &mut okm)
            .map_err(|_| Error::invalid_input("HKDF cannot produce a 32-byte key"))?;
        Ok(Self(okm))
    }

    /// A key from its raw bytes (tests, or a key kept by the caller).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw key bytes. Keep them out of logs.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// `tunnel_encrypt`: standard base64 of `nonce || ciphertext || tag`.
    pub fn encrypt(&self, nonce: &[u8; GCM_NONCE_LEN], plaintext: &[u8]) -> Result<String> {
        let ct = self
            .cipher()
            .encrypt(Nonce::from_slice(nonce), plaintext)
            .map_err(|_| Error::invalid_input("the payload is too large to encrypt"))?;
        let mut out = Vec::with_capacity(GCM_NONCE_LEN + ct.len());
        out.extend_from_slice(nonce);
        out.extend_from_slice(&ct);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    /// `tunnel_decrypt`: base64 (either alphabet, padding optional) of
    /// `nonce || ciphertext || tag` back to the plaintext.
    pub fn decrypt(&self, text: &str) -> Result<Vec<u8>> {
        let bytes = decode_base64(text.trim()).ok_or_else(|| {
            Error::new(
                ErrorCode::TunnelDecryptFailed,
                "the gateway's payload is not base64 text, so it cannot be a tunnel-encrypted message",
            )
        })?;
        self.decrypt_bytes(&bytes)
    }

    /// Decrypts `nonce || ciphertext || tag` given as bytes.
    pub fn decrypt_bytes(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        if bytes.len() < GCM_NONCE_LEN + GCM_TAG_LEN {
            return Err(Error::new(
                ErrorCode::TunnelDecryptFailed,
                format!(
                    "the gateway's encrypted payload is {} bytes, shorter than nonce and tag ({} bytes): truncated",
                    bytes.len(),
                    GCM_NONCE_LEN + GCM_TAG_LEN
                ),
            ));
        }
        let (nonce, ct) = bytes.split_at(GCM_NONCE_LEN);
        self.cipher()
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| {
                Error::new(
                    ErrorCode::TunnelDecryptFailed,
                    "the gateway's payload failed authentication: it was encrypted with another key (another conversation or seed), or it is corrupted",
                )
            })
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }
}

/// `tunnel_encrypt(key, nonce, plaintext)`.
pub fn tunnel_encrypt(
    key: &TunnelKey,
    nonce: &[u8; GCM_NONCE_LEN],
    plaintext: &[u8],
) -> Result<String> {
    key.encrypt(nonce, plaintext)
}

/// `tunnel_decrypt(key, text)`.
pub fn tunnel_decrypt(key: &TunnelKey, text: &str) -> Result<Vec<u8>> {
    key.decrypt(text)
}

/// Standard base64 with padding (`base64Nonce`, the offer SDP).
pub fn base64_std(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A conversation id: 16 random bytes from the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConversationId([u8; CONVERSATION_ID_LEN]);

impl ConversationId {
    pub fn from_bytes(bytes: [u8; CONVERSATION_ID_LEN]) -> Self {
        Self(bytes)
    }

    /// Parses either text form (URL-safe or standard base64, padding optional).
    pub fn parse(text: &str) -> Result<Self> {
        decode_base64(text.trim())
            .and_then(|b| <[u8; CONVERSATION_ID_LEN]>::try_from(b.as_slice()).ok())
            .map(Self)
            .ok_or_else(|| {
                Error::invalid_input(format!(
                    "a conversation id is {CONVERSATION_ID_LEN} bytes as base64 text (22 URL-safe characters)"
                ))
            })
    }

    pub fn bytes(&self) -> &[u8; CONVERSATION_ID_LEN] {
        &self.0
    }

    /// URL-safe base64 without padding: `conversationId` of the GatewayAction.
    pub fn id(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0)
    }

    /// `messageId`: the conversation id without `=`, `+` → `-`, `/` → `_`
    /// (the same text as [`Self::id`]).
    pub fn message_id(&self) -> String {
        message_id_of(&self.id())
    }

    /// The data channel's label: standard base64 with padding.
    pub fn channel_label(&self) -> String {
        base64_std(&self.0)
    }

    /// Whether `text` names this conversation, in either base64 alphabet,
    /// with or without padding.
    pub fn matches(&self, text: &str) -> bool {
        same_id(&self.id(), text)
    }
}

/// Commander's `conversation_id_to_message_id`.
pub fn message_id_of(conversation_id: &str) -> String {
    conversation_id
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// Whether two conversation id texts are the same id across both base64
/// alphabets and padding.
pub fn same_id(a: &str, b: &str) -> bool {
    let a = a.trim();
    let b = b.trim();
    !a.is_empty() && message_id_of(a) == message_id_of(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_three_spellings() {
        let c = ConversationId::from_bytes([0xfb; 16]);
        assert_eq!(c.id(), "-_v7-_v7-_v7-_v7-_v7-w");
        assert_eq!(c.message_id(), c.id());
        assert_eq!(c.channel_label(), "+/v7+/v7+/v7+/v7+/v7+w==");
        assert!(c.matches(&c.channel_label()));
        assert!(c.matches("+/v7+/v7+/v7+/v7+/v7+w"));
        assert!(!c.matches(""));
        assert_eq!(ConversationId::parse(&c.channel_label()), Ok(c));
        assert!(ConversationId::parse("AAAA").is_err());
    }

    #[test]
    fn key_debug_is_redacted() {
        let k = TunnelKey::from_bytes([7; 32]);
        assert_eq!(format!("{k:?}"), "TunnelKey(<redacted>)");
        assert!(TunnelKey::derive(&[], &[0; 16]).is_err());
    }
}
