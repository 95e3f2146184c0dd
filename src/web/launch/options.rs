//! Reading `launch()`'s JS options: the plan and the record, the screen
//! size, `connectAs`, `timeouts`, and the renderer's options. Every mistake
//! is an `INVALID_INPUT` (or a plan error) thrown by `launch()` at once.

use js_sys::{Array, Function, Object, Reflect};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;

use crate::web::canvas::{self, CanvasTarget, RendererKind};

use crate::core::api;
use crate::core::dag::decode_base64;
use crate::core::error::Error;
use crate::core::plan;
use crate::core::tunnel::connect_as::{self, ConnectAsUser};
use crate::core::tunnel::offer::{OfferParams, ScreenSize};
use crate::core::tunnel::state::{IceRestarts, Timeouts, MAX_ICE_RESTARTS};
use crate::core::wire::{CredentialType, GatewayInputs};
use crate::web::convert::{bytes_of, split_request, to_json};

use super::{random_bytes, DEFAULT_CLOSE_DRAIN_MS, DEFAULT_GATHERING_MS};

pub(super) fn get(o: &JsValue, k: &str) -> JsValue {
    if !o.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(o, &k.into()).unwrap_or(JsValue::UNDEFINED)
}

pub(super) fn given(v: &JsValue) -> bool {
    !v.is_undefined() && !v.is_null()
}

pub(super) fn opt_ms(o: &JsValue, k: &str) -> Result<Option<u64>, Error> {
    let v = get(o, k);
    if !given(&v) {
        return Ok(None);
    }
    v.as_f64()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .map(|x| Some(x as u64))
        .ok_or_else(|| Error::invalid_input(format!("timeouts.{k} must be a number of ms >= 0")))
}

/// `timeouts.iceRestartMs`: an array of at most 4 numbers of ms >= 0.
pub(super) fn ms_list(v: &JsValue, k: &str) -> Result<Vec<u64>, Error> {
    let bad = || {
        Error::invalid_input(format!(
            "timeouts.{k} must be an array of at most {MAX_ICE_RESTARTS} numbers of ms >= 0"
        ))
    };
    if !Array::is_array(v) {
        return Err(bad());
    }
    let a = Array::from(v);
    if a.length() as usize > MAX_ICE_RESTARTS {
        return Err(bad());
    }
    a.iter()
        .map(|x| {
            x.as_f64()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .map(|x| x as u64)
                .ok_or_else(bad)
        })
        .collect()
}

/// The plan's inputs and the record, from `options.plan` (a plan, or the
/// request to plan) and `options.record`.
pub(super) fn plan_and_record(options: &JsValue) -> Result<(GatewayInputs, Value), Error> {
    let plan_js = get(options, "plan");
    let record_js = get(options, "record");
    if !plan_js.is_object() {
        return Err(Error::invalid_input(
            "plan is required: the result of planLaunch, or the request to plan ({ recordUid, record, ... })",
        ));
    }
    let has_inputs = Reflect::has(&plan_js, &"inputs".into()).unwrap_or(false);
    if has_inputs {
        let plan = to_json(&plan_js)?;
        let record = to_json(&record_js)?;
        if !record.is_object() {
            return Err(Error::invalid_input(
                "record is required with a plan: the typed record JSON of the PAM resource (for its trafficEncryptionSeed, host and clipboard policy)",
            ));
        }
        return Ok((api::plan_inputs(&plan)?, record));
    }
    let (dag, key, rest) = split_request(&plan_js)?;
    let req = api::launch_request(&rest, dag, key)?;
    let record = if given(&record_js) {
        to_json(&record_js)?
    } else {
        req.record.clone()
    };
    Ok((plan::plan(&req)?.inputs, record))
}

