//! Tunnel crypto against Node's crypto (`tests/cases/tunnel-vectors.json`,
//! made by `make-tunnel-vectors.mjs`): HKDF tunnel keys, tunnel_encrypt /
//! tunnel_decrypt in both base64 alphabets, the conversation id, and the
//! ConnectAs ECIES block (both directions).
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use pam_launch_wasm::core::error::ErrorCode;
use pam_launch_wasm::core::tunnel::connect_as::{self, ConnectAsUser};
use pam_launch_wasm::core::tunnel::crypto::{self, ConversationId, TunnelKey};
use serde_json::{json, Value};

fn vectors() -> Value {
    let text = include_str!("cases/tunnel-vectors.json");
    serde_json::from_str(text).unwrap()
}

fn hex(s: &Value) -> Vec<u8> {
    let s = s.as_str().unwrap();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn arr<const N: usize>(v: &Value) -> [u8; N] {
    hex(v).try_into().unwrap()
}

#[test]
fn hkdf_matches_node() {
    let v = vectors();
    let cases = v["hkdf"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for c in cases {
        let key = TunnelKey::derive(&hex(&c["seed"]), &arr(&c["salt"])).unwrap();
        assert_eq!(key.as_bytes().to_vec(), hex(&c["key"]), "{}", c["name"]);
    }
}

#[test]
fn encrypt_matches_node_and_decrypts_in_both_alphabets() {
    use base64::Engine as _;
    let v = vectors();
    for c in v["encrypt"].as_array().unwrap() {
        let key = TunnelKey::from_bytes(arr(&c["key"]));
        let plain = c["plaintext"].as_str().unwrap().as_bytes();
        let text = crypto::tunnel_encrypt(&key, &arr(&c["nonce"]), plain).unwrap();
        assert_eq!(text, c["text"].as_str().unwrap(), "{}", c["name"]);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&text)
            .unwrap();
        for form in [
            text.clone(),
            text.trim_end_matches('=').to_owned(),
            base64::engine::general_purpose::URL_SAFE.encode(&raw),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw),
            format!("  {text}\n"),
        ] {
            assert_eq!(
                crypto::tunnel_decrypt(&key, &form).unwrap(),
                plain,
                "{form}"
            );
        }
    }
}

#[test]
fn decrypt_failures_are_typed_and_quote_nothing() {
    let key = TunnelKey::from_bytes([1; 32]);
    let other = TunnelKey::from_bytes([2; 32]);
    let secret = "the password is hunter2";
    let text = key.encrypt(&[3; 12], secret.as_bytes()).unwrap();
    let raw = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&text)
            .unwrap()
    };
    let mut flipped = raw.clone();
    flipped[14] ^= 1;
    let cases: Vec<(&str, String)> = vec![
        ("wrong key", text.clone()),
        ("truncated to 27 bytes", crypto::base64_std(&raw[..27])),
        ("tag cut", crypto::base64_std(&raw[..raw.len() - 1])),
        ("bit flipped", crypto::base64_std(&flipped)),
        ("not base64", "not base64 at all!".into()),
        ("empty", String::new()),
    ];
    for (name, t) in cases {
        let k = if name == "wrong key" { &other } else { &key };
        let e = crypto::tunnel_decrypt(k, &t).unwrap_err();
        assert_eq!(e.code(), ErrorCode::TunnelDecryptFailed, "{name}");
        let shown = format!("{e} {e:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains(&t) || t.is_empty(),
            "{name}: {shown}"
        );
    }
    assert!(!format!("{key:?}").contains("1, 1"));
}

