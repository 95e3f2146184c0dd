//! The `RTCPeerConnection` and its data channel: frames out with backpressure
//! on `bufferedAmount` (a queue above [`SEND_HIGH_WATER`], drained on
//! `bufferedamountlow`), the close drain, the serialized peer-connection
//! operations (answer, remote candidates, the gateway's restart offer), ICE
//! gathering, the offer and the client-side ICE restart, and the browser
//! event handlers that feed the session's event loop.

use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    Event, EventTarget, MessageEvent, RtcDataChannel, RtcIceCandidateInit, RtcPeerConnection,
    RtcPeerConnectionIceEvent, RtcSdpType, RtcSessionDescriptionInit,
};

use crate::core::error::{Error, ErrorCode};
use crate::core::guac::limits::{Limit, MAX_SEND_QUEUE_BYTES};
use crate::core::tunnel::offer;
use crate::core::tunnel::PeerState;
use crate::web::convert::bytes_of;

use super::{
    exception_name, perf_now, random_bytes, sleep, sleep_promise, Ev, OnEvent, PcOp, Shared,
    DRAIN_STEP_MS, SEND_HIGH_WATER, SUBSCRIBE_READY_MS,
};

impl Shared {
    // ---------------------------------------------------------------- data channel

    /// Sends one frame, or queues it while the channel's buffer is above
    /// [`SEND_HIGH_WATER`]. The queue holds at most [`MAX_SEND_QUEUE_BYTES`]:
    /// past it the session ends with `RESOURCE_LIMIT`, the queue is dropped,
    /// and the frames after that (the final CloseConnection) go straight to
    /// the channel.
    pub(super) fn send_bytes(self: &Rc<Self>, bytes: Vec<u8>) {
        enum Next {
            Send(RtcDataChannel, Vec<u8>),
            Queued,
            Overflow,
        }
        let next = self.with(|s| {
            s.bytes_out = s.bytes_out.saturating_add(bytes.len() as u64);
            if s.queue_overflowed {
                return Next::Send(s.dc.clone(), bytes);
            }
            if s.send_queue.is_empty() && s.dc.buffered_amount() <= SEND_HIGH_WATER {
                return Next::Send(s.dc.clone(), bytes);
            }
            if s.send_queue_bytes + bytes.len() > MAX_SEND_QUEUE_BYTES {
                s.queue_overflowed = true;
                s.send_queue.clear();
                s.send_queue_bytes = 0;
                return Next::Overflow;
            }
            s.send_queue_bytes += bytes.len();
            s.send_queue.push_back(bytes);
            Next::Queued
        });
        match next {
            // A channel that is closing refuses: the machine hears of the close.
            Some(Next::Send(dc, b)) => {
                let _ = dc.send_with_u8_array(&b);
            }
            Some(Next::Overflow) => {
                self.push(Ev::SessionFailed(Limit::SendQueueBytes.error()));
            }
            Some(Next::Queued) | None => {}
        }
    }

    /// Sends queued frames while the channel's buffer is below the high water mark.
    pub(super) fn flush_queue(self: &Rc<Self>) {
        loop {
            let next = self.with(|s| {
                if s.dc.buffered_amount() > SEND_HIGH_WATER {
                    return None;
                }
                let b = s.send_queue.pop_front()?;
                s.send_queue_bytes = s.send_queue_bytes.saturating_sub(b.len());
                Some((s.dc.clone(), b))
            });
            let Some(Some((dc, bytes))) = next else {
                return;
            };
            if dc.send_with_u8_array(&bytes).is_err() {
                self.with(|s| {
                    s.send_queue.clear();
                    s.send_queue_bytes = 0;
                });
                return;
            }
        }
    }

