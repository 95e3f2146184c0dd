//! pam-launch-wasm: start a Keeper PAM session from the browser with
//! just-in-time (JIT) access.
//!
//! - [`core`]: the sans-I/O core (JIT settings, DAG edge decoding, launch
//!   plan, the gateway wire contract). Plain Rust, tested natively.
//! - `web` (wasm32 only): the thin binding of the core to JavaScript.
//!
//! See `ARCHITECTURE.md` for the code map and the invariants.

#![forbid(unsafe_code)]

pub mod core;

#[cfg(target_arch = "wasm32")]
pub mod web;

pub use crate::core::error::{Error, ErrorCode, Result};
