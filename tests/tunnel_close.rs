//! Why a launch ended: `closeReason` ({ code, name, transient, source }) on
//! the final status for every CloseConnection reason of the gateway and for
//! every end this client detects itself, and `guacStatus` when guacd's
//! `error` came before the end.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use pam_launch_wasm::core::error::{Error, ErrorCode};
use pam_launch_wasm::core::tunnel::control::{CloseReason, ControlMessage};
use pam_launch_wasm::core::tunnel::frame;
use pam_launch_wasm::core::tunnel::state::{Close, CloseSource, Config, IceRestarts};
use pam_launch_wasm::core::tunnel::{
    Action, Input, Machine, PeerState, Phase, RouterEvent, Status,
};

const ANSWER: &str = "v=0\r\na=max-message-size:65535\r\n";

/// Keeper's reasons as the wire numbers them, the camelCase name the page
/// reads, and whether a reconnect can fix it: written out here, not taken
/// from the code under test.
const TABLE: [(u8, &str, bool); 20] = [
    (0, "normal", false),
    (1, "error", false),
    (2, "timeout", true),
    (4, "serverRefuse", false),
    (5, "client", false),
    (6, "unknown", false),
    (7, "invalidInstruction", false),
    (8, "guacdRefuse", false),
    (9, "connectionLost", true),
    (10, "connectionFailed", true),
    (11, "tunnelClosed", true),
    (12, "adminClosed", false),
    (13, "errorRecording", false),
    (14, "guacdError", false),
    (15, "aiClosed", false),
    (16, "addressResolutionFailed", false),
    (17, "decryptionFailed", false),
    (18, "configurationError", false),
    (19, "protocolError", false),
    (20, "upstreamClosed", true),
];

fn quiet() -> Config {
    let mut cfg = Config::new(true, false);
    cfg.timeouts.ping_ms = None;
    cfg
}

fn control(msg: &ControlMessage) -> Vec<u8> {
    frame::encode(0, 1, &msg.encode()).unwrap()
}

/// A machine at `phase` along the usual path (1 s per step, from t = 1000).
fn at(phase: Phase, cfg: Config) -> (Machine, u64) {
    let mut m = Machine::new(cfg);
    let opened = control(&ControlMessage::ConnectionOpened { conn: 1 });
    let first = frame::encode(1, 1, b"4.name,3.ssh;").unwrap();
    let answer = Input::Router(RouterEvent::Answer { sdp: ANSWER.into() });
    let path = [
        Input::OfferSent,
        Input::OfferAccepted,
        answer,
        Input::ChannelOpen,
        Input::ChannelMessage(&opened),
        Input::ChannelMessage(&first),
    ];
    let mut t = 1000;
    for input in path {
        if m.phase() == phase {
            break;
        }
        m.handle(t, input);
        t += 1000;
    }
    assert_eq!(m.phase(), phase);
    m.take_actions();
    (m, t)
}

fn closing(m: &mut Machine) -> Status {
    assert!(m.is_closed());
    m.take_actions()
        .into_iter()
        .find_map(|a| match a {
            Action::Status(s) if s.phase == Phase::Closed => Some(s),
            _ => None,
        })
        .expect("a closed status")
}

fn client(reason: CloseReason) -> Option<Close> {
    Some(Close::client(reason))
}

