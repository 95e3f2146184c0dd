//! The sans-I/O core: plain Rust, no `web-sys`, no `js-sys`, no I/O, no clock,
//! no randomness. Everything here is tested natively (`cargo test`), by
//! property tests and by fuzzing; the web layer only converts values.

pub mod api;
pub mod dag;
pub mod error;
pub mod guac;
pub mod jit;
pub mod plan;
pub mod record;
pub mod tunnel;
pub mod wire;
