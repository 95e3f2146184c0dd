//! The Apache Guacamole protocol, sans I/O: the streaming parser, the encoder,
//! the client state machine, drawing operations, status codes, and recording
//! summaries.

pub mod audio;
pub mod client;
pub mod display;
pub mod encoder;
pub mod keyboard;
pub mod limits;
pub mod parser;
pub mod recording;
pub mod status;

pub use client::{Client, Config, Event, State};
pub use display::DisplayOp;
pub use encoder::Encoder;
pub use parser::{Instruction, Limits, ParseError, Parser};
