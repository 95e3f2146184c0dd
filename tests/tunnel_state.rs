//! The connection state machine: every phase against every kind of input
//! (the expected phase written out as a table), then the actions of each
//! transition that sends, answers, holds or times out.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use pam_launch_wasm::core::error::{Error, ErrorCode};
use pam_launch_wasm::core::tunnel::control::{CloseReason, ControlMessage};
use pam_launch_wasm::core::tunnel::frame::{self, FrameDecoder};
use pam_launch_wasm::core::tunnel::state::{Close, Config, IceRestarts};
use pam_launch_wasm::core::tunnel::{
    Action, Input, Machine, PeerState, Phase, RouterEvent, Status,
};

const ANSWER: &str =
    "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=max-message-size:65535\r\n";

/// A config without the round-trip Pings (their own tests are in
/// `tests/tunnel_rtt.rs`): these tests drive the other timers one by one.
fn quiet(trickle: bool, ephemeral: bool) -> Config {
    let mut cfg = Config::new(trickle, ephemeral);
    cfg.timeouts.ping_ms = None;
    cfg
}

fn control(msg: ControlMessage) -> Vec<u8> {
    frame::encode(0, 1, &msg.encode()).unwrap()
}

fn data(bytes: &[u8]) -> Vec<u8> {
    frame::encode(1, 1, bytes).unwrap()
}

/// The data-channel messages the machine asks to send, taken from its actions.
fn sent_bytes(m: &mut Machine) -> Vec<Vec<u8>> {
    m.take_actions()
        .into_iter()
        .filter_map(|a| match a {
            Action::Send(b) => Some(b),
            _ => None,
        })
        .collect()
}

fn answer() -> Input<'static> {
    Input::Router(RouterEvent::Answer { sdp: ANSWER.into() })
}

/// The phases a machine can rest in (ChannelOpen passes straight to OpeningConnection).
const RESTING: [Phase; 8] = [
    Phase::Planning,
    Phase::OfferSent,
    Phase::WaitingForAnswer,
    Phase::Connecting,
    Phase::OpeningConnection,
    Phase::ConnectionOpened,
    Phase::Connected,
    Phase::Closed,
];

/// A machine brought to `phase` along the usual path, at t = 1000 ms per step.
fn at(phase: Phase, trickle: bool) -> Machine {
    let mut m = Machine::new(quiet(trickle, false));
    let opened = control(ControlMessage::ConnectionOpened { conn: 1 });
    let first = data(b"4.name,3.ssh;");
    let path: Vec<(Phase, Input<'_>)> = vec![
        (Phase::OfferSent, Input::OfferSent),
        (Phase::WaitingForAnswer, Input::OfferAccepted),
        (Phase::Connecting, answer()),
        (Phase::OpeningConnection, Input::ChannelOpen),
        (Phase::ConnectionOpened, Input::ChannelMessage(&opened)),
        (Phase::Connected, Input::ChannelMessage(&first)),
    ];
    let mut t = 1000;
    for (reached, input) in path {
        if m.phase() == phase {
            break;
        }
        m.handle(t, input);
        assert_eq!(m.phase(), reached);
        t += 1000;
    }
    if phase == Phase::Closed {
        m.handle(t, Input::Disconnect);
    }
    assert_eq!(m.phase(), phase);
    m.take_actions();
    m
}

/// Every kind of input, by name.
fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let mut corrupt = data(b"x");
    *corrupt.last_mut().unwrap() = 0;
    vec![
        ("OfferSent", vec![]),
        ("OfferAccepted", vec![]),
        ("Answer", vec![]),
        ("RestartOffer", vec![]),
        ("Candidates", vec![]),
        ("Progress", vec![]),
        ("SignalingFailed", vec![]),
        ("RestartOfferSent", vec![]),
        ("LocalCandidate", vec![]),
        ("PeerNew", vec![]),
        ("PeerConnecting", vec![]),
        ("PeerConnected", vec![]),
        ("PeerDisconnected", vec![]),
        ("PeerFailed", vec![]),
        ("PeerClosed", vec![]),
        ("ChannelOpen", vec![]),
        ("Ping", control(ControlMessage::Ping(vec![0, 0, 0, 0, 1]))),
        (
            "ConnectionOpened",
            control(ControlMessage::ConnectionOpened { conn: 1 }),
        ),
        (
            "ConnectionOpened(2)",
            control(ControlMessage::ConnectionOpened { conn: 2 }),
        ),
        ("Data", data(b"4.sync,1.0;")),
        ("Data(conn 2)", frame::encode(2, 1, b"x").unwrap()),
        ("SendEOF", control(ControlMessage::SendEof { conn: 1 })),
        (
            "Metrics",
            control(ControlMessage::Other {
                code: 301,
                data: vec![1],
            }),
        ),
        (
            "CloseNormal",
            control(ControlMessage::CloseConnection {
                conn: 1,
                reason: CloseReason::Normal,
                message: None,
            }),
        ),
        (
            "CloseFailed",
            control(ControlMessage::CloseConnection {
                conn: 1,
                reason: CloseReason::ConnectionFailed,
                message: Some("refused".into()),
            }),
        ),
        (
            "Close(conn 3)",
            control(ControlMessage::CloseConnection {
                conn: 3,
                reason: CloseReason::Error,
                message: None,
            }),
        ),
        ("TruncatedControl", frame::encode(0, 1, &[0, 103]).unwrap()),
        ("Corrupt", corrupt),
        ("ChannelClosed", vec![]),
        ("SendGuacamole", vec![]),
        ("Disconnect", vec![]),
        ("SessionFailed", vec![]),
        ("Tick", vec![]),
        ("TickLate", vec![]),
    ]
}

