//! Control messages on connection 0: payload = `u16 code || data`, big-endian.
//!
//! | code | message | data |
//! |---|---|---|
//! | 1 | Ping | `u32 conn` + optional opaque bytes |
//! | 2 | Pong | the Ping's data echoed; an empty Ping gets `00000000` |
//! | 101 | OpenConnection | `u32 conn` [+ ConnectAs block, see [`super::connect_as`]] |
//! | 102 | CloseConnection | `u32 conn`, `u8 reason` [, `u16 len`, UTF-8 message] |
//! | 103 | ConnectionOpened | `u32 conn` |
//! | 104 | SendEOF | `u32 conn` |
//! | 301-303 | Metrics | not used by the client |

use pam_error::{Error, ErrorCode, Result};

pub const PING: u16 = 1;
pub const PONG: u16 = 2;
pub const OPEN_CONNECTION: u16 = 101;
pub const CLOSE_CONNECTION: u16 = 102;
pub const CONNECTION_OPENED: u16 = 103;
pub const SEND_EOF: u16 = 104;

/// A control message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlMessage {
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// `connect_as` is the whole ConnectAs block (`len u32 | pubkey 65 | nonce 12 | ct+tag`).
    OpenConnection {
        conn: u32,
        connect_as: Option<Vec<u8>>,
    },
    CloseConnection {
        conn: u32,
        reason: CloseReason,
        message: Option<String>,
    },
    ConnectionOpened {
        conn: u32,
    },
    SendEof {
        conn: u32,
    },
    /// Metrics (301-303) and codes this client does not know: ignored.
    Other {
        code: u16,
        data: Vec<u8>,
    },
}

impl ControlMessage {
    /// The Pong that answers a Ping with `data`.
    pub fn pong_for(data: &[u8]) -> Self {
        if data.is_empty() {
            ControlMessage::Pong(0u32.to_be_bytes().to_vec())
        } else {
            ControlMessage::Pong(data.to_vec())
        }
    }

    pub fn code(&self) -> u16 {
        match self {
            ControlMessage::Ping(_) => PING,
            ControlMessage::Pong(_) => PONG,
            ControlMessage::OpenConnection { .. } => OPEN_CONNECTION,
            ControlMessage::CloseConnection { .. } => CLOSE_CONNECTION,
            ControlMessage::ConnectionOpened { .. } => CONNECTION_OPENED,
            ControlMessage::SendEof { .. } => SEND_EOF,
            ControlMessage::Other { code, .. } => *code,
        }
    }

