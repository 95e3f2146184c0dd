//! The WebRTC launch through the Keeper Gateway, sans I/O (issue 6).
//!
//! What the browser side of a launch computes, decides and parses, with every
//! byte of randomness and every clock reading passed in by the caller:
//!
//! - [`crypto`]: the tunnel key (HKDF-SHA256 over the record's
//!   `trafficEncryptionSeed`), `tunnel_encrypt` / `tunnel_decrypt`, and the
//!   conversation id in its three spellings.
//! - [`offer`]: the SDP touch-up (`a=max-message-size`) and the offer data object.
//! - [`conversation`]: one launch's signaling context, which builds the
//!   GatewayAction for `start`, `icecandidate`, `ice_restart_offer` and
//!   `ice_restart_answer`, and reads the router's replies through [`router`].
//! - [`router`]: every form of answer, candidate, acknowledgement and refusal.
//! - [`frame`]: the data-channel frame codec and its streaming decoder.
//! - [`control`]: control messages on connection 0 and the close reasons.
//! - [`connect_as`]: the ECIES (P-256) block that carries user-supplied credentials.
//! - [`state`]: the connection state machine with its timeouts and the local
//!   ICE candidate rule.
//!
//! Facts: `docs/gateway-wire.md`, `docs/tube-framing.md` and
//! `docs/keeper-gateway-peer.md`; key names live in [`pam_plan::wire`].

pub mod connect_as;
pub mod control;
pub mod conversation;
pub mod crypto;
pub mod frame;
pub mod offer;
pub mod router;
pub mod state;

pub use control::{CloseReason, ControlMessage};
pub use conversation::{Conversation, GatewayRequest};
pub use crypto::{ConversationId, TunnelKey};
pub use frame::{Frame, FrameDecoder};
pub use router::RouterEvent;
pub use state::{
    Action, Close, CloseSource, GuacStatus, Input, Machine, PeerState, Phase, RttSample, Status,
    Timeouts,
};
