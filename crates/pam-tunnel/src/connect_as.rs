//! ConnectAs: user-supplied credentials for OpenConnection, encrypted to the
//! gateway's P-256 public key.
//!
//! ECIES as Keeper's library reads it: ECDH P-256 between a one-time secret
//! and the gateway's key → HKDF-SHA256 (no salt, info
//! `KEEPER_CONNECT_AS_ECIES_SECP256R1_HKDF_SHA256`, 32 bytes) → AES-256-GCM.
//! The plaintext is `{"user": {...}}` padded with spaces to at least 92 bytes.
//! The block after OpenConnection's `u32 conn` is
//! `[len u32 = ciphertext+tag length][one-time public key, 65 bytes uncompressed][nonce 12][ciphertext+tag]`.
//! The caller draws the 32-byte one-time secret and the 12-byte nonce.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use serde_json::{Map, Value};
use sha2::Sha256;

use pam_error::{Error, ErrorCode, Result};
use pam_plan::wire;

/// HKDF `info` of the ConnectAs key.
pub const CONNECT_AS_INFO: &[u8] = b"KEEPER_CONNECT_AS_ECIES_SECP256R1_HKDF_SHA256";
/// The plaintext is padded with spaces to at least this many bytes.
pub const MIN_PLAINTEXT_LEN: usize = 92;
/// Uncompressed P-256 public key length.
pub const PUBLIC_KEY_LEN: usize = 65;
/// AES-GCM nonce length.
pub const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The `user` object: only the keys the gateway reads
/// ([`wire::CONNECT_AS_USER_KEYS`]); empty values are left out, as Commander
/// does. `Debug` shows the key names only.
#[derive(Clone, PartialEq)]
pub struct ConnectAsUser(Map<String, Value>);

impl fmt::Debug for ConnectAsUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ConnectAsUser")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ConnectAsUser {
    /// From a JSON object such as `{ username, password }`. Unknown keys and
    /// values other than strings (or a number for `port`) are `INVALID_INPUT`
    /// naming the key, never the value.
    pub fn from_json(v: &Value) -> Result<Self> {
        let Some(obj) = v.as_object() else {
            return Err(Error::invalid_input(
                "the ConnectAs user must be an object such as { username, password }",
            ));
        };
        let mut out = Map::new();
        for (k, val) in obj {
            if !wire::CONNECT_AS_USER_KEYS.contains(&k.as_str()) {
                return Err(Error::invalid_input(format!(
                    "the ConnectAs user has an unknown key {:?}; the gateway reads {}",
                    k.chars().take(40).collect::<String>(),
                    wire::CONNECT_AS_USER_KEYS.join(", ")
                )));
            }
            match val {
                Value::Null => {}
                Value::String(s) if s.is_empty() => {}
                Value::String(_) => {
                    out.insert(k.clone(), val.clone());
                }
                Value::Number(_) if k == "port" => {
                    out.insert(k.clone(), val.clone());
                }
                _ => {
                    return Err(Error::invalid_input(format!(
                        "the ConnectAs user's {k} must be a string"
                    )))
                }
            }
        }
        Ok(Self(out))
    }

    /// The padded plaintext: `{"user": {...}}` plus spaces up to 92 bytes.
    pub fn plaintext(&self) -> Vec<u8> {
        let mut text = wire::connect_as_json(self.0.clone())
            .to_string()
            .into_bytes();
        if text.len() < MIN_PLAINTEXT_LEN {
            text.resize(MIN_PLAINTEXT_LEN, b' ');
        }
        text
    }
}

/// A P-256 public key from SEC1 bytes (65 uncompressed or 33 compressed).
pub fn parse_public_key(bytes: &[u8]) -> Result<PublicKey> {
    PublicKey::from_sec1_bytes(bytes).map_err(|_| {
        Error::invalid_input(format!(
            "the gateway public key must be a P-256 point (65 bytes uncompressed or 33 compressed), got {} bytes that are not one",
            bytes.len()
        ))
    })
}