    /// The payload of the control frame (`u16 code || data`). A close message
    /// longer than 65535 bytes is cut at a character boundary.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.code().to_be_bytes().to_vec();
        match self {
            ControlMessage::Ping(d)
            | ControlMessage::Pong(d)
            | ControlMessage::Other { data: d, .. } => out.extend_from_slice(d),
            ControlMessage::OpenConnection { conn, connect_as } => {
                out.extend_from_slice(&conn.to_be_bytes());
                if let Some(block) = connect_as {
                    out.extend_from_slice(block);
                }
            }
            ControlMessage::CloseConnection {
                conn,
                reason,
                message,
            } => {
                out.extend_from_slice(&conn.to_be_bytes());
                out.push(reason.code());
                if let Some(m) = message {
                    let mut end = m.len().min(u16::MAX as usize);
                    while !m.is_char_boundary(end) {
                        end -= 1;
                    }
                    let text = m.get(..end).unwrap_or_default().as_bytes();
                    out.extend_from_slice(&(text.len() as u16).to_be_bytes());
                    out.extend_from_slice(text);
                }
            }
            ControlMessage::ConnectionOpened { conn } | ControlMessage::SendEof { conn } => {
                out.extend_from_slice(&conn.to_be_bytes())
            }
        }
        out
    }

    /// Parses a control frame's payload. Extra trailing bytes are ignored; a
    /// payload too short for its message is `MALFORMED_FRAME`. A close
    /// message whose length runs past the payload keeps what is there.
    pub fn decode(payload: &[u8]) -> Result<Self> {
        let short = |what: &str| {
            Error::new(
                ErrorCode::MalformedFrame,
                format!("a {what} control message from the gateway is truncated"),
            )
        };
        let (code, data) = match payload {
            [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
            _ => return Err(short("control")),
        };
        let conn_of = |what: &str| {
            data.get(..4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_be_bytes)
                .ok_or_else(|| short(what))
        };
        Ok(match code {
            PING => ControlMessage::Ping(data.to_vec()),
            PONG => ControlMessage::Pong(data.to_vec()),
            OPEN_CONNECTION => ControlMessage::OpenConnection {
                conn: conn_of("OpenConnection")?,
                connect_as: data.get(4..).filter(|b| !b.is_empty()).map(<[u8]>::to_vec),
            },
            CLOSE_CONNECTION => {
                let conn = conn_of("CloseConnection")?;
                let reason = data
                    .get(4)
                    .copied()
                    .ok_or_else(|| short("CloseConnection"))?;
                let message = match data.get(5..7) {
                    Some(&[hi, lo]) => {
                        let len = u16::from_be_bytes([hi, lo]) as usize;
                        let rest = data.get(7..).unwrap_or_default();
                        let text = rest.get(..len).unwrap_or(rest);
                        Some(String::from_utf8_lossy(text).into_owned())
                    }
                    _ => None,
                };
                ControlMessage::CloseConnection {
                    conn,
                    reason: CloseReason::from_code(reason),
                    message,
                }
            }
            CONNECTION_OPENED => ControlMessage::ConnectionOpened {
                conn: conn_of("ConnectionOpened")?,
            },
            SEND_EOF => ControlMessage::SendEof {
                conn: conn_of("SendEOF")?,
            },
            other => ControlMessage::Other {
                code: other,
                data: data.to_vec(),
            },
        })
    }
}

/// Why a connection closed (`PyCloseConnectionReason` of Keeper's library).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    Normal,
    Error,
    Timeout,
    ServerRefuse,
    Client,
    Unknown,
    InvalidInstruction,
    GuacdRefuse,
    ConnectionLost,
    ConnectionFailed,
    TunnelClosed,
    AdminClosed,
    ErrorRecording,
    GuacdError,
    AiClosed,
    AddressResolutionFailed,
    DecryptionFailed,
    ConfigurationError,
    ProtocolError,
    UpstreamClosed,
    /// A code this client does not know (3 is unused by the library).
    Other(u8),
}

impl CloseReason {
    /// Every named reason, in code order.
    pub const ALL: [CloseReason; 20] = [
        CloseReason::Normal,
        CloseReason::Error,
        CloseReason::Timeout,
        CloseReason::ServerRefuse,
        CloseReason::Client,
        CloseReason::Unknown,
        CloseReason::InvalidInstruction,
        CloseReason::GuacdRefuse,
        CloseReason::ConnectionLost,
        CloseReason::ConnectionFailed,
        CloseReason::TunnelClosed,
        CloseReason::AdminClosed,
        CloseReason::ErrorRecording,
        CloseReason::GuacdError,
        CloseReason::AiClosed,
        CloseReason::AddressResolutionFailed,
        CloseReason::DecryptionFailed,
        CloseReason::ConfigurationError,
        CloseReason::ProtocolError,
        CloseReason::UpstreamClosed,
    ];

    pub fn from_code(code: u8) -> Self {
        Self::ALL
            .iter()
            .copied()
            .find(|r| r.code() == code)
            .unwrap_or(CloseReason::Other(code))
    }

