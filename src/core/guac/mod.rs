//! The Apache Guacamole protocol, sans I/O: the streaming parser, the encoder,
//! status codes, and recording summaries.

pub mod encoder;
pub mod parser;
pub mod recording;
pub mod status;

pub use encoder::Encoder;
pub use parser::{Instruction, Limits, ParseError, Parser};