    /// ClosePeer: let queued frames (a final CloseConnection) leave and the
    /// channel's buffer drain; when our CloseConnection went out, wait for the
    /// gateway to close the channel (Keeper's library closes the whole tube on
    /// it, and Chromium sees the channel close about 100 ms later; a peer
    /// connection closed before that makes the library report the session as
    /// failed, `critical_upstream_closed`, instead of `normal_exit`). Then close
    /// the data channel (its pending messages are still sent) and wait for it
    /// to close, and close the peer connection. All of it bounded by
    /// `close_drain_ms` (a gateway that never closes the channel cannot hold
    /// the session); then the held final status is reported.
    pub(super) fn close_peer(self: &Rc<Self>) {
        let start = self
            .with(|s| {
                let first = !s.closing;
                s.closing = true;
                first
            })
            .unwrap_or(false);
        if !start {
            return;
        }
        let me = self.clone();
        spawn_local(async move {
            let Some((dc, pc, drain_ms, gateway_closes)) = me.with(|s| {
                (
                    s.dc.clone(),
                    s.pc.clone(),
                    s.close_drain_ms,
                    s.machine.close_sent(),
                )
            }) else {
                return;
            };
            let until = perf_now() + f64::from(drain_ms);
            let left = || (until - perf_now()).max(0.0);
            let open = |dc: &RtcDataChannel| ready_state(dc) == "open";
            while open(&dc) && left() > 0.0 {
                me.flush_queue();
                let queued = me.with(|s| s.send_queue.len()).unwrap_or(0);
                if queued == 0 && dc.buffered_amount() == 0 {
                    break;
                }
                sleep(DRAIN_STEP_MS).await;
            }
            if gateway_closes && ready_state(&dc) != "closed" && left() > 0.0 {
                me.wait_channel_closed(left()).await;
            }
            let was_open = open(&dc);
            dc.close();
            if was_open && ready_state(&dc) != "closed" && left() > 0.0 {
                me.wait_channel_closed(left()).await;
            }
            let handlers = me.with(|s| std::mem::take(&mut s.handlers));
            drop(handlers);
            pc.close();
            let (held, unsub, timer) = me
                .with(|s| {
                    s.torn_down = true;
                    s.send_queue.clear();
                    s.send_queue_bytes = 0;
                    s.close_waiters.clear();
                    (
                        std::mem::take(&mut s.held),
                        s.unsubscribe.take(),
                        s.timer.take(),
                    )
                })
                .unwrap_or_default();
            drop(timer);
            if let Some(u) = unsub {
                let _ = u.call0(&JsValue::NULL);
            }
            for s in held {
                let extra = super::status_extra(&s);
                me.emit_with(s.phase.as_str(), &s.message, s.error, extra);
            }
        });
    }

    /// Resolves when the data channel's `close` event fires, or after `ms`.
    pub(super) async fn wait_channel_closed(self: &Rc<Self>, ms: f64) {
        let me = self.clone();
        let done = Promise::new(&mut |resolve, _| {
            me.with(|s| s.close_waiters.push(resolve));
        });
        let ms = ms.ceil().min(f64::from(u32::MAX)) as u32;
        let _ = JsFuture::from(Promise::race(&Array::of2(&done, &sleep_promise(ms)))).await;
    }

    pub(super) fn channel_closed(&self) {
        let waiters = self
            .with(|s| std::mem::take(&mut s.close_waiters))
            .unwrap_or_default();
        for w in waiters {
            let _ = w.call0(&JsValue::NULL);
        }
    }

    // ---------------------------------------------------------------- peer connection

    pub(super) fn pc_op(self: &Rc<Self>, op: PcOp) {
        let start = self
            .with(|s| {
                s.pc_ops.push_back(op);
                let start = !s.pc_busy;
                s.pc_busy = true;
                start
            })
            .unwrap_or(false);
        if !start {
            return;
        }
        let me = self.clone();
        spawn_local(async move {
            loop {
                let next = me
                    .with(|s| {
                        let op = s.pc_ops.pop_front();
                        if op.is_none() {
                            s.pc_busy = false;
                        }
                        op.map(|op| (op, s.pc.clone(), s.torn_down))
                    })
                    .flatten();
                let Some((op, pc, torn_down)) = next else {
                    return;
                };
                if torn_down {
                    continue;
                }
                me.run_pc_op(&pc, op).await;
            }
        });
    }