/// The display size: the options', else the canvas's CSS box × devicePixelRatio.
pub(super) fn screen_size(options: &JsValue, canvas: Option<&HtmlCanvasElement>) -> ScreenSize {
    let dpr = canvas::device_pixel_ratio();
    let (css_w, css_h) = canvas.map_or((0, 0), |c| (c.client_width(), c.client_height()));
    let (mut w, mut h) = if css_w > 0 && css_h > 0 {
        (
            (f64::from(css_w) * dpr).round() as u32,
            (f64::from(css_h) * dpr).round() as u32,
        )
    } else {
        match canvas.map(|c| (c.width(), c.height())) {
            Some((cw, ch)) if cw > 0 && ch > 0 => (cw, ch),
            _ => (1024, 768),
        }
    };
    let mut dpi = (96.0 * dpr).round() as u32;
    let num = |k: &str| {
        get(options, k)
            .as_f64()
            .filter(|x| x.is_finite() && *x >= 1.0)
            .map(|x| x.min(16_384.0) as u32)
    };
    if let Some(v) = num("width") {
        w = v;
    }
    if let Some(v) = num("height") {
        h = v;
    }
    if let Some(v) = num("dpi") {
        dpi = v;
    }
    ScreenSize {
        width: w.max(1),
        height: h.max(1),
        dpi: dpi.max(1),
    }
}

