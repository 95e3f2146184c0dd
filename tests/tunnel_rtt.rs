//! The round-trip Pings: while the channel is open, a Ping on connection 0
//! carrying our clock every `ping_ms`, at most one outstanding; the Pong
//! that echoes it exactly is a sample (`rtt()`), anything else is not.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use pam_launch_wasm::core::tunnel::control::ControlMessage;
use pam_launch_wasm::core::tunnel::frame::{self, FrameDecoder};
use pam_launch_wasm::core::tunnel::state::Config;
use pam_launch_wasm::core::tunnel::{Action, Input, Machine, Phase, RouterEvent};

const ANSWER: &str = "v=0\r\na=max-message-size:65535\r\n";
const T0_US: u64 = 1_700_000_000_000_000;

fn control(msg: &ControlMessage) -> Vec<u8> {
    frame::encode(0, 1, &msg.encode()).unwrap()
}

/// The control messages among the machine's actions.
fn sent_control(m: &mut Machine) -> Vec<ControlMessage> {
    m.take_actions()
        .into_iter()
        .filter_map(|a| match a {
            Action::Send(b) => Some(b),
            _ => None,
        })
        .flat_map(|b| FrameDecoder::new().push_collect(&b).unwrap())
        .filter(|f| f.conn == 0)
        .map(|f| ControlMessage::decode(&f.payload).unwrap())
        .collect()
}

/// Connected at `T0_US`; keepalive off, so every Ping is a probe.
fn connected(ping_ms: Option<u64>) -> Machine {
    let mut cfg = Config::new(true, false);
    cfg.timeouts.keepalive_ms = None;
    cfg.timeouts.ping_ms = ping_ms;
    let mut m = Machine::new(cfg);
    let opened = control(&ControlMessage::ConnectionOpened { conn: 1 });
    let first = frame::encode(1, 1, b"4.name,3.ssh;").unwrap();
    for input in [
        Input::OfferSent,
        Input::OfferAccepted,
        Input::Router(RouterEvent::Answer { sdp: ANSWER.into() }),
        Input::ChannelOpen,
        Input::ChannelMessage(&opened),
        Input::ChannelMessage(&first),
    ] {
        m.handle_us(T0_US, input);
    }
    assert_eq!(m.phase(), Phase::Connected);
    m.take_actions();
    m
}

fn probe(clock_us: u64) -> Vec<u8> {
    let mut d = 0u32.to_be_bytes().to_vec();
    d.extend_from_slice(&clock_us.to_be_bytes());
    d
}

#[test]
fn a_pong_echoing_our_ping_gives_the_round_trip_of_the_driven_clock() {
    let mut m = connected(Some(2_000));
    let t0_ms = T0_US / 1000;
    assert_eq!(m.next_deadline(), Some(t0_ms + 2_000));
    assert!(m.rtt().is_none());
    assert_eq!(m.ping_overdue_ms(t0_ms), None);
    // Not before it is due.
    m.handle_us(T0_US + 1_999_000, Input::Tick);
    assert!(sent_control(&mut m).is_empty());
    let at = T0_US + 2_000_250;
    m.handle_us(at, Input::Tick);
    assert_eq!(sent_control(&mut m), vec![ControlMessage::Ping(probe(at))]);
    // Outstanding: no second Ping however long it takes, and it is overdue.
    assert_eq!(m.next_deadline(), None);
    m.handle_us(at + 9_000_000, Input::Tick);
    assert!(sent_control(&mut m).is_empty());
    assert_eq!(m.ping_overdue_ms(at / 1000 + 1_500), Some(0));
    assert_eq!(m.ping_overdue_ms(at / 1000 + 2_700), Some(700));
    // The echo, 9.000731 s after: rtt in ms at µs resolution.
    let back = at + 9_000_731;
    m.handle_us(
        back,
        Input::ChannelMessage(&control(&ControlMessage::Pong(probe(at)))),
    );
    let s = m.rtt().unwrap();
    assert!((s.rtt_ms - 9_000.731).abs() < 1e-6, "{}", s.rtt_ms);
    assert_eq!(s.at_ms, back / 1000);
    // It was due long ago: the next Ping goes at once with the Pong (just
    // sent, so not overdue).
    assert_eq!(
        sent_control(&mut m),
        vec![ControlMessage::Ping(probe(back))]
    );
    assert_eq!(m.ping_overdue_ms(back / 1000), Some(0));
    // A quick one: 0.4 ms is not 0.
    m.handle_us(
        back + 400,
        Input::ChannelMessage(&control(&ControlMessage::Pong(probe(back)))),
    );
    assert!((m.rtt().unwrap().rtt_ms - 0.4).abs() < 1e-9);
    assert_eq!(m.ping_overdue_ms(back / 1000 + 1), None);
    assert_eq!(m.next_deadline(), Some(back / 1000 + 2_000));
}