    pub(super) async fn run_pc_op(self: &Rc<Self>, pc: &RtcPeerConnection, op: PcOp) {
        match op {
            PcOp::Answer(sdp) => {
                let init = RtcSessionDescriptionInit::new(RtcSdpType::Answer);
                init.set_sdp(&sdp);
                if let Err(e) = JsFuture::from(pc.set_remote_description(&init)).await {
                    self.push(Ev::SignalingFailed(Error::new(
                        ErrorCode::InvalidSignalingMessage,
                        format!(
                            "the browser rejected the gateway's SDP answer ({}): the gateway and this browser cannot agree on a data channel",
                            exception_name(&e)
                        ),
                    )));
                }
            }
            PcOp::Candidates(list) => {
                for c in list {
                    let c = c.trim();
                    let c = c.strip_prefix("a=").unwrap_or(c);
                    let init = RtcIceCandidateInit::new(c);
                    init.set_sdp_mid(Some("0"));
                    init.set_sdp_m_line_index(Some(0));
                    // A candidate the browser cannot use is skipped; ICE goes on
                    // with the others (the channel timeout reports a failure).
                    let _ = JsFuture::from(
                        pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init)),
                    )
                    .await;
                }
            }
            PcOp::RestartOffer(sdp) => {
                let init = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
                init.set_sdp(&sdp);
                let result: Result<(), JsValue> = async {
                    JsFuture::from(pc.set_remote_description(&init)).await?;
                    let answer = JsFuture::from(pc.create_answer()).await?;
                    JsFuture::from(pc.set_local_description(answer.unchecked_ref())).await?;
                    Ok(())
                }
                .await;
                if result.is_err() {
                    // The current path stays up; nothing else to do.
                    return;
                }
                self.wait_gathering(true).await;
                let sdp = pc.local_description().map(|d| d.sdp()).unwrap_or_default();
                let req = self.with(|s| {
                    random_bytes::<12>().and_then(|n| s.conv.ice_restart_answer(&sdp, &n))
                });
                if let Some(Ok(req)) = req {
                    self.signal(req, false);
                }
            }
        }
    }

    /// Resolves when ICE gathering is complete, or after `gathering_ms`.
    /// `restart`: right after an ICE restart's setLocalDescription the state
    /// still says "complete" (of the old generation) until the browser starts
    /// gathering again, so only the next completion counts.
    pub(super) async fn wait_gathering(self: &Rc<Self>, restart: bool) {
        let Some((pc, ms)) = self.with(|s| (s.pc.clone(), s.gathering_ms)) else {
            return;
        };
        if !restart && gathering_state(&pc) == "complete" {
            return;
        }
        let me = self.clone();
        let done = Promise::new(&mut |resolve, _| {
            me.with(|s| s.gather_waiters.push(resolve));
        });
        let _ = JsFuture::from(Promise::race(&Array::of2(&done, &sleep_promise(ms)))).await;
    }

    pub(super) fn gathering_done(&self) {
        let waiters = self
            .with(|s| std::mem::take(&mut s.gather_waiters))
            .unwrap_or_default();
        for w in waiters {
            let _ = w.call0(&JsValue::NULL);
        }
    }

    pub(super) async fn offer(self: &Rc<Self>, subscribed: Option<Promise>) -> Result<(), Error> {
        let Some((pc, trickle, early)) =
            self.with(|s| (s.pc.clone(), s.trickle, s.early_offer.take()))
        else {
            return Ok(());
        };
        let browser = |what: &str, e: JsValue| {
            Error::new(
                ErrorCode::ConnectionLost,
                format!(
                    "the browser could not {what} ({}): WebRTC may be disabled in this browser",
                    exception_name(&e)
                ),
            )
        };
        let offer = JsFuture::from(early.unwrap_or_else(|| pc.create_offer()))
            .await
            .map_err(|e| browser("create a WebRTC offer", e))?;
        if self.is_closed() {
            return Ok(());
        }
        JsFuture::from(pc.set_local_description(offer.unchecked_ref()))
            .await
            .map_err(|e| browser("apply its WebRTC offer", e))?;
        if !trickle {
            self.wait_gathering(false).await;
            self.mark(|t| &mut t.gathered);
        }
        if let Some(ready) = subscribed {
            let _ = JsFuture::from(Promise::race(&Array::of2(
                &ready,
                &sleep_promise(SUBSCRIBE_READY_MS),
            )))
            .await;
        }
        if self.is_closed() {
            return Ok(());
        }
        let sdp = pc.local_description().map(|d| d.sdp()).unwrap_or_default();
        let req = self
            .with(|s| {
                let data = offer::offer_data(&sdp, &s.conversation_type, &s.offer_params)?;
                s.conv.start(&data, &random_bytes::<12>()?)
            })
            .unwrap_or_else(|| Err(Error::invalid_input("the session is busy")))?;
        self.signal(req, true);
        Ok(())
    }

    /// Client-side ICE restart: a new offer with `iceRestart`, its candidates
    /// gathered into the SDP, sent as `ice_restart_offer`.
    pub(super) async fn restart_ice(self: &Rc<Self>) -> Result<(), Error> {
        let Some((pc, closed)) = self.with(|s| (s.pc.clone(), s.machine.is_closed())) else {
            return Ok(());
        };
        if closed {
            return Err(Error::invalid_input("the session is closed"));
        }
        let opts = web_sys::RtcOfferOptions::new();
        opts.set_ice_restart(true);
        let fail = |e: JsValue| {
            Error::new(
                ErrorCode::ConnectionLost,
                format!("the browser could not restart ICE ({})", exception_name(&e)),
            )
        };
        let offer = JsFuture::from(pc.create_offer_with_rtc_offer_options(&opts))
            .await
            .map_err(fail)?;
        JsFuture::from(pc.set_local_description(offer.unchecked_ref()))
            .await
            .map_err(fail)?;
        self.wait_gathering(true).await;
        let sdp = pc.local_description().map(|d| d.sdp()).unwrap_or_default();
        let req = self
            .with(|s| random_bytes::<12>().and_then(|n| s.conv.ice_restart_offer(&sdp, &n)))
            .unwrap_or_else(|| Err(Error::invalid_input("the session is busy")))?;
        self.push(Ev::RestartOfferSent);
        self.signal(req, false);
        Ok(())
    }

    // ---------------------------------------------------------------- handlers

    /// The peer connection's and data channel's events, through gloo-events
    /// listeners (removed when the session drops them: on close, or with it).
    pub(super) fn install_handlers(self: &Rc<Self>) {
        let Some((pc, dc)) = self.with(|s| (s.pc.clone(), s.dc.clone())) else {
            return;
        };
        let on = |target: &EventTarget, kind: &'static str, f: OnEvent| -> EventListener {
            let weak: Weak<Shared> = Rc::downgrade(self);
            EventListener::new(target, kind, move |ev: &Event| {
                if let Some(me) = weak.upgrade() {
                    f(&me, ev);
                }
            })
        };
        let icecandidate = on(
            &pc,
            "icecandidate",
            Box::new(|me, ev| {
                let ev: &RtcPeerConnectionIceEvent = ev.unchecked_ref();
                let c = ev.candidate().map(|c| c.candidate()).unwrap_or_default();
                if c.is_empty() {
                    me.gathering_done();
                    let first = me
                        .with(|s| !std::mem::replace(&mut s.end_of_candidates, true))
                        .unwrap_or(false);
                    if first {
                        me.push(Ev::LocalCandidate(String::new()));
                    }
                } else {
                    me.push(Ev::LocalCandidate(c));
                }
            }),
        );
        let gathering = on(
            &pc,
            "icegatheringstatechange",
            Box::new(|me, _| {
                let done = me
                    .with(|s| gathering_state(&s.pc) == "complete")
                    .unwrap_or(false);
                if done {
                    me.gathering_done();
                }
            }),
        );
        let connection = on(
            &pc,
            "connectionstatechange",
            Box::new(|me, _| {
                let state = me.with(|s| Reflect::get(&s.pc, &"connectionState".into()).ok());
                if let Some(p) = state.flatten().and_then(|v| v.as_string()) {
                    if let Some(p) = PeerState::parse(&p) {
                        me.push(Ev::PeerState(p));
                    }
                }
            }),
        );
        let open = on(&dc, "open", Box::new(|me, _| me.push(Ev::ChannelOpen)));
        let close = on(
            &dc,
            "close",
            Box::new(|me, _| {
                me.channel_closed();
                me.push(Ev::ChannelClosed);
            }),
        );
        let message = on(
            &dc,
            "message",
            Box::new(|me, ev| {
                let data = ev.unchecked_ref::<MessageEvent>().data();
                let bytes = match data.as_string() {
                    Some(text) => text.into_bytes(),
                    None => bytes_of(&data).unwrap_or_default(),
                };
                me.with(|s| s.bytes_in = s.bytes_in.saturating_add(bytes.len() as u64));
                me.push(Ev::ChannelMessage(bytes, me.since_launch()));
            }),
        );
        let low = on(&dc, "bufferedamountlow", Box::new(|me, _| me.flush_queue()));
        self.with(|s| {
            s.handlers.extend([
                icecandidate,
                gathering,
                connection,
                open,
                close,
                message,
                low,
            ])
        });
    }
}

pub(super) fn ready_state(dc: &RtcDataChannel) -> String {
    Reflect::get(dc, &"readyState".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

pub(super) fn gathering_state(pc: &RtcPeerConnection) -> String {
    Reflect::get(pc, &"iceGatheringState".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}