/// The ConnectAs block for `connectAs: { gatewayPublicKey, username, password, ... }`.
pub(super) fn connect_as_block(
    options: &JsValue,
    inputs: &GatewayInputs,
) -> Result<Option<Vec<u8>>, Error> {
    let v = get(options, "connectAs");
    if !given(&v) {
        return Ok(None);
    }
    if inputs.credential_type != Some(CredentialType::UserSupplied) {
        return Err(Error::invalid_input(
            "connectAs is only for launches whose plan has credentialType \"userSupplied\"",
        ));
    }
    if !v.is_object() {
        return Err(Error::invalid_input(
            "connectAs must be { gatewayPublicKey, username, password, ... }",
        ));
    }
    let key_js = get(&v, "gatewayPublicKey");
    let key = bytes_of(&key_js)
        .or_else(|| key_js.as_string().and_then(|t| decode_base64(t.trim())))
        .ok_or_else(|| {
            Error::invalid_input(
                "connectAs.gatewayPublicKey is required: the gateway's P-256 public key as bytes or base64",
            )
        })?;
    let user = Object::new();
    for entry in Object::entries(v.unchecked_ref()).iter() {
        let pair: Array = entry.unchecked_into();
        if pair.get(0).as_string().as_deref() == Some("gatewayPublicKey") {
            continue;
        }
        let _ = Reflect::set(&user, &pair.get(0), &pair.get(1));
    }
    let user = ConnectAsUser::from_json(&to_json(&user)?)?;
    let nonce = random_bytes::<{ connect_as::NONCE_LEN }>()?;
    let mut last = None;
    // A random 32-byte string is a valid P-256 secret but for ~2^-32 of draws.
    for _ in 0..4 {
        match connect_as::seal(&user, &key, &random_bytes::<32>()?, &nonce) {
            Ok(block) => return Ok(Some(block)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::invalid_input("connectAs could not be sealed")))
}

pub(super) fn function_of(o: &JsValue, k: &str, what: &str) -> Result<Function, Error> {
    get(o, k)
        .dyn_into::<Function>()
        .map_err(|_| Error::invalid_input(format!("{what} must be a function")))
}

/// The renderer's options: ours plus the caller's renderer settings.
pub(super) fn renderer_options(
    options: &JsValue,
    send: &JsValue,
    canvas: Option<&CanvasTarget>,
    renderer: RendererKind,
    size: ScreenSize,
    params: &OfferParams,
) -> Object {
    let o = Object::new();
    let set = |k: &str, v: &JsValue| {
        let _ = Reflect::set(&o, &k.into(), v);
    };
    set("send", send);
    if let Some(c) = canvas {
        set("canvas", &c.js());
    }
    set(
        "renderer",
        &match renderer {
            RendererKind::Canvas => "canvas",
            RendererKind::Headless => "headless",
        }
        .into(),
    );
    set("mode", &"gateway".into());
    set("width", &size.width.into());
    set("height", &size.height.into());
    set("dpi", &size.dpi.into());
    set("disableCopy", &params.clipboard.disable_copy.into());
    set("disablePaste", &params.clipboard.disable_paste.into());
    for k in [
        "autoScale",
        "keypadEnter",
        "timezone",
        "audio",
        "image",
        "oninstruction",
    ] {
        let v = get(options, k);
        if given(&v) {
            set(k, &v);
        }
    }
    o
}

/// `options.timeouts`: the machine's timers into `t`; returns the web
/// layer's own (ICE gathering, close drain).
pub(super) fn timeouts(options: &JsValue, t: &mut Timeouts) -> Result<(u32, u32), Error> {
    let timeouts = get(options, "timeouts");
    let (mut gathering_ms, mut close_drain_ms) = (DEFAULT_GATHERING_MS, DEFAULT_CLOSE_DRAIN_MS);
    if given(&timeouts) {
        if let Some(v) = opt_ms(&timeouts, "answerMs")? {
            t.answer_ms = v;
        }
        if let Some(v) = opt_ms(&timeouts, "channelMs")? {
            t.channel_ms = v;
        }
        if let Some(v) = opt_ms(&timeouts, "openMs")? {
            t.open_ms = v;
        }
        if let Some(v) = opt_ms(&timeouts, "firstFrameMs")? {
            t.first_frame_ms = v;
        }
        let keepalive = get(&timeouts, "keepaliveMs");
        if keepalive.is_null() {
            t.keepalive_ms = None;
        } else if let Some(v) = opt_ms(&timeouts, "keepaliveMs")? {
            t.keepalive_ms = (v > 0).then_some(v);
        }
        let ping = get(&timeouts, "pingMs");
        if ping.is_null() {
            t.ping_ms = None;
        } else if let Some(v) = opt_ms(&timeouts, "pingMs")? {
            t.ping_ms = (v > 0).then_some(v);
        }
        if let Some(v) = opt_ms(&timeouts, "gatheringMs")? {
            gathering_ms = v.min(u64::from(u32::MAX)) as u32;
        }
        if let Some(v) = opt_ms(&timeouts, "closeDrainMs")? {
            close_drain_ms = v.min(u64::from(u32::MAX)) as u32;
        }
        let delays = get(&timeouts, "iceRestartMs");
        if given(&delays) {
            let list = ms_list(&delays, "iceRestartMs")?;
            let give_up =
                opt_ms(&timeouts, "iceRestartGiveUpMs")?.unwrap_or(t.ice_restart.give_up_ms);
            t.ice_restart = IceRestarts::from_delays(&list, give_up);
        } else if let Some(v) = opt_ms(&timeouts, "iceRestartGiveUpMs")? {
            t.ice_restart.give_up_ms = v;
        }
    }
    Ok((gathering_ms, close_drain_ms))
}

/// `options.RTCPeerConnection`, else `globalThis.RTCPeerConnection`: the
/// constructor of the peer connection. Not a function: `INVALID_INPUT`;
/// none anywhere: `UNSUPPORTED`.
pub(super) fn peer_connection_class(options: &JsValue) -> Result<Function, Error> {
    let v = get(options, "RTCPeerConnection");
    if given(&v) {
        return v.dyn_into::<Function>().map_err(|_| {
            Error::invalid_input(
                "RTCPeerConnection must be a class (a constructor like the browser's RTCPeerConnection, e.g. node-datachannel's polyfill)",
            )
        });
    }
    Reflect::get(&js_sys::global(), &"RTCPeerConnection".into())
        .ok()
        .and_then(|c| c.dyn_into::<Function>().ok())
        .ok_or_else(|| {
            Error::unsupported(
                "this environment has no RTCPeerConnection (WebRTC): pass options.RTCPeerConnection, e.g. node-datachannel's polyfill (import { RTCPeerConnection } from 'node-datachannel/polyfill') in Node",
            )
        })
}