#[test]
fn every_gateway_reason_arrives_with_its_name_code_and_transience() {
    for (code, name, transient) in TABLE {
        let reason = CloseReason::from_code(code);
        assert_eq!(reason.code(), code);
        assert_eq!(reason.js_name(), name, "code {code}");
        assert_eq!(reason.is_transient(), transient, "{name}");
        let (mut m, t) = at(Phase::Connected, quiet());
        let close = ControlMessage::CloseConnection {
            conn: 1,
            reason,
            message: Some("why".into()),
        };
        m.handle(t, Input::ChannelMessage(&control(&close)));
        let s = closing(&mut m);
        let c = s.close.expect("closeReason");
        assert_eq!(c.reason.code(), code);
        assert_eq!(c.reason.js_name(), name);
        assert_eq!(c.transient(), transient, "{name}");
        assert_eq!(c.source, CloseSource::Gateway);
        assert_eq!(c.source.as_str(), "gateway");
        assert!(s.guac.is_none());
    }
    assert_eq!(CloseReason::ALL.len(), TABLE.len());
    // Codes Keeper's library does not name (3 is unused): "other", code kept, not transient.
    for code in [3u8, 21, 200, 255] {
        let (mut m, t) = at(Phase::Connected, quiet());
        let close = ControlMessage::CloseConnection {
            conn: 1,
            reason: CloseReason::from_code(code),
            message: None,
        };
        m.handle(t, Input::ChannelMessage(&control(&close)));
        let c = closing(&mut m).close.unwrap();
        assert_eq!((c.reason.code(), c.reason.js_name()), (code, "other"));
        assert!(!c.transient());
    }
}

#[test]
fn ends_the_client_detects_carry_its_own_reason() {
    // The user disconnects: normal, with the channel open or not.
    let (mut m, t) = at(Phase::Connected, quiet());
    m.handle(t, Input::Disconnect);
    assert_eq!(closing(&mut m).close, client(CloseReason::Normal));
    let (mut m, t) = at(Phase::WaitingForAnswer, quiet());
    m.handle(t, Input::Disconnect);
    let s = closing(&mut m);
    assert_eq!(s.close, client(CloseReason::Normal));
    assert!(!s.close.unwrap().transient());
    assert_eq!(s.close.unwrap().source.as_str(), "client");

    // Every timer: timeout, transient.
    for phase in [
        Phase::WaitingForAnswer,
        Phase::Connecting,
        Phase::OpeningConnection,
        Phase::ConnectionOpened,
    ] {
        let (mut m, _) = at(phase, quiet());
        let d = m.next_deadline().unwrap();
        m.handle(d, Input::Tick);
        let s = closing(&mut m);
        assert_eq!(s.close, client(CloseReason::Timeout), "{phase:?}");
        assert!(s.close.unwrap().transient());
        assert!(s.error.is_some());
    }

    // ICE fails before the channel: connectionFailed; after it, with
    // restarts off, connectionLost.
    let (mut m, t) = at(Phase::Connecting, quiet());
    m.handle(t, Input::PeerState(PeerState::Failed));
    assert_eq!(closing(&mut m).close, client(CloseReason::ConnectionFailed));
    let mut cfg = quiet();
    cfg.timeouts.ice_restart = IceRestarts::from_delays(&[], 0);
    let (mut m, t) = at(Phase::Connected, cfg);
    m.handle(t, Input::PeerState(PeerState::Failed));
    assert_eq!(closing(&mut m).close, client(CloseReason::ConnectionLost));

    // The ICE restarts did not bring it back: connectionLost, transient.
    let mut cfg = quiet();
    cfg.timeouts.keepalive_ms = None;
    cfg.timeouts.ice_restart = IceRestarts::from_delays(&[100, 100], 500);
    let (mut m, t) = at(Phase::Connected, cfg);
    m.handle(t, Input::PeerState(PeerState::Disconnected));
    let mut now = t;
    while !m.is_closed() {
        now = m.next_deadline().unwrap();
        m.handle(now, Input::Tick);
        if !m.is_closed() {
            m.take_actions();
        }
    }
    assert_eq!(now, t + 700);
    let s = closing(&mut m);
    assert_eq!(s.error.unwrap().code(), ErrorCode::ConnectionLost);
    assert_eq!(s.close, client(CloseReason::ConnectionLost));
    assert!(s.close.unwrap().transient());

    // The data channel closed under us: tunnelClosed.
    let (mut m, t) = at(Phase::Connected, quiet());
    m.handle(t, Input::ChannelClosed);
    assert_eq!(closing(&mut m).close, client(CloseReason::TunnelClosed));

    // A corrupt frame or control message: protocolError, not transient.
    let (mut m, t) = at(Phase::Connected, quiet());
    m.handle(
        t,
        Input::ChannelMessage(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 7, b'!']),
    );
    let s = closing(&mut m);
    assert_eq!(s.close, client(CloseReason::ProtocolError));
    assert!(!s.close.unwrap().transient());
    let (mut m, t) = at(Phase::Connected, quiet());
    m.handle(
        t,
        Input::ChannelMessage(&frame::encode(0, 1, &[0, 102, 0]).unwrap()),
    );
    assert_eq!(closing(&mut m).close, client(CloseReason::ProtocolError));

    // The renderer failed: a protocol error is protocolError, a resource limit error.
    for (code, reason) in [
        (ErrorCode::MalformedInstruction, CloseReason::ProtocolError),
        (ErrorCode::InstructionTooLarge, CloseReason::ProtocolError),
        (ErrorCode::ResourceLimit, CloseReason::Error),
    ] {
        let (mut m, t) = at(Phase::Connected, quiet());
        m.handle(t, Input::SessionFailed(Error::new(code, "x")));
        assert_eq!(closing(&mut m).close, client(reason), "{code:?}");
    }

    // The launch's signaling failed: a refusal, a timeout, anything else.
    for (code, reason) in [
        (ErrorCode::GatewayRefused, CloseReason::ServerRefuse),
        (ErrorCode::GatewayTimeout, CloseReason::Timeout),
        (ErrorCode::InvalidSignalingMessage, CloseReason::Error),
    ] {
        let (mut m, t) = at(Phase::OfferSent, quiet());
        m.handle(t, Input::SignalingFailed(Error::new(code, "x")));
        assert_eq!(closing(&mut m).close, client(reason), "{code:?}");
    }
}