    pub const fn code(self) -> u8 {
        match self {
            CloseReason::Normal => 0,
            CloseReason::Error => 1,
            CloseReason::Timeout => 2,
            CloseReason::ServerRefuse => 4,
            CloseReason::Client => 5,
            CloseReason::Unknown => 6,
            CloseReason::InvalidInstruction => 7,
            CloseReason::GuacdRefuse => 8,
            CloseReason::ConnectionLost => 9,
            CloseReason::ConnectionFailed => 10,
            CloseReason::TunnelClosed => 11,
            CloseReason::AdminClosed => 12,
            CloseReason::ErrorRecording => 13,
            CloseReason::GuacdError => 14,
            CloseReason::AiClosed => 15,
            CloseReason::AddressResolutionFailed => 16,
            CloseReason::DecryptionFailed => 17,
            CloseReason::ConfigurationError => 18,
            CloseReason::ProtocolError => 19,
            CloseReason::UpstreamClosed => 20,
            CloseReason::Other(c) => c,
        }
    }

    /// The library's name of the reason (`"Other"` for unknown codes).
    pub const fn name(self) -> &'static str {
        match self {
            CloseReason::Normal => "Normal",
            CloseReason::Error => "Error",
            CloseReason::Timeout => "Timeout",
            CloseReason::ServerRefuse => "ServerRefuse",
            CloseReason::Client => "Client",
            CloseReason::Unknown => "Unknown",
            CloseReason::InvalidInstruction => "InvalidInstruction",
            CloseReason::GuacdRefuse => "GuacdRefuse",
            CloseReason::ConnectionLost => "ConnectionLost",
            CloseReason::ConnectionFailed => "ConnectionFailed",
            CloseReason::TunnelClosed => "TunnelClosed",
            CloseReason::AdminClosed => "AdminClosed",
            CloseReason::ErrorRecording => "ErrorRecording",
            CloseReason::GuacdError => "GuacdError",
            CloseReason::AiClosed => "AIClosed",
            CloseReason::AddressResolutionFailed => "AddressResolutionFailed",
            CloseReason::DecryptionFailed => "DecryptionFailed",
            CloseReason::ConfigurationError => "ConfigurationError",
            CloseReason::ProtocolError => "ProtocolError",
            CloseReason::UpstreamClosed => "UpstreamClosed",
            CloseReason::Other(_) => "Other",
        }
    }

    /// The reason's name in JS status objects (`closeReason.name`): the
    /// library's name in camelCase (`"aiClosed"`, `"other"` for unknown codes).
    pub const fn js_name(self) -> &'static str {
        match self {
            CloseReason::Normal => "normal",
            CloseReason::Error => "error",
            CloseReason::Timeout => "timeout",
            CloseReason::ServerRefuse => "serverRefuse",
            CloseReason::Client => "client",
            CloseReason::Unknown => "unknown",
            CloseReason::InvalidInstruction => "invalidInstruction",
            CloseReason::GuacdRefuse => "guacdRefuse",
            CloseReason::ConnectionLost => "connectionLost",
            CloseReason::ConnectionFailed => "connectionFailed",
            CloseReason::TunnelClosed => "tunnelClosed",
            CloseReason::AdminClosed => "adminClosed",
            CloseReason::ErrorRecording => "errorRecording",
            CloseReason::GuacdError => "guacdError",
            CloseReason::AiClosed => "aiClosed",
            CloseReason::AddressResolutionFailed => "addressResolutionFailed",
            CloseReason::DecryptionFailed => "decryptionFailed",
            CloseReason::ConfigurationError => "configurationError",
            CloseReason::ProtocolError => "protocolError",
            CloseReason::UpstreamClosed => "upstreamClosed",
            CloseReason::Other(_) => "other",
        }
    }

    /// Whether launching again can be expected to fix an end with this
    /// reason (the page may reconnect on its own): the path to the gateway
    /// or the target broke, or something took too long. Not for ends that
    /// someone or a policy decided (normal, client, adminClosed, aiClosed),
    /// refusals, configuration and credential problems, protocol errors and
    /// codes this client does not know. The one table; `docs/close-reasons.md`
    /// says the same for people.
    pub const fn is_transient(self) -> bool {
        match self {
            CloseReason::Timeout
            | CloseReason::ConnectionLost
            | CloseReason::ConnectionFailed
            | CloseReason::TunnelClosed
            | CloseReason::UpstreamClosed => true,
            CloseReason::Normal
            | CloseReason::Error
            | CloseReason::ServerRefuse
            | CloseReason::Client
            | CloseReason::Unknown
            | CloseReason::InvalidInstruction
            | CloseReason::GuacdRefuse
            | CloseReason::AdminClosed
            | CloseReason::ErrorRecording
            | CloseReason::GuacdError
            | CloseReason::AiClosed
            | CloseReason::AddressResolutionFailed
            | CloseReason::DecryptionFailed
            | CloseReason::ConfigurationError
            | CloseReason::ProtocolError
            | CloseReason::Other(_) => false,
        }
    }

    /// What a person reads about this reason, without the gateway's own message.
    pub const fn description(self) -> &'static str {
        match self {
            CloseReason::Normal => "the session ended",
            CloseReason::Error => "the gateway closed the session because of an error",
            CloseReason::Timeout => "the session timed out",
            CloseReason::ServerRefuse => "the gateway refused the connection",
            CloseReason::Client => "the session was closed from this side",
            CloseReason::Unknown => "the session closed for an unknown reason",
            CloseReason::InvalidInstruction => {
                "the gateway received an instruction it does not accept and closed the session"
            }
            CloseReason::GuacdRefuse => {
                "the gateway's remote-desktop service (guacd) refused the connection: check the resource's protocol settings and credentials"
            }
            CloseReason::ConnectionLost => "the connection to the target was lost",
            CloseReason::ConnectionFailed => {
                "the gateway could not connect to the target: check the host, port and credentials of the resource, and that the gateway can reach it"
            }
            CloseReason::TunnelClosed => "the tunnel to the gateway was closed",
            CloseReason::AdminClosed => "an administrator ended the session",
            CloseReason::ErrorRecording => {
                "the session was ended because the gateway could not record it"
            }
            CloseReason::GuacdError => "the remote session ended with an error",
            CloseReason::AiClosed => "the session was ended by Keeper's AI session monitoring",
            CloseReason::AddressResolutionFailed => {
                "the gateway could not resolve the target's host name: check the resource's hostname"
            }
            CloseReason::DecryptionFailed => {
                "the gateway could not decrypt the connection data (the supplied credentials or the offer): try launching again"
            }
            CloseReason::ConfigurationError => {
                "the gateway reported a configuration error for this resource: check its PAM settings"
            }
            CloseReason::ProtocolError => "the gateway reported a protocol error",
            CloseReason::UpstreamClosed => "the target closed the connection",
            CloseReason::Other(_) => "the gateway closed the session",
        }
    }

    /// Whether a close with this reason and message is an ordinary end (no
    /// error to show): Normal, Client, or GuacdError without a message (a
    /// normal logout).
    pub fn is_normal(self, message: Option<&str>) -> bool {
        let empty = message.is_none_or(|m| m.trim().is_empty());
        match self {
            CloseReason::Normal | CloseReason::Client => true,
            CloseReason::GuacdError => empty,
            _ => false,
        }
    }

    /// The status line for a close with the gateway's `message`.
    pub fn status_message(self, message: Option<&str>) -> String {
        let msg = message.map(str::trim).filter(|m| !m.is_empty());
        let base = match (self, msg) {
            (CloseReason::GuacdError, None) => "the session ended (logged out)",
            _ => self.description(),
        };
        let code = match self {
            CloseReason::Other(c) => format!(" (reason code {c})"),
            _ => String::new(),
        };
        match msg {
            Some(m) => format!("{base}{code}: {}", clean(m)),
            None => format!("{base}{code}"),
        }
    }
}

/// At most 300 characters, control characters replaced.
pub fn clean(m: &str) -> String {
    let mut s: String = m
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    if m.chars().count() > 300 {
        s.push('…');
    }
    s
}