#[test]
fn conversation_id_forms() {
    let v = vectors();
    let l = &v["launch"];
    let id = ConversationId::from_bytes(arr(&l["conversation_id_bytes"]));
    assert_eq!(id.id(), l["conversation_id"].as_str().unwrap());
    assert_eq!(id.id().len(), 22);
    assert_eq!(id.channel_label(), l["channel_label"].as_str().unwrap());
    assert_eq!(id.channel_label().len(), 24);
    assert_eq!(id.message_id(), id.id());
    assert_eq!(crypto::message_id_of("ab+c/d=="), "ab-c_d");
    assert!(id.matches(&id.channel_label()));
    assert!(id.matches(id.channel_label().trim_end_matches('=')));
    assert!(!ConversationId::from_bytes([0; 16]).matches(&id.id()));
    for bytes in [[0u8; 16], [0xff; 16], [0xfb; 16], [0x3e; 16]] {
        let c = ConversationId::from_bytes(bytes);
        assert!(c
            .id()
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'));
        assert_eq!(ConversationId::parse(&c.id()).unwrap(), c);
        assert_eq!(ConversationId::parse(&c.channel_label()).unwrap(), c);
        assert!(crypto::same_id(&c.id(), &c.channel_label()));
    }
}

#[test]
fn connect_as_matches_node() {
    let v = vectors();
    let e = &v["ecies"];
    let gw_pub = hex(&e["gateway_public_key"]);
    let gw_pub_c = hex(&e["gateway_public_key_compressed"]);
    let gw_secret: [u8; 32] = arr(&e["gateway_private_key"]);
    let cases = e["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for c in cases {
        let user = ConnectAsUser::from_json(&c["user"]).unwrap();
        let plain = user.plaintext();
        assert_eq!(
            String::from_utf8(plain.clone()).unwrap(),
            c["plaintext"].as_str().unwrap()
        );
        assert!(plain.len() >= connect_as::MIN_PLAINTEXT_LEN);
        let secret: [u8; 32] = arr(&c["secret"]);
        assert_eq!(
            connect_as::public_key_of(&secret).unwrap().to_vec(),
            hex(&c["public_key"])
        );
        for key in [&gw_pub, &gw_pub_c] {
            let block = connect_as::seal(&user, key, &secret, &arr(&c["nonce"])).unwrap();
            assert_eq!(block, hex(&c["block"]), "{}", c["name"]);
        }
        // Gateway side: Node's block opens with the gateway's private key.
        let opened = connect_as::open(&hex(&c["block"]), &gw_secret).unwrap();
        assert_eq!(opened, plain);
        let parsed: Value = serde_json::from_slice(&opened).unwrap();
        assert_eq!(parsed, json!({ "user": c["user"] }));
        // Layout: len = ciphertext + tag.
        let block = hex(&c["block"]);
        let len = u32::from_be_bytes(block[..4].try_into().unwrap()) as usize;
        assert_eq!(len, plain.len() + 16);
        assert_eq!(block.len(), 4 + 65 + 12 + len);
        assert_eq!(block[4], 0x04);
    }
}

#[test]
fn connect_as_failures() {
    let v = vectors();
    let e = &v["ecies"];
    let block = hex(&e["cases"][0]["block"]);
    let wrong = [9u8; 32];
    let err = connect_as::open(&block, &wrong).unwrap_err();
    assert_eq!(err.code(), ErrorCode::TunnelDecryptFailed);
    for cut in [0, 3, 4, 60, 80, block.len() - 1] {
        let err = connect_as::open(&block[..cut], &arr(&e["gateway_private_key"])).unwrap_err();
        assert_eq!(err.code(), ErrorCode::TunnelDecryptFailed, "cut at {cut}");
    }
    let user =
        ConnectAsUser::from_json(&json!({"username": "u", "password": "s3cret-pw"})).unwrap();
    assert!(!format!("{user:?}").contains("s3cret"));
    let gw = hex(&e["gateway_public_key"]);
    // Zero and the group order are not secrets.
    let order = hex(&json!(
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"
    ));
    for bad in [[0u8; 32], order.try_into().unwrap()] {
        let err = connect_as::seal(&user, &gw, &bad, &[0; 12]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
    }
    for bad_key in [vec![], vec![4u8; 65], gw[..64].to_vec()] {
        let err = connect_as::seal(&user, &bad_key, &[7; 32], &[0; 12]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
    }
    let err = ConnectAsUser::from_json(&json!({"username": "u", "secret_sauce": "x"})).unwrap_err();
    assert!(err.message().contains("secret_sauce") && err.message().contains("username"));
    assert!(ConnectAsUser::from_json(&json!({"password": 5})).is_err());
    assert!(ConnectAsUser::from_json(&json!(["u"])).is_err());
    // Empty values are left out, as Commander does.
    let u = ConnectAsUser::from_json(
        &json!({"username": "u", "password": "", "passphrase": null, "port": 22}),
    )
    .unwrap();
    let text = String::from_utf8(u.plaintext()).unwrap();
    assert_eq!(text.trim_end(), r#"{"user":{"username":"u","port":22}}"#);
}