#[test]
fn only_the_final_status_has_a_close_reason() {
    let mut m = Machine::new(quiet());
    m.handle(1, Input::OfferSent);
    m.handle(2, Input::OfferAccepted);
    m.handle(3, Input::Disconnect);
    let statuses: Vec<Status> = m
        .take_actions()
        .into_iter()
        .filter_map(|a| match a {
            Action::Status(s) => Some(s),
            _ => None,
        })
        .collect();
    assert!(statuses.len() >= 3);
    for s in &statuses {
        assert_eq!(s.close.is_some(), s.phase == Phase::Closed, "{s:?}");
    }
}

#[test]
fn a_guacd_error_before_the_end_is_on_the_final_status_cleaned() {
    let (mut m, t) = at(Phase::Connected, quiet());
    let hostile = format!("  Upstream\u{7}\nerror {}  ", "x".repeat(400));
    m.handle(
        t,
        Input::GuacdError {
            code: 0x0207,
            message: hostile,
        },
    );
    // A second error does not replace the first.
    m.handle(
        t,
        Input::GuacdError {
            code: 0x0200,
            message: "later".into(),
        },
    );
    assert!(m.take_actions().is_empty(), "nothing happens yet");
    let close = ControlMessage::CloseConnection {
        conn: 1,
        reason: CloseReason::GuacdError,
        message: Some("Guacd error: upstream, 519".into()),
    };
    m.handle(t + 5, Input::ChannelMessage(&control(&close)));
    let s = closing(&mut m);
    let g = s.guac.expect("guacStatus");
    assert_eq!(g.code, 0x0207);
    assert!(
        g.message.starts_with("Upstream  error xxx"),
        "{}",
        g.message
    );
    assert!(!g.message.chars().any(char::is_control));
    assert_eq!(
        g.message.chars().count(),
        301,
        "300 characters and the ellipsis"
    );
    assert!(g.message.ends_with('…'));
    assert_eq!(s.close.unwrap().reason, CloseReason::GuacdError);
    assert_eq!(s.close.unwrap().source, CloseSource::Gateway);
    // The channel closing instead ends it too, with the error kept.
    let (mut m, t) = at(Phase::Connected, quiet());
    m.handle(
        t,
        Input::GuacdError {
            code: 0x0301,
            message: "denied".into(),
        },
    );
    m.handle(t, Input::ChannelClosed);
    let s = closing(&mut m);
    assert_eq!(
        s.guac.map(|g| (g.code, g.message)),
        Some((0x0301, "denied".into()))
    );
    assert_eq!(s.close, client(CloseReason::TunnelClosed));
}
