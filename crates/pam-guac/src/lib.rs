//! The Apache Guacamole protocol, sans I/O: the streaming parser, the encoder,
//! the client state machine, drawing operations, status codes, and recording
//! summaries.

pub mod audio;
pub mod client;
pub mod display;
pub mod encoder;
pub mod keyboard;
pub mod limits;
/// The streaming parser: its own crate (`crates/pam-guac-parser`) so that the
/// release profile can build it at opt-level 3 and the rest of this tier at "z".
pub use pam_guac_parser as parser;
pub mod recording;
pub mod status;

pub use client::{Client, Config, Event, State};
pub use display::DisplayOp;
pub use encoder::Encoder;
pub use parser::{Instruction, Limits, ParseError, Parser};