fn apply(m: &mut Machine, name: &str, bytes: &[u8], now: u64) {
    let input = match name {
        "OfferSent" => Input::OfferSent,
        "OfferAccepted" => Input::OfferAccepted,
        "Answer" => answer(),
        "RestartOffer" => Input::Router(RouterEvent::RestartOffer { sdp: ANSWER.into() }),
        "Candidates" => Input::Router(RouterEvent::Candidates(vec![
            "candidate:1 1 udp 1 10.0.0.1 1 typ host".into(),
        ])),
        "Progress" => Input::Router(RouterEvent::Progress("creating account".into())),
        "SignalingFailed" => Input::SignalingFailed(Error::new(
            ErrorCode::GatewayRefused,
            "the gateway refused the launch: no",
        )),
        "RestartOfferSent" => Input::RestartOfferSent,
        "LocalCandidate" => Input::LocalCandidate("candidate:2 1 udp 1 10.0.0.2 2 typ host".into()),
        "PeerNew" => Input::PeerState(PeerState::New),
        "PeerConnecting" => Input::PeerState(PeerState::Connecting),
        "PeerConnected" => Input::PeerState(PeerState::Connected),
        "PeerDisconnected" => Input::PeerState(PeerState::Disconnected),
        "PeerFailed" => Input::PeerState(PeerState::Failed),
        "PeerClosed" => Input::PeerState(PeerState::Closed),
        "ChannelOpen" => Input::ChannelOpen,
        "ChannelClosed" => Input::ChannelClosed,
        "SendGuacamole" => Input::SendGuacamole(b"4.size,3.800,3.600,2.96;"),
        "Disconnect" => Input::Disconnect,
        "SessionFailed" => Input::SessionFailed(Error::new(
            ErrorCode::MalformedInstruction,
            "the session stream from the gateway is not valid Guacamole",
        )),
        "Tick" | "TickLate" => Input::Tick,
        _ => Input::ChannelMessage(bytes),
    };
    m.handle(now, input);
}

/// The specification: the phase after `input` in `p`, and the error code of a close.
fn expected(p: Phase, input: &str) -> (Phase, Option<ErrorCode>) {
    use Phase::*;
    let open = matches!(p, OpeningConnection | ConnectionOpened | Connected);
    let closed = |code| (Closed, code);
    if p == Closed {
        return (Closed, None);
    }
    match input {
        "OfferSent" if p == Planning => (OfferSent, None),
        "OfferAccepted" if p == OfferSent => (WaitingForAnswer, None),
        "Answer" if matches!(p, OfferSent | WaitingForAnswer) => (Connecting, None),
        "SignalingFailed" if !open => closed(Some(ErrorCode::GatewayRefused)),
        // On the open channel, `failed` starts the ICE restarts instead.
        "PeerFailed" if open => (p, None),
        "PeerFailed" | "PeerClosed" => closed(Some(ErrorCode::ConnectionLost)),
        "ChannelOpen" if matches!(p, OfferSent | WaitingForAnswer | Connecting) => {
            (OpeningConnection, None)
        }
        "ChannelClosed" => closed(Some(ErrorCode::ConnectionLost)),
        "Disconnect" => closed(None),
        "SessionFailed" => closed(Some(ErrorCode::MalformedInstruction)),
        "ConnectionOpened" if p == OpeningConnection => (ConnectionOpened, None),
        "Data" if open => (Connected, None),
        "CloseNormal" if open => closed(None),
        "CloseFailed" if open => closed(Some(ErrorCode::GatewayClosed)),
        "TruncatedControl" | "Corrupt" if open => closed(Some(ErrorCode::MalformedFrame)),
        "TickLate" => match p {
            Planning | Connected => (p, None),
            OfferSent | WaitingForAnswer => closed(Some(ErrorCode::GatewayTimeout)),
            _ => closed(Some(ErrorCode::TunnelTimeout)),
        },
        _ => (p, None),
    }
}

fn closing_status(actions: &[Action]) -> Option<Status> {
    actions.iter().find_map(|a| match a {
        Action::Status(s) if s.phase == Phase::Closed => Some(s.clone()),
        _ => None,
    })
}

