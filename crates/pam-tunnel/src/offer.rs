//! The offer: the SDP touch-up and the offer data object.
//!
//! The offer data is the JSON the gateway decrypts from `inputs.data` of the
//! `start` message (see [`pam_plan::wire::offer_data_json`] for the keys):
//! the SDP as base64, the media types the client takes, the display size, the
//! target host, guacd parameters and the clipboard policy.

use serde_json::Value;

use super::crypto::base64_std;
use pam_error::{Error, Result};
use pam_plan::record::{ClipboardPolicy, TargetHost};
use pam_plan::wire::{self, OfferDataFields};

/// The web vault's `a=max-message-size` value, as Keeper Commander copies it
/// (`MAX_MESSAGE_SIZE_LINE = "a=max-message-size:1073741823"` in
/// `pam_launch/terminal_connection.py`, "to match Web Vault behavior"; see
/// `docs/gateway-wire.md` §3).
pub const WEB_VAULT_MAX_MESSAGE_SIZE: u64 = 1_073_741_823;

const MMS_PREFIX: &str = "a=max-message-size:";

/// Adds `a=max-message-size:1073741823` to each data-channel media section
/// that has none: right after its `a=sctp-port:` line, else right after its
/// `m=application` line (Commander's order). With no `m=application` section
/// at all the line is appended. The SDP's own line ending (CRLF or LF) is kept.
///
/// Unlike Commander, a section that already carries a `max-message-size`
/// (browsers write their own, e.g. Chromium's 262144) keeps it: that is what
/// this browser can receive, and advertising more would let the gateway send
/// messages the browser rejects.
pub fn ensure_max_message_size(sdp: &str) -> String {
    let newline = if sdp.contains("\r\n") { "\r\n" } else { "\n" };
    let line = format!("{MMS_PREFIX}{WEB_VAULT_MAX_MESSAGE_SIZE}");
    let lines: Vec<&str> = sdp.split(newline).collect();
    // Media sections: [start, end) line ranges, each starting at an `m=` line.
    let starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("m="))
        .map(|(i, _)| i)
        .collect();
    let mut insert_after: Vec<usize> = Vec::new();
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(lines.len());
        let section = lines.get(start..end).unwrap_or_default();
        let is_app = section
            .first()
            .is_some_and(|l| l.to_ascii_lowercase().starts_with("m=application"));
        let has_mms = section.iter().any(|l| is_attr(l, MMS_PREFIX));
        if !is_app || has_mms {
            continue;
        }
        let at = section
            .iter()
            .position(|l| is_attr(l, "a=sctp-port:"))
            .unwrap_or(0);
        insert_after.push(start + at);
    }
    if starts.is_empty() && !lines.iter().any(|l| is_attr(l, MMS_PREFIX)) {
        let mut out = sdp.to_owned();
        if !out.is_empty() && !out.ends_with(newline) {
            out.push_str(newline);
        }
        out.push_str(&line);
        out.push_str(newline);
        return out;
    }
    if insert_after.is_empty() {
        return sdp.to_owned();
    }
    let mut out: Vec<&str> = Vec::with_capacity(lines.len() + insert_after.len());
    for (i, l) in lines.iter().enumerate() {
        out.push(l);
        if insert_after.contains(&i) {
            out.push(&line);
        }
    }
    out.join(newline)
}

fn is_attr(line: &str, prefix: &str) -> bool {
    line.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// `a=max-message-size` of an SDP (the first one), if present and numeric.
/// RFC 8841: absent means 65536; 0 means "no limit".
pub fn max_message_size(sdp: &str) -> Option<u64> {
    sdp.lines()
        .map(str::trim)
        .find(|l| is_attr(l, MMS_PREFIX))
        .and_then(|l| l.get(MMS_PREFIX.len()..))
        .and_then(|v| v.trim().parse().ok())
}

/// The display size of the offer, `[width, height, dpi]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenSize {
    pub width: u32,
    pub height: u32,
    pub dpi: u32,
}

/// Everything the offer data says besides the SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferParams {
    pub size: ScreenSize,
    /// The target; its missing port is filled from [`default_port`].
    pub host: TargetHost,
    pub clipboard: ClipboardPolicy,
    /// `guacd_params["enable-pipe"] = "true"`, as Commander sends for its
    /// terminal mode. A canvas client probably does not want it
    /// (`docs/gateway-wire.md` §3); the web layer decides.
    pub enable_pipe: bool,
}

/// The usual port of a `conversationType`, used when the record gives none.
pub fn default_port(conversation_type: &str) -> Option<u16> {
    Some(match conversation_type {
        "ssh" => 22,
        "telnet" => 23,
        "rdp" => 3389,
        "vnc" => 5900,
        "kubernetes" => 443,
        "mysql" | "mariadb" => 3306,
        "postgresql" => 5432,
        "sql-server" => 1433,
        "oracle" => 1521,
        "mongodb" => 27017,
        "redis" => 6379,
        "http" => 80,
        _ => return None,
    })
}

/// The offer data object for `sdp` (a complete or trickle offer from
/// `createOffer`): the SDP gets [`ensure_max_message_size`], then base64.
pub fn offer_data(sdp: &str, conversation_type: &str, params: &OfferParams) -> Result<Value> {
    if !sdp.trim_start().starts_with("v=") {
        return Err(Error::invalid_input(
            "the SDP offer must be SDP text starting with \"v=\" (RTCSessionDescription.sdp), not base64 or JSON",
        ));
    }
    if params.host.host_name.trim().is_empty() {
        return Err(Error::invalid_input(
            "the offer needs the target host: the record has no pamHostname hostName and no host override was given",
        ));
    }
    let s = params.size;
    if s.width == 0 || s.height == 0 || s.dpi == 0 {
        return Err(Error::invalid_input(
            "the display size must have a width, height and dpi above 0",
        ));
    }
    let offer_base64 = base64_std(ensure_max_message_size(sdp).as_bytes());
    let port = params.host.port.or_else(|| default_port(conversation_type));
    Ok(wire::offer_data_json(&OfferDataFields {
        offer_base64: &offer_base64,
        size: [s.width, s.height, s.dpi],
        host_name: params.host.host_name.trim(),
        port,
        enable_pipe: params.enable_pipe,
        disable_copy: params.clipboard.disable_copy,
        disable_paste: params.clipboard.disable_paste,
    }))
}
