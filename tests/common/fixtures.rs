// The one way the Rust tests read the guacd recordings: every file lives in
// tests/fixtures/guac/ inside the repository (tests/fixtures/guac/README.md
// says what each one is). Included with `#[path = "common/fixtures.rs"] mod fixtures;`.
#![allow(dead_code, clippy::panic)]

use std::path::PathBuf;

/// The folder of the recordings, inside the repository.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/guac")
}

/// The bytes of one recording (e.g. `"ssh-live.guac"`); a missing file is a
/// test failure that names the path.
pub fn read(name: &str) -> Vec<u8> {
    let path = dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {} is missing: {e}", path.display()))
}
