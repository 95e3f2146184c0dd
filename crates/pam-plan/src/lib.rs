//! The launch plan tier of the sans-I/O core: JIT settings ([`jit`]), DAG
//! edge decoding ([`dag`]), the typed PAM record ([`record`]), the launch
//! plan ([`plan`]) and the gateway wire contract ([`wire`], the one place the
//! gateway's key names are spelled). Depends on [`pam_error`] only.

/// The core's typed errors, under the path the modules of this tier use.
pub use pam_error as error;

pub mod dag;
pub mod jit;
pub mod plan;
pub mod record;
pub mod wire;