#[test]
fn every_phase_against_every_input() {
    let mut checked = 0;
    for trickle in [true, false] {
        for p in RESTING {
            for (name, bytes) in inputs() {
                let mut m = at(p, trickle);
                let now = if name == "TickLate" {
                    10_000_000
                } else {
                    7_000
                };
                apply(&mut m, name, &bytes, now);
                let (want, code) = expected(p, name);
                assert_eq!(m.phase(), want, "{p:?} + {name} (trickle {trickle})");
                let actions = m.take_actions();
                let status = closing_status(&actions);
                if p != Phase::Closed && want == Phase::Closed {
                    let s = status.unwrap_or_else(|| panic!("{p:?} + {name}: no closing status"));
                    assert_eq!(
                        s.error.as_ref().map(Error::code),
                        code,
                        "{p:?} + {name}: {}",
                        s.message
                    );
                    assert!(!s.message.is_empty());
                    assert!(
                        actions.contains(&Action::ClosePeer),
                        "{p:?} + {name}: the peer is closed"
                    );
                    assert!(m.next_deadline().is_none());
                } else {
                    assert!(status.is_none(), "{p:?} + {name}");
                }
                if p == Phase::Closed {
                    assert!(actions.is_empty(), "a closed machine does nothing ({name})");
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 2 * 8 * inputs().len());
}

#[test]
fn happy_path_statuses_in_order() {
    let mut m = Machine::new(quiet(true, false));
    let opened = control(ControlMessage::ConnectionOpened { conn: 1 });
    let first = data(b"4.name,3.ssh;");
    m.handle(0, Input::OfferSent);
    m.handle(10, Input::OfferAccepted);
    m.handle(20, answer());
    m.handle(30, Input::PeerState(PeerState::Connected));
    m.handle(40, Input::ChannelOpen);
    m.handle(50, Input::ChannelMessage(&opened));
    m.handle(60, Input::ChannelMessage(&first));
    m.handle(70, Input::Disconnect);
    let phases: Vec<&str> = m
        .take_actions()
        .iter()
        .filter_map(|a| match a {
            Action::Status(s) => Some(s.phase.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        phases,
        [
            "planning",
            "offerSent",
            "waitingForGateway",
            "ice",
            "channelOpen",
            "openingConnection",
            "connectionOpened",
            "connected",
            "closed"
        ]
    );
}

#[test]
fn channel_open_sends_open_connection_with_connect_as() {
    let mut cfg = quiet(true, false);
    cfg.connect_as = Some(vec![0xCA; 190]);
    assert!(format!("{cfg:?}").contains("<190 bytes>") && !format!("{cfg:?}").contains("202"));
    let mut m = Machine::new(cfg);
    m.handle(0, Input::OfferSent);
    m.handle(5, answer());
    m.take_actions();
    m.handle(1_700_000_000_123, Input::ChannelOpen);
    let sent = sent_bytes(&mut m);
    assert_eq!(sent.len(), 1);
    let f = FrameDecoder::new()
        .push_collect(&sent[0])
        .unwrap()
        .remove(0);
    assert_eq!((f.conn, f.timestamp_ms), (0, 1_700_000_000_123));
    assert_eq!(
        ControlMessage::decode(&f.payload).unwrap(),
        ControlMessage::OpenConnection {
            conn: 1,
            connect_as: Some(vec![0xCA; 190])
        }
    );
    // Without ConnectAs: exactly the captured OpenConnection(1) frame.
    let mut m = at(Phase::Connecting, true);
    m.handle(0x1a20f5ee02b, Input::ChannelOpen);
    let sent = sent_bytes(&mut m);
    assert_eq!(
        sent,
        vec![vec![
            0, 0, 0, 0, 0, 0, 1, 0xa2, 0x0f, 0x5e, 0xe0, 0x2b, 0, 0, 0, 6, 0, 0x65, 0, 0, 0, 1,
            0x3b
        ]]
    );
}

#[test]
fn pings_are_answered() {
    let mut m = at(Phase::OpeningConnection, true);
    let mut two = control(ControlMessage::Ping(vec![]));
    two.extend(control(ControlMessage::Ping(b"\0\0\0\0ABCDEFGH".to_vec())));
    m.handle(9, Input::ChannelMessage(&two));
    let pongs: Vec<ControlMessage> = m
        .take_actions()
        .into_iter()
        .filter_map(|a| match a {
            Action::Send(b) => Some(
                ControlMessage::decode(&FrameDecoder::new().push_collect(&b).unwrap()[0].payload)
                    .unwrap(),
            ),
            _ => None,
        })
        .collect();
    assert_eq!(
        pongs,
        vec![
            ControlMessage::Pong(vec![0; 4]),
            ControlMessage::Pong(b"\0\0\0\0ABCDEFGH".to_vec())
        ]
    );
}

#[test]
fn disconnect_sends_close_connection_then_closes_the_peer() {
    let mut m = at(Phase::Connected, true);
    m.handle(77, Input::Disconnect);
    let actions = m.take_actions();
    let Action::Send(bytes) = &actions[0] else {
        panic!("{actions:?}")
    };
    let f = FrameDecoder::new().push_collect(bytes).unwrap().remove(0);
    assert_eq!(f.conn, 0);
    assert_eq!(
        ControlMessage::decode(&f.payload).unwrap(),
        ControlMessage::CloseConnection {
            conn: 1,
            reason: CloseReason::Normal,
            message: None
        }
    );
    assert_eq!(actions[1], Action::ClosePeer);
    assert_eq!(
        actions[2],
        Action::Status(Status {
            phase: Phase::Closed,
            message: "disconnected".into(),
            error: None,
            close: Some(Close::client(CloseReason::Normal)),
            guac: None,
        })
    );
    assert_eq!(actions.len(), 3);
    // Before the channel: nothing to tell the gateway.
    let mut m = at(Phase::WaitingForAnswer, true);
    m.handle(1, Input::Disconnect);
    let actions = m.take_actions();
    assert!(!actions.iter().any(|a| matches!(a, Action::Send(_))));
    assert_eq!(
        closing_status(&actions).unwrap().message,
        "the launch was cancelled"
    );
}

#[test]
fn gateway_close_ends_with_the_mapped_reason() {
    let cases = [
        (
            CloseReason::GuacdError,
            None,
            "the session ended (logged out)",
            None,
        ),
        (
            CloseReason::Normal,
            Some("Guacd disconnect"),
            "the session ended: Guacd disconnect",
            None,
        ),
        (
            CloseReason::GuacdError,
            Some("Guacd error: Simulated failure, 519"),
            "the remote session ended with an error: Guacd error: Simulated failure, 519",
            Some(ErrorCode::GatewayClosed),
        ),
        (
            CloseReason::AdminClosed,
            None,
            "an administrator ended the session",
            Some(ErrorCode::GatewayClosed),
        ),
    ];
    for (reason, msg, text, code) in cases {
        let mut m = at(Phase::Connected, true);
        let mut bytes = control(ControlMessage::CloseConnection {
            conn: 1,
            reason,
            message: msg.map(str::to_owned),
        });
        bytes.extend(data(b"4.sync,1.1;")); // after the close: dropped
        m.handle(5, Input::ChannelMessage(&bytes));
        let actions = m.take_actions();
        let s = closing_status(&actions).unwrap();
        assert_eq!(s.message, text);
        assert_eq!(s.error.as_ref().map(Error::code), code);
        if let Some(e) = &s.error {
            assert_eq!(e.message(), text);
        }
        assert!(
            !actions
                .iter()
                .any(|a| matches!(a, Action::Send(_) | Action::Guacamole(_))),
            "no reply to the gateway, nothing after"
        );
    }
}

#[test]
fn local_candidates_held_then_batched_then_single_then_stopped() {
    let mut m = Machine::new(quiet(true, false));
    m.handle(0, Input::LocalCandidate("c0".into()));
    m.handle(0, Input::OfferSent);
    m.handle(1, Input::LocalCandidate("c1".into()));
    m.handle(2, Input::LocalCandidate("".into()));
    m.take_actions();
    m.handle(3, Input::OfferAccepted);
    let sends: Vec<Action> = m
        .take_actions()
        .into_iter()
        .filter(|a| matches!(a, Action::SendCandidates(_)))
        .collect();
    assert_eq!(
        sends,
        vec![Action::SendCandidates(vec![
            "c0".into(),
            "c1".into(),
            "".into()
        ])]
    );
    m.handle(4, Input::LocalCandidate("c2".into()));
    m.handle(5, Input::LocalCandidate("c3".into()));
    assert_eq!(
        m.take_actions(),
        vec![
            Action::SendCandidates(vec!["c2".into()]),
            Action::SendCandidates(vec!["c3".into()])
        ]
    );
    m.handle(6, Input::PeerState(PeerState::Connected));
    m.handle(7, Input::LocalCandidate("c4".into()));
    assert_eq!(m.take_actions(), vec![]);
    // Held candidates are dropped once ICE is connected.
    let mut m = Machine::new(quiet(true, false));
    m.handle(0, Input::OfferSent);
    m.handle(1, Input::LocalCandidate("c".into()));
    m.handle(2, Input::PeerState(PeerState::Connected));
    m.handle(3, Input::OfferAccepted);
    assert!(!m
        .take_actions()
        .iter()
        .any(|a| matches!(a, Action::SendCandidates(_))));
    // Non-trickle: candidates are in the SDP, none are sent.
    let mut m = Machine::new(quiet(false, false));
    m.handle(0, Input::OfferSent);
    m.handle(1, Input::LocalCandidate("c".into()));
    m.handle(2, Input::OfferAccepted);
    m.handle(3, Input::LocalCandidate("d".into()));
    assert!(!m
        .take_actions()
        .iter()
        .any(|a| matches!(a, Action::SendCandidates(_))));
}

#[test]
fn remote_candidates_wait_for_the_answer() {
    let mut m = at(Phase::WaitingForAnswer, true);
    m.handle(1, Input::Router(RouterEvent::Candidates(vec!["r1".into()])));
    m.handle(
        2,
        Input::Router(RouterEvent::Candidates(vec!["r2".into(), "".into()])),
    );
    m.handle(3, Input::Router(RouterEvent::Candidates(vec![])));
    assert!(m.take_actions().is_empty());
    m.handle(4, answer());
    let a = m.take_actions();
    assert_eq!(a[0], Action::SetRemoteAnswer(ANSWER.into()));
    assert_eq!(
        a[1],
        Action::AddRemoteCandidates(vec!["r1".into(), "r2".into(), "".into()])
    );
    m.handle(5, Input::Router(RouterEvent::Candidates(vec!["r3".into()])));
    assert_eq!(
        m.take_actions(),
        vec![Action::AddRemoteCandidates(vec!["r3".into()])]
    );
}

#[test]
fn answers_restarts_and_repeats() {
    let mut m = at(Phase::Connected, true);
    m.handle(1, answer());
    assert_eq!(
        m.take_actions(),
        vec![],
        "a repeated answer is not set again"
    );
    m.handle(2, Input::RestartOfferSent);
    m.handle(
        3,
        Input::Router(RouterEvent::Answer {
            sdp: "v=0 restart".into(),
        }),
    );
    assert_eq!(
        m.take_actions(),
        vec![Action::SetRemoteAnswer("v=0 restart".into())]
    );
    m.handle(
        4,
        Input::Router(RouterEvent::RestartOffer {
            sdp: "v=0 gw".into(),
        }),
    );
    assert_eq!(
        m.take_actions(),
        vec![Action::AnswerRestartOffer("v=0 gw".into())]
    );
    // Non-trickle: the gateway's restart offer is ignored (as Commander does).
    let mut m = at(Phase::Connected, false);
    m.handle(
        4,
        Input::Router(RouterEvent::RestartOffer {
            sdp: "v=0 gw".into(),
        }),
    );
    assert_eq!(m.take_actions(), vec![]);
    // Progress is shown while launching.
    let mut m = at(Phase::WaitingForAnswer, true);
    m.handle(
        1,
        Input::Router(RouterEvent::Progress("creating account".into())),
    );
    assert_eq!(
        m.take_actions(),
        vec![Action::Status(Status {
            phase: Phase::WaitingForAnswer,
            message: "gateway: creating account".into(),
            error: None,
            close: None,
            guac: None,
        })]
    );
}

#[test]
fn session_bytes_are_held_until_opened_and_split_to_the_peer_limit() {
    let mut m = at(Phase::OpeningConnection, true);
    m.handle(1, Input::SendGuacamole(b"4.size,4.1024,3.768,2.96;"));
    assert!(m.take_actions().is_empty());
    m.handle(
        2,
        Input::ChannelMessage(&control(ControlMessage::ConnectionOpened { conn: 1 })),
    );
    let sent = sent_bytes(&mut m);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        FrameDecoder::new().push_collect(&sent[0]).unwrap()[0].payload,
        b"4.size,4.1024,3.768,2.96;"
    );
    // The answer said a=max-message-size:65535: frames are at most that.
    let big = vec![b'x'; 200_000];
    m.handle(3, Input::SendGuacamole(&big));
    let sent = sent_bytes(&mut m);
    assert_eq!(sent.len(), 4);
    assert!(sent.iter().all(|s| s.len() <= 65_535));
    let mut d = FrameDecoder::new();
    let back: Vec<u8> = sent
        .iter()
        .flat_map(|s| d.push_collect(s).unwrap())
        .flat_map(|f| f.payload)
        .collect();
    assert_eq!(back, big);
    // Data from the gateway goes to the session; other connections are ignored.
    let mut two = data(b"4.sync,1.5;");
    two.extend(frame::encode(2, 0, b"ignored").unwrap());
    two.extend(data(b"3.nop;"));
    m.handle(4, Input::ChannelMessage(&two[..10]));
    m.handle(4, Input::ChannelMessage(&two[10..]));
    let got: Vec<Action> = m
        .take_actions()
        .into_iter()
        .filter(|a| matches!(a, Action::Guacamole(_)))
        .collect();
    assert_eq!(
        got,
        vec![
            Action::Guacamole(b"4.sync,1.5;".to_vec()),
            Action::Guacamole(b"3.nop;".to_vec())
        ]
    );
}

#[test]
fn timeouts_at_their_boundaries() {
    // Answer: 30 s from the offer (120 s for ephemeral).
    for (ephemeral, limit) in [(false, 30_000u64), (true, 120_000)] {
        let mut m = Machine::new(quiet(true, ephemeral));
        m.handle(1_000, Input::OfferSent);
        m.handle(1_000, Input::OfferAccepted);
        assert_eq!(m.next_deadline(), Some(1_000 + limit));
        m.handle(1_000 + limit - 1, Input::Tick);
        assert_eq!(m.phase(), Phase::WaitingForAnswer);
        m.handle(1_000 + limit, Input::Tick);
        let s = closing_status(&m.take_actions()).unwrap();
        assert_eq!(s.error.unwrap().code(), ErrorCode::GatewayTimeout);
        assert!(
            s.message.contains(&format!("within {} s", limit / 1000)),
            "{}",
            s.message
        );
    }
    // A late answer that arrives before the tick still counts.
    let mut m = Machine::new(quiet(true, false));
    m.handle(0, Input::OfferSent);
    m.handle(30_500, answer());
    assert_eq!(m.phase(), Phase::Connecting);
    // Channel 30 s, open 15 s, first frame 15 s; Connected has only the keepalive.
    let steps = [
        (Phase::Connecting, 30_000u64),
        (Phase::OpeningConnection, 15_000),
        (Phase::ConnectionOpened, 15_000),
    ];
    for (phase, limit) in steps {
        let mut m = at(phase, true);
        let d = m.next_deadline().unwrap();
        m.handle(d - 1, Input::Tick);
        assert_eq!(m.phase(), phase);
        m.handle(d, Input::Tick);
        let actions = m.take_actions();
        let s = closing_status(&actions).unwrap();
        assert_eq!(
            s.error.unwrap().code(),
            ErrorCode::TunnelTimeout,
            "{phase:?}"
        );
        assert!(
            s.message.contains(&format!("within {} s", limit / 1000)),
            "{}",
            s.message
        );
        // With the channel open the gateway is told.
        let told = actions.iter().any(|a| matches!(a, Action::Send(_)));
        assert_eq!(told, phase != Phase::Connecting, "{phase:?}");
    }
    let m = Machine::new(quiet(true, true));
    assert!(m.next_deadline().is_none());
}

#[test]
fn keepalive_pings_an_idle_channel() {
    let mut m = at(Phase::Connected, true);
    let due = m.next_deadline().unwrap();
    m.handle(due - 1, Input::Tick);
    assert!(m.take_actions().is_empty());
    m.handle(due, Input::Tick);
    let a = m.take_actions();
    let Action::Send(b) = &a[0] else {
        panic!("{a:?}")
    };
    let f = FrameDecoder::new().push_collect(b).unwrap().remove(0);
    assert_eq!(
        ControlMessage::decode(&f.payload).unwrap(),
        ControlMessage::Ping(vec![0; 4])
    );
    assert_eq!(m.next_deadline(), Some(due + 30_000));
    assert_eq!(m.phase(), Phase::Connected);
    // Sending session data postpones it.
    m.handle(due + 10_000, Input::SendGuacamole(b"3.nop;"));
    assert_eq!(m.next_deadline(), Some(due + 40_000));
    // Off when keepalive_ms is None.
    let mut cfg = quiet(true, false);
    cfg.timeouts.keepalive_ms = None;
    let mut m = Machine::new(cfg);
    for i in [Input::OfferSent, answer(), Input::ChannelOpen] {
        m.handle(0, i);
    }
    m.handle(
        0,
        Input::ChannelMessage(&control(ControlMessage::ConnectionOpened { conn: 1 })),
    );
    m.handle(0, Input::ChannelMessage(&data(b"x")));
    assert_eq!(m.next_deadline(), None);
}

#[test]
fn peer_states_and_lost_channels() {
    assert_eq!(PeerState::parse("failed"), Some(PeerState::Failed));
    assert_eq!(PeerState::parse("checking"), None);
    for s in PeerState::ALL {
        let name = format!("{s:?}").to_lowercase();
        assert_eq!(PeerState::parse(&name), Some(s));
    }
    let mut m = at(Phase::Connecting, true);
    m.handle(1, Input::PeerState(PeerState::Failed));
    let s = closing_status(&m.take_actions()).unwrap();
    assert!(s.error.unwrap().message().contains("ICE failed"));
    let mut m = at(Phase::Connected, true);
    m.handle(1, Input::PeerState(PeerState::Disconnected));
    assert_eq!(m.phase(), Phase::Connected);
    let a = m.take_actions();
    assert!(matches!(&a[0], Action::Status(s) if s.message.contains("interrupted")));
    m.handle(2, Input::ChannelClosed);
    let s = closing_status(&m.take_actions()).unwrap();
    assert_eq!(s.error.unwrap().code(), ErrorCode::ConnectionLost);
    assert_eq!(Phase::ALL.len(), 9);
}

#[test]
fn corrupt_stream_tells_the_gateway_and_ends() {
    let mut m = at(Phase::Connected, true);
    let mut bytes = data(b"4.sync,1.1;");
    let mut bad = data(b"x");
    *bad.last_mut().unwrap() = b'!';
    bytes.extend(bad);
    m.handle(3, Input::ChannelMessage(&bytes));
    let a = m.take_actions();
    assert_eq!(
        a[0],
        Action::Guacamole(b"4.sync,1.1;".to_vec()),
        "frames before the fault are delivered"
    );
    let Action::Send(b) = &a[1] else {
        panic!("{a:?}")
    };
    let f = FrameDecoder::new().push_collect(b).unwrap().remove(0);
    assert_eq!(
        ControlMessage::decode(&f.payload).unwrap(),
        ControlMessage::CloseConnection {
            conn: 1,
            reason: CloseReason::ProtocolError,
            message: None
        }
    );
    assert_eq!(
        closing_status(&a).unwrap().error.unwrap().code(),
        ErrorCode::MalformedFrame
    );
}

#[test]
fn renderer_protocol_error_closes_with_protocol_error() {
    // (phase, whether the gateway is told)
    let table = [
        (Phase::Planning, false),
        (Phase::OfferSent, false),
        (Phase::WaitingForAnswer, false),
        (Phase::Connecting, false),
        (Phase::OpeningConnection, true),
        (Phase::ConnectionOpened, true),
        (Phase::Connected, true),
    ];
    for (p, told) in table {
        for code in [
            ErrorCode::MalformedInstruction,
            ErrorCode::InstructionTooLarge,
        ] {
            let mut m = at(p, true);
            m.handle(
                9,
                Input::SessionFailed(Error::new(code, "not valid Guacamole (test)")),
            );
            assert!(m.is_closed(), "{p:?}");
            assert_eq!(m.close_sent(), told, "{p:?}");
            let a = m.take_actions();
            let sends: Vec<ControlMessage> = a
                .iter()
                .filter_map(|x| match x {
                    Action::Send(b) => {
                        let f = FrameDecoder::new().push_collect(b).unwrap().remove(0);
                        assert_eq!(f.conn, 0);
                        Some(ControlMessage::decode(&f.payload).unwrap())
                    }
                    _ => None,
                })
                .collect();
            if told {
                assert_eq!(
                    sends,
                    [ControlMessage::CloseConnection {
                        conn: 1,
                        reason: CloseReason::ProtocolError,
                        message: Some(format!("client protocol error: {}", code.as_str())),
                    }],
                    "{p:?}"
                );
                assert_eq!(CloseReason::ProtocolError.code(), 19);
            } else {
                assert!(sends.is_empty(), "{p:?}: {sends:?}");
            }
            let close_at = a.iter().position(|x| *x == Action::ClosePeer).unwrap();
            let s = closing_status(&a).unwrap();
            assert!(
                a.iter()
                    .position(|x| matches!(x, Action::Status(s) if s.phase == Phase::Closed))
                    > Some(close_at)
            );
            assert_eq!(s.message, "not valid Guacamole (test)");
            assert_eq!(s.error.unwrap().code(), code);
            // Nothing more after the end.
            m.handle(10, Input::SessionFailed(Error::new(code, "again")));
            assert!(m.take_actions().is_empty());
        }
    }
}

/// What the machine did in one step of an interruption.
#[derive(Debug, PartialEq, Eq)]
enum Did {
    Nothing,
    /// A status with this message, no restart.
    Says(String),
    /// Action::RestartIce and a status "attempt n of 4".
    Restarts(usize),
    /// Closed with CONNECTION_LOST.
    GivesUp,
}

fn did(m: &mut Machine) -> Did {
    let a = m.take_actions();
    if let Some(s) = closing_status(&a) {
        assert_eq!(
            s.error.unwrap().code(),
            ErrorCode::ConnectionLost,
            "{}",
            s.message
        );
        assert!(
            s.message.contains("4 ICE restarts did not bring it back"),
            "{}",
            s.message
        );
        assert!(a.contains(&Action::ClosePeer));
        return Did::GivesUp;
    }
    let restarts = a.iter().filter(|x| **x == Action::RestartIce).count();
    let msgs: Vec<&Status> = a
        .iter()
        .filter_map(|x| match x {
            Action::Status(s) => Some(s),
            _ => None,
        })
        .collect();
    match (restarts, msgs.as_slice()) {
        (0, []) => Did::Nothing,
        (0, [s]) => Did::Says(s.message.clone()),
        (1, [s]) => {
            let n = m.reconnect_attempt().unwrap();
            assert_eq!(
                s.message,
                format!("reconnecting to the gateway: ICE restart, attempt {n} of 4")
            );
            assert_eq!(s.phase, Phase::Connected, "the phase stays");
            Did::Restarts(n)
        }
        other => panic!("{other:?} in {a:?}"),
    }
}

/// A connected machine at `t0` (keepalive off, so the deadlines are the restarts').
fn connected_at(t0: u64, restarts: IceRestarts) -> Machine {
    let mut cfg = quiet(true, false);
    cfg.timeouts.keepalive_ms = None;
    cfg.timeouts.ice_restart = restarts;
    let mut m = Machine::new(cfg);
    let opened = control(ControlMessage::ConnectionOpened { conn: 1 });
    let first = data(b"4.name,3.ssh;");
    for input in [
        Input::OfferSent,
        Input::OfferAccepted,
        answer(),
        Input::ChannelOpen,
        Input::ChannelMessage(&opened),
        Input::ChannelMessage(&first),
    ] {
        m.handle(t0, input);
    }
    assert_eq!(m.phase(), Phase::Connected);
    m.take_actions();
    m
}

#[test]
fn ice_restarts_back_off_then_give_up() {
    use Did::*;
    let (lost, failed) = (PeerState::Disconnected, PeerState::Failed);
    // (ms after the drop, input, what happens, next deadline after the drop)
    let table: Vec<(u64, Input<'_>, Did, Option<u64>)> = vec![
        (0, Input::PeerState(lost), Says("the connection to the gateway is interrupted; reconnecting in 2 s if it does not recover".into()), Some(2_000)),
        (500, Input::PeerState(lost), Nothing, Some(2_000)),
        (1_999, Input::Tick, Nothing, Some(2_000)),
        (2_000, Input::Tick, Restarts(1), Some(7_000)),
        (6_999, Input::Tick, Nothing, Some(7_000)),
        // `failed` on the way: the schedule goes on.
        (6_999, Input::PeerState(failed), Nothing, Some(7_000)),
        (7_000, Input::Tick, Restarts(2), Some(17_000)),
        (17_000, Input::Tick, Restarts(3), Some(37_000)),
        (36_000, Input::PeerState(PeerState::Connecting), Nothing, Some(37_000)),
        (37_000, Input::Tick, Restarts(4), Some(57_000)),
        (56_999, Input::Tick, Nothing, Some(57_000)),
        (57_000, Input::Tick, GivesUp, None),
    ];
    let t0 = 1_000_000;
    let mut m = connected_at(t0, IceRestarts::DEFAULT);
    for (i, (dt, input, want, deadline)) in table.into_iter().enumerate() {
        m.handle(t0 + dt, input);
        assert_eq!(did(&mut m), want, "row {i} (+{dt} ms)");
        assert_eq!(m.next_deadline(), deadline.map(|d| t0 + d), "row {i}");
    }
    assert!(m.is_closed());
    assert!(!m.close_sent(), "nothing is sent on a dead path");
}

#[test]
fn ice_restarts_recover_and_start_over() {
    use Did::*;
    let t0 = 1_000_000;
    // Recovered before the first attempt: no restart.
    let mut m = connected_at(t0, IceRestarts::DEFAULT);
    m.handle(t0, Input::PeerState(PeerState::Disconnected));
    did(&mut m);
    m.handle(t0 + 1_500, Input::PeerState(PeerState::Connected));
    assert_eq!(
        did(&mut m),
        Says("the connection to the gateway recovered".into())
    );
    assert_eq!(m.next_deadline(), None);
    m.handle(t0 + 60_000, Input::Tick);
    assert_eq!(did(&mut m), Nothing);
    // Recovered after attempt 2; a later drop starts at attempt 1 again.
    m.handle(t0 + 100_000, Input::PeerState(PeerState::Failed));
    did(&mut m);
    m.handle(t0 + 102_000, Input::Tick);
    assert_eq!(did(&mut m), Restarts(1));
    m.handle(t0 + 107_000, Input::Tick);
    assert_eq!(did(&mut m), Restarts(2));
    // The restart's answer is applied (RestartOfferSent came from the web layer).
    m.handle(t0 + 107_010, Input::RestartOfferSent);
    m.handle(t0 + 107_020, answer());
    assert_eq!(m.take_actions(), [Action::SetRemoteAnswer(ANSWER.into())]);
    m.handle(t0 + 107_100, Input::PeerState(PeerState::Connected));
    assert_eq!(
        did(&mut m),
        Says("reconnected to the gateway (ICE restart, attempt 2 of 4)".into())
    );
    assert_eq!(m.phase(), Phase::Connected);
    m.handle(t0 + 200_000, Input::PeerState(PeerState::Disconnected));
    did(&mut m);
    m.handle(t0 + 202_000, Input::Tick);
    assert_eq!(did(&mut m), Restarts(1));
    // A lost channel ends it at once; the peer closed too.
    m.handle(t0 + 202_500, Input::ChannelClosed);
    assert!(m.is_closed());
    assert_eq!(m.next_deadline(), None);
    let mut m = connected_at(t0, IceRestarts::DEFAULT);
    m.handle(t0, Input::PeerState(PeerState::Disconnected));
    m.handle(t0 + 1, Input::PeerState(PeerState::Closed));
    assert!(m.is_closed());
}

#[test]
fn ice_restarts_only_on_an_open_channel_and_when_enabled() {
    use Did::*;
    // Before the channel opens, `failed` ends the launch as before.
    let mut m = at(Phase::Connecting, true);
    m.handle(1, Input::PeerState(PeerState::Disconnected));
    assert!(matches!(did(&mut m), Says(s) if s.contains("waiting for it to recover")));
    m.handle(2, Input::PeerState(PeerState::Failed));
    assert!(m.is_closed());
    // Disabled: `failed` ends at once, `disconnected` only says so.
    let t0 = 5_000;
    let mut m = connected_at(t0, IceRestarts::from_delays(&[], 0));
    m.handle(t0, Input::PeerState(PeerState::Disconnected));
    assert!(matches!(did(&mut m), Says(s) if s.contains("waiting for it to recover")));
    assert_eq!(m.next_deadline(), None);
    m.handle(t0 + 1, Input::PeerState(PeerState::Failed));
    assert!(m.is_closed());
    // Custom delays (what the e2e test uses): one attempt, then 1 s.
    let mut m = connected_at(t0, IceRestarts::from_delays(&[300, 9, 9, 9, 9], 1_000));
    assert_eq!(IceRestarts::from_delays(&[1, 2, 3, 4, 5], 0).attempts, 4);
    m.handle(t0, Input::PeerState(PeerState::Disconnected));
    did(&mut m);
    m.handle(t0 + 300, Input::Tick);
    assert_eq!(did(&mut m), Restarts(1));
    assert_eq!(m.next_deadline(), Some(t0 + 309));
}
