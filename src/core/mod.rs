//! The sans-I/O core: plain Rust, no `web-sys`, no `js-sys`, no I/O, no clock,
//! no randomness. Everything here is tested natively (`cargo test`), by
//! property tests and by fuzzing; the web layer only converts values.
//!
//! The core lives in the workspace crates under `crates/` (tiered as
//! `pam-error` <- `pam-plan`, `pam-guac` <- `pam-tunnel`, so each can have its
//! own release opt-level); this module re-exports them under the paths the
//! rest of the code uses (`crate::core::guac`, `pam_launch_wasm::core::wire`,
//! ...) and keeps [`api`], which joins them for the web layer.

pub mod api;
pub use pam_error as error;
pub use pam_guac as guac;
pub use pam_plan::{dag, jit, plan, record, wire};
pub use pam_tunnel as tunnel;