#[test]
fn pongs_that_do_not_echo_our_ping_are_ignored() {
    let mut m = connected(Some(1_000));
    let at = T0_US + 1_000_000;
    m.handle_us(at, Input::Tick);
    assert_eq!(sent_control(&mut m).len(), 1);
    let mut wrong_conn = probe(at);
    wrong_conn[3] = 1;
    let mut long = probe(at);
    long.push(0);
    let forged = [
        0u32.to_be_bytes().to_vec(), // the echo of an empty Ping or a keepalive
        probe(at)[..11].to_vec(),    // too short
        long,                        // too long
        wrong_conn,                  // another connection
        probe(at - 1),               // a clock we did not send (stale)
        probe(at + 1),
        Vec::new(),
    ];
    for (i, data) in forged.into_iter().enumerate() {
        m.handle_us(
            at + 10 + i as u64,
            Input::ChannelMessage(&control(&ControlMessage::Pong(data))),
        );
        assert!(m.rtt().is_none(), "forged pong {i}");
        assert!(m.take_actions().is_empty(), "forged pong {i}");
    }
    // The real echo counts once; replaying it changes nothing.
    m.handle_us(
        at + 5_000,
        Input::ChannelMessage(&control(&ControlMessage::Pong(probe(at)))),
    );
    let first = m.rtt().unwrap();
    assert!((first.rtt_ms - 5.0).abs() < 1e-9);
    m.handle_us(
        at + 900_000,
        Input::ChannelMessage(&control(&ControlMessage::Pong(probe(at)))),
    );
    assert_eq!(m.rtt(), Some(first));
    // The gateway's own Pings are still answered, and are no sample.
    let theirs = probe(42);
    m.handle_us(
        at + 950_000,
        Input::ChannelMessage(&control(&ControlMessage::Ping(theirs.clone()))),
    );
    assert_eq!(sent_control(&mut m), vec![ControlMessage::Pong(theirs)]);
    assert_eq!(m.rtt(), Some(first));
}

#[test]
fn pings_only_on_an_open_channel_off_when_disabled_and_none_after_the_end() {
    // Off: no deadline from them, nothing sent.
    let mut m = connected(None);
    assert_eq!(m.next_deadline(), None);
    m.handle_us(T0_US + 60_000_000, Input::Tick);
    assert!(sent_control(&mut m).is_empty());
    // Before the channel opens: no Ping.
    let mut m = Machine::new(Config::new(true, false));
    m.handle(1, Input::OfferSent);
    m.handle(2, Input::OfferAccepted);
    m.take_actions();
    m.handle(1_000, Input::Tick);
    assert!(sent_control(&mut m).is_empty());
    // The default is 2 s, and the keepalive is postponed by it.
    let cfg = Config::new(true, false);
    assert_eq!(cfg.timeouts.ping_ms, Some(2_000));
    // After the end: nothing more, and the state is gone.
    let mut m = connected(Some(500));
    m.handle_us(T0_US + 500_000, Input::Tick);
    assert_eq!(sent_control(&mut m).len(), 1);
    m.handle_us(T0_US + 600_000, Input::Disconnect);
    m.take_actions();
    assert_eq!(m.next_deadline(), None);
    assert_eq!(m.ping_overdue_ms(T0_US / 1000 + 10_000), None);
    m.handle_us(T0_US + 5_000_000, Input::Tick);
    assert!(m.take_actions().is_empty());
}

#[test]
fn the_probes_keep_an_idle_channel_alive() {
    // With both on, the 2 s probes are sends: the 30 s keepalive never fires.
    let mut m = Machine::new(Config::new(true, false));
    let opened = control(&ControlMessage::ConnectionOpened { conn: 1 });
    let first = frame::encode(1, 1, b"4.name,3.ssh;").unwrap();
    for input in [
        Input::OfferSent,
        Input::OfferAccepted,
        Input::Router(RouterEvent::Answer { sdp: ANSWER.into() }),
        Input::ChannelOpen,
        Input::ChannelMessage(&opened),
        Input::ChannelMessage(&first),
    ] {
        m.handle(0, input);
    }
    m.take_actions();
    let mut pings = 0;
    let mut now = 0;
    while now < 60_000 {
        now = m.next_deadline().unwrap();
        m.handle(now, Input::Tick);
        for c in sent_control(&mut m) {
            let ControlMessage::Ping(d) = c else {
                panic!("{c:?}")
            };
            assert_eq!(d.len(), 12, "a probe, never the 4-byte keepalive");
            pings += 1;
            m.handle(
                now + 3,
                Input::ChannelMessage(&control(&ControlMessage::Pong(d))),
            );
        }
    }
    assert_eq!(pings, 30);
    assert!((m.rtt().unwrap().rtt_ms - 3.0).abs() < 1e-9);
}
