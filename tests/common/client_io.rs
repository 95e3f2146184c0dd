//! What a test reads back from the core Guacamole client: the instructions it
//! sent (re-parsed) and the events it queued. Shared by `guac_client.rs` and
//! `guac_limits.rs` (`#[path = "common/client_io.rs"] mod client_io;`).
#![allow(clippy::unwrap_used, dead_code)]

use pam_launch_wasm::core::guac::client::{Client, Event};
use pam_launch_wasm::core::guac::Parser;

/// The client's output, parsed back into instructions (a malformed one fails the test).
pub fn sent(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut p = Parser::new();
    let mut out = Vec::new();
    p.receive(bytes, |i| {
        out.push(i.elements().map(str::to_owned).collect())
    })
    .unwrap();
    p.finish().unwrap();
    out
}

/// Every event the client has queued, in order.
pub fn drain(c: &mut Client) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}