fn secret_key(bytes: &[u8; 32], what: &str) -> Result<SecretKey> {
    SecretKey::from_slice(bytes).map_err(|_| {
        Error::invalid_input(format!(
            "the {what} is not a valid P-256 secret (zero or above the group order): draw 32 new random bytes"
        ))
    })
}

fn derive_key(secret: &SecretKey, peer: &PublicKey) -> Result<Aes256Gcm> {
    let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
    let mut okm = [0u8; 32];
    Hkdf::<Sha256>::new(None, shared.raw_secret_bytes().as_slice())
        .expand(CONNECT_AS_INFO, &mut okm)
        .map_err(|_| Error::invalid_input("HKDF cannot produce a 32-byte key"))?;
    Ok(Aes256Gcm::new(&okm.into()))
}

/// The one-time public key (65 bytes uncompressed) of a 32-byte secret.
pub fn public_key_of(secret: &[u8; 32]) -> Result<[u8; PUBLIC_KEY_LEN]> {
    let point = secret_key(secret, "secret")?
        .public_key()
        .to_encoded_point(false);
    <[u8; PUBLIC_KEY_LEN]>::try_from(point.as_bytes())
        .map_err(|_| Error::invalid_input("unexpected P-256 point encoding"))
}

/// The ConnectAs block for OpenConnection.
pub fn seal(
    user: &ConnectAsUser,
    gateway_public_key: &[u8],
    one_time_secret: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>> {
    let gateway = parse_public_key(gateway_public_key)?;
    let secret = secret_key(one_time_secret, "one-time ConnectAs secret")?;
    let ct = derive_key(&secret, &gateway)?
        .encrypt(Nonce::from_slice(nonce), user.plaintext().as_slice())
        .map_err(|_| Error::invalid_input("the ConnectAs user is too large to encrypt"))?;
    let len = u32::try_from(ct.len())
        .map_err(|_| Error::invalid_input("the ConnectAs user is too large to encrypt"))?;
    let point = secret.public_key().to_encoded_point(false);
    let mut out = Vec::with_capacity(4 + PUBLIC_KEY_LEN + NONCE_LEN + ct.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(point.as_bytes());
    out.extend_from_slice(nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// The gateway's side: the plaintext (still padded) of a ConnectAs block.
/// Tests and local stand-ins use it; `TUNNEL_DECRYPT_FAILED` on any fault.
pub fn open(block: &[u8], gateway_secret: &[u8; 32]) -> Result<Vec<u8>> {
    let fail = |why: &str| {
        Error::new(
            ErrorCode::TunnelDecryptFailed,
            format!("the ConnectAs block cannot be opened: {why}"),
        )
    };
    let len = block
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(|b| u32::from_be_bytes(b) as usize)
        .ok_or_else(|| fail("it is shorter than its length field"))?;
    let body = block.get(4..).unwrap_or_default();
    if len < TAG_LEN || body.len() < PUBLIC_KEY_LEN + NONCE_LEN + len {
        return Err(fail("it is shorter than its declared length"));
    }
    let peer = body
        .get(..PUBLIC_KEY_LEN)
        .and_then(|b| PublicKey::from_sec1_bytes(b).ok())
        .ok_or_else(|| fail("the one-time public key is not a P-256 point"))?;
    let nonce = body
        .get(PUBLIC_KEY_LEN..PUBLIC_KEY_LEN + NONCE_LEN)
        .ok_or_else(|| fail("the nonce is missing"))?;
    let ct = body
        .get(PUBLIC_KEY_LEN + NONCE_LEN..PUBLIC_KEY_LEN + NONCE_LEN + len)
        .ok_or_else(|| fail("the ciphertext is missing"))?;
    let secret = secret_key(gateway_secret, "gateway secret")?;
    derive_key(&secret, &peer)?
        .decrypt(Nonce::from_slice(nonce), ct)
        .map_err(|_| fail("authentication failed (another gateway key, or corrupted)"))
}
