//! Typed errors of the core.
//!
//! Every error carries a stable [`ErrorCode`] (the string JS callers switch on)
//! and a message a person can act on. Messages never quote secrets: no record
//! key, no plaintext of a decrypted edge, no credential.

use std::fmt;

pub mod num;

/// Stable error codes. The string form (`as_str`) is part of the public JS API:
/// never rename one, only add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The caller passed something of the wrong shape or value.
    InvalidInput,
    /// JIT was requested but neither the DAG nor the record has an active mode.
    JitNotConfigured,
    /// JIT was requested on a record with `allowSupplyHost`.
    JitWithSupplyHost,
    /// JIT was requested together with a credential override, host override or host record.
    JitExclusiveOption,
    /// JIT elevation needs an existing (linked) account to elevate.
    JitElevationNeedsLinkedCredential,
    /// An encrypted DAG edge could not be decrypted (wrong key, truncated, not ciphertext).
    DagDecryptFailed,
    /// DAG edge content is not valid JSON (or not UTF-8).
    DagInvalidJson,
    /// A Guacamole stream ended inside an instruction.
    IncompleteInstruction,
    /// A Guacamole instruction is malformed (bad length, terminator, UTF-8, too many elements).
    MalformedInstruction,
    /// A Guacamole instruction exceeds the size limit.
    InstructionTooLarge,
    /// A tunnel payload (offer answer, candidates, ConnectAs) failed to decrypt:
    /// wrong key, truncated, or not base64.
    TunnelDecryptFailed,
    /// A router/gateway signaling message has an unexpected shape.
    InvalidSignalingMessage,
    /// The gateway refused the launch (`is_ok: false`); the message carries its reason.
    GatewayRefused,
    /// The gateway did not answer the offer in time.
    GatewayTimeout,
    /// A later launch step (ICE, data channel, ConnectionOpened, first frame) timed out.
    TunnelTimeout,
    /// A data-channel frame is corrupt (terminator mismatch, truncated control message).
    MalformedFrame,
    /// A data-channel frame declares a payload above the size limit.
    FrameTooLarge,
    /// The gateway closed the connection with an error reason (CloseConnection).
    GatewayClosed,
    /// The WebRTC connection or its data channel was lost before the session ended.
    ConnectionLost,
    /// A resource limit that protects the page was exceeded (the server's open
    /// streams, the open frame, the outbound queue, a paste); the message names
    /// the limit and its number.
    ResourceLimit,
    /// The environment lacks a facility the chosen options need (no
    /// `RTCPeerConnection`, no `document` and no canvas given, no
    /// `requestAnimationFrame`); the message says what to pass instead.
    Unsupported,
}

impl ErrorCode {
    /// All codes, for exhaustive tests and the generated TypeScript union.
    pub const ALL: [ErrorCode; 21] = [
        ErrorCode::InvalidInput,
        ErrorCode::JitNotConfigured,
        ErrorCode::JitWithSupplyHost,
        ErrorCode::JitExclusiveOption,
        ErrorCode::JitElevationNeedsLinkedCredential,
        ErrorCode::DagDecryptFailed,
        ErrorCode::DagInvalidJson,
        ErrorCode::IncompleteInstruction,
        ErrorCode::MalformedInstruction,
        ErrorCode::InstructionTooLarge,
        ErrorCode::TunnelDecryptFailed,
        ErrorCode::InvalidSignalingMessage,
        ErrorCode::GatewayRefused,
        ErrorCode::GatewayTimeout,
        ErrorCode::TunnelTimeout,
        ErrorCode::MalformedFrame,
        ErrorCode::FrameTooLarge,
        ErrorCode::GatewayClosed,
        ErrorCode::ConnectionLost,
        ErrorCode::ResourceLimit,
        ErrorCode::Unsupported,
    ];

    /// The stable string form used as `error.code` in JS.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "INVALID_INPUT",
            ErrorCode::JitNotConfigured => "JIT_NOT_CONFIGURED",
            ErrorCode::JitWithSupplyHost => "JIT_WITH_SUPPLY_HOST",
            ErrorCode::JitExclusiveOption => "JIT_EXCLUSIVE_OPTION",
            ErrorCode::JitElevationNeedsLinkedCredential => "JIT_ELEVATION_NEEDS_LINKED_CREDENTIAL",
            ErrorCode::DagDecryptFailed => "DAG_DECRYPT_FAILED",
            ErrorCode::DagInvalidJson => "DAG_INVALID_JSON",
            ErrorCode::IncompleteInstruction => "INCOMPLETE_INSTRUCTION",
            ErrorCode::MalformedInstruction => "MALFORMED_INSTRUCTION",
            ErrorCode::InstructionTooLarge => "INSTRUCTION_TOO_LARGE",
            ErrorCode::TunnelDecryptFailed => "TUNNEL_DECRYPT_FAILED",
            ErrorCode::InvalidSignalingMessage => "INVALID_SIGNALING_MESSAGE",
            ErrorCode::GatewayRefused => "GATEWAY_REFUSED",
            ErrorCode::GatewayTimeout => "GATEWAY_TIMEOUT",
            ErrorCode::TunnelTimeout => "TUNNEL_TIMEOUT",
            ErrorCode::MalformedFrame => "MALFORMED_FRAME",
            ErrorCode::FrameTooLarge => "FRAME_TOO_LARGE",
            ErrorCode::GatewayClosed => "GATEWAY_CLOSED",
            ErrorCode::ConnectionLost => "CONNECTION_LOST",
            ErrorCode::ResourceLimit => "RESOURCE_LIMIT",
            ErrorCode::Unsupported => "UNSUPPORTED",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of the core: a code and a message (shown as `CODE: message`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    code: ErrorCode,
    message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unsupported, message)
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_distinct_upper_snake_case() {
        let set: HashSet<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(set.len(), ErrorCode::ALL.len());
        for code in set {
            assert!(
                code.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{code}"
            );
        }
    }

    #[test]
    fn display_names_code_and_message() {
        let e = Error::new(ErrorCode::JitNotConfigured, "enable JIT on the resource");
        assert_eq!(
            e.to_string(),
            "JIT_NOT_CONFIGURED: enable JIT on the resource"
        );
        assert_eq!(e.code(), ErrorCode::JitNotConfigured);
    }
}
