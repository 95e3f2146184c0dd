//! The glue to the caller's `signaling` object: `send(action, { timeoutMs,
//! streamResponse })` and its reply, `subscribe(handler, { conversationId })`
//! and the router messages it delivers, and what a rejection means.

use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use crate::core::api;
use crate::core::error::{Error, ErrorCode};
use crate::core::tunnel::conversation::GatewayRequest;
use crate::web::convert::{to_js, to_json};

use super::{quoted_message, Ev, Handler, Shared};

impl Shared {
    // ---------------------------------------------------------------- signaling

    /// Calls `signaling.send(action, { timeoutMs, streamResponse })`. For the
    /// `start` message (`start`), its outcome drives the launch; for the
    /// others, events in the reply are used and failures are left to the
    /// timers (a lost candidate message is not the end of a launch).
    pub(super) fn signal(self: &Rc<Self>, req: GatewayRequest, start: bool) {
        let Some((signaling, send_fn)) = self.with(|s| (s.signaling.clone(), s.send_fn.clone()))
        else {
            return;
        };
        let Ok(action) = to_js(&req.action) else {
            if start {
                self.push(Ev::SignalingFailed(Error::invalid_input(
                    "the launch request could not be handed to JavaScript",
                )));
            }
            return;
        };
        let opts = Object::new();
        let _ = Reflect::set(&opts, &"timeoutMs".into(), &(req.timeout_ms as f64).into());
        let _ = Reflect::set(&opts, &"streamResponse".into(), &req.stream_response.into());
        if start {
            self.push(Ev::OfferSent);
        }
        let called = send_fn.call2(&signaling, &action, &opts);
        // Weak: a router that never answers must not keep the session alive.
        let weak = Rc::downgrade(self);
        spawn_local(async move {
            let result = match called {
                Ok(v) => JsFuture::from(Promise::resolve(&v)).await,
                Err(e) => Err(e),
            };
            let Some(me) = weak.upgrade() else {
                return;
            };
            let read = match result {
                Ok(v) => to_json(&v).and_then(|json| {
                    me.with(|s| s.conv.read_response(&json))
                        .unwrap_or_else(|| Ok(Vec::new()))
                }),
                Err(e) => Err(rejection_error(&e)),
            };
            match (read, start) {
                (Ok(events), _) => {
                    if start {
                        me.push(Ev::OfferAccepted);
                    }
                    for ev in events {
                        me.push(Ev::Router(ev));
                    }
                }
                (Err(e), true) => me.push(Ev::SignalingFailed(e)),
                (Err(_), false) => {}
            }
        });
    }

    /// A router websocket message from `signaling.subscribe`.
    pub(super) fn on_ws_message(self: &Rc<Self>, msg: JsValue) {
        let json = match to_json(&msg) {
            Ok(j) => j,
            Err(_) => return,
        };
        let read = self.with(|s| api::launch_ws_events(&s.conv, &json));
        match read {
            Some(Ok(events)) => {
                for ev in events {
                    self.push(Ev::Router(ev));
                }
            }
            Some(Err(e)) => self.push(Ev::SignalingFailed(e)),
            None => {}
        }
    }

    /// Calls `signaling.subscribe(handler, { conversationId })`; returns the
    /// optional `ready` promise of the unsubscribe function, awaited (bounded)
    /// just before the offer goes, so that it overlaps the offer's creation.
    pub(super) fn subscribe(self: &Rc<Self>) -> Result<Option<Promise>, Error> {
        let Some((signaling, subscribe_fn, id)) = self.with(|s| {
            (
                s.signaling.clone(),
                s.subscribe_fn.clone(),
                s.conv.id().id(),
            )
        }) else {
            return Ok(None);
        };
        let weak = Rc::downgrade(self);
        let handler: Handler = Closure::new(move |msg: JsValue| {
            if let Some(me) = weak.upgrade() {
                me.on_ws_message(msg);
            }
        });
        let hint = Object::new();
        let _ = Reflect::set(&hint, &"conversationId".into(), &id.into());
        // Owned by JavaScript from here: an adapter that calls it after the
        // session is gone reaches a no-op, not a dropped closure.
        let handler = handler.into_js_value();
        let result = subscribe_fn.call2(&signaling, &handler, &hint);
        let unsub = result.map_err(|e| {
            Error::invalid_input(format!(
                "signaling.subscribe(handler) threw: {}",
                quoted_message(&e)
            ))
        })?;
        let ready = Reflect::get(&unsub, &"ready".into()).unwrap_or(JsValue::UNDEFINED);
        if let Ok(f) = unsub.dyn_into::<Function>() {
            let closed = self
                .with(|s| {
                    if s.machine.is_closed() {
                        true
                    } else {
                        s.unsubscribe = Some(f.clone());
                        false
                    }
                })
                .unwrap_or(true);
            if closed {
                let _ = f.call0(&JsValue::NULL);
            }
        }
        let thenable = ready.is_object()
            && Reflect::get(&ready, &"then".into()).is_ok_and(|t| t.is_function());
        Ok(thenable.then(|| Promise::resolve(&ready)))
    }
}

/// What a rejected `signaling.send` means: the caller's own `code` when it is
/// one of ours, a timeout when it says so, else a refusal by the router.
pub(super) fn rejection_error(e: &JsValue) -> Error {
    let get = |k: &str| Reflect::get(e, &k.into()).unwrap_or(JsValue::UNDEFINED);
    let msg = quoted_message(e);
    let code = get("code").as_string();
    if let Some(code) = ErrorCode::ALL
        .iter()
        .find(|c| code.as_deref() == Some(c.as_str()))
    {
        return Error::new(*code, msg);
    }
    let name = get("name").as_string().unwrap_or_default();
    let status = get("status").as_f64();
    if matches!(name.as_str(), "TimeoutError" | "AbortError")
        || matches!(status, Some(s) if s == 408.0 || s == 504.0)
    {
        return Error::new(
            ErrorCode::GatewayTimeout,
            format!(
                "the gateway did not answer ({msg}): check that the gateway is online and reachable, then launch again"
            ),
        );
    }
    Error::new(
        ErrorCode::GatewayRefused,
        format!("the router did not deliver the launch to the gateway: {msg}"),
    )
}
