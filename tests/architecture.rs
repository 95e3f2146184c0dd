//! Architectural invariants from ARCHITECTURE.md that a test can check.
#![cfg(not(target_arch = "wasm32"))]

use std::fs;
use std::path::Path;

fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(sources(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push((
                p.display().to_string(),
                fs::read_to_string(&p).unwrap_or_default(),
            ));
        }
    }
    out
}

#[test]
fn core_names_no_browser_crate() {
    let files = sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core"));
    assert!(files.len() >= 6, "src/core not found");
    for (path, text) in files {
        for banned in [
            "wasm_bindgen",
            "js_sys",
            "web_sys",
            "std::net",
            "std::fs",
            "std::time",
            "println!",
        ] {
            assert!(
                !text.contains(banned),
                "{path} uses {banned}: the core is sans-I/O"
            );
        }
    }
}

/// (`credentialType` is left out: the plan object returned to JS has a field of that name too.)
#[test]
fn gateway_keys_are_spelled_only_in_wire_rs() {
    let files = sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    for key in [
        "\"jitSettings\"",
        "\"jitElevation\"",
        "\"userRecordUid\"",
        "\"trickleICE\"",
        "\"allowSupplyUser\".into()",
    ] {
        let users: Vec<_> = files
            .iter()
            .filter(|(_, t)| t.contains(key))
            .map(|(p, _)| p.rsplit("src/").next().unwrap_or_default().to_string())
            .collect();
        // The web layer's TypeScript text documents the shape; only wire.rs builds it.
        let builders: Vec<_> = users.iter().filter(|p| !p.starts_with("web/")).collect();
        assert_eq!(
            builders,
            vec![&"core/wire.rs".to_string()],
            "{key} is spelled outside core/wire.rs"
        );
    }
}
