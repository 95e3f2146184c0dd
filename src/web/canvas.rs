//! Where a session is drawn, and the facilities of the global scope the web
//! layer runs in (a Window, a dedicated Worker, Node): `document`,
//! `devicePixelRatio`, `createImageBitmap`, `requestAnimationFrame`, all looked
//! up on `globalThis`, never through `window()`.

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, Document, HtmlCanvasElement, OffscreenCanvas};

use crate::core::error::Error;

/// The caller's canvas: a page's `<canvas>`, or an `OffscreenCanvas` (one a
/// page transferred to a Worker, or one made there).
#[derive(Clone)]
pub(crate) enum CanvasTarget {
    Element(HtmlCanvasElement),
    Offscreen(OffscreenCanvas),
}

impl CanvasTarget {
    /// `Some` for an `HTMLCanvasElement` or an `OffscreenCanvas` (checked
    /// with `instanceof`, so a realm without one of the two classes is fine).
    pub(crate) fn from_js(v: &JsValue) -> Option<Self> {
        if let Some(c) = v.dyn_ref::<HtmlCanvasElement>() {
            return Some(Self::Element(c.clone()));
        }
        v.dyn_ref::<OffscreenCanvas>()
            .map(|c| Self::Offscreen(c.clone()))
    }

    pub(crate) fn js(&self) -> JsValue {
        match self {
            Self::Element(c) => c.into(),
            Self::Offscreen(c) => c.into(),
        }
    }

    pub(crate) fn element(&self) -> Option<&HtmlCanvasElement> {
        match self {
            Self::Element(c) => Some(c),
            Self::Offscreen(_) => None,
        }
    }

    pub(crate) fn width(&self) -> u32 {
        match self {
            Self::Element(c) => c.width(),
            Self::Offscreen(c) => c.width(),
        }
    }

    pub(crate) fn height(&self) -> u32 {
        match self {
            Self::Element(c) => c.height(),
            Self::Offscreen(c) => c.height(),
        }
    }

    pub(crate) fn set_size(&self, w: u32, h: u32) {
        match self {
            Self::Element(c) => {
                c.set_width(w);
                c.set_height(h);
            }
            Self::Offscreen(c) => {
                c.set_width(w);
                c.set_height(h);
            }
        }
    }

    /// The CSS box in CSS pixels; `(0, 0)` for an `OffscreenCanvas` (it has
    /// no layout: the session is drawn 1:1 into its bitmap).
    pub(crate) fn css_size(&self) -> (i32, i32) {
        match self {
            Self::Element(c) => (c.client_width(), c.client_height()),
            Self::Offscreen(_) => (0, 0),
        }
    }

    /// Its 2D context. An `OffscreenCanvasRenderingContext2D` has the drawing
    /// methods of `CanvasRenderingContext2D` (the bindings call them by name),
    /// so one type serves both.
    pub(crate) fn context_2d(&self) -> Result<CanvasRenderingContext2d, JsValue> {
        let ctx = match self {
            Self::Element(c) => c.get_context("2d")?,
            Self::Offscreen(c) => c.get_context("2d")?,
        };
        ctx.map(JsCast::unchecked_into)
            .ok_or_else(|| JsValue::from_str("2d canvas context unavailable"))
    }
}

fn global_get(name: &str) -> JsValue {
    Reflect::get(&js_sys::global(), &name.into()).unwrap_or(JsValue::UNDEFINED)
}

/// `globalThis.document`, if this scope has one (a Window; not a Worker or Node).
pub(crate) fn document() -> Option<Document> {
    let d = global_get("document");
    if d.is_object() {
        d.dyn_into::<Document>().ok()
    } else {
        None
    }
}

/// `globalThis.devicePixelRatio`, 1 where there is none (Workers, Node),
/// bounded to 0.25..8.
pub(crate) fn device_pixel_ratio() -> f64 {
    global_get("devicePixelRatio")
        .as_f64()
        .filter(|v| v.is_finite() && *v > 0.0)
        .unwrap_or(1.0)
        .clamp(0.25, 8.0)
}

/// `globalThis.createImageBitmap(source)` (Windows and Workers have it):
/// a `Blob`, or a `VideoFrame` from `ImageDecoder`.
pub(crate) fn create_image_bitmap(source: &JsValue) -> Result<js_sys::Promise, JsValue> {
    let f: Function = global_get("createImageBitmap").dyn_into().map_err(|_| {
        JsValue::from_str("this environment has no createImageBitmap to decode images")
    })?;
    f.call1(&js_sys::global(), source)?.dyn_into()
}

#[wasm_bindgen]
extern "C" {
    /// WebCodecs' `ImageDecoder` (Chromium, Firefox; in Windows and Workers).
    #[wasm_bindgen(js_name = ImageDecoder)]
    pub(crate) type ImageDecoderJs;
    #[wasm_bindgen(constructor, catch, js_class = "ImageDecoder")]
    fn new_decoder(init: &JsValue) -> Result<ImageDecoderJs, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn decode(this: &ImageDecoderJs) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, js_name = close)]
    fn close_decoder(this: &ImageDecoderJs);

    /// Anything with a `close()`: an `ImageBitmap`, a `VideoFrame`.
    type Closable;
    #[wasm_bindgen(method, catch, structural)]
    fn close(this: &Closable) -> Result<(), JsValue>;
}

/// A decoded image, ready for `drawImage`: an `ImageBitmap`; closed when
/// dropped, drawn or not.
pub(crate) struct DecodedImage {
    pub(crate) image: JsValue,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

impl Drop for DecodedImage {
    fn drop(&mut self) {
        let _ = self.image.unchecked_ref::<Closable>().close();
    }
}

/// An image decode under way ([`start_decode`]).
pub(crate) enum PendingDecode {
    Decoder {
        decoder: ImageDecoderJs,
        promise: js_sys::Promise,
        /// For `createImageBitmap` if the decoder fails (a browser whose
        /// `ImageDecoder` does not take the type).
        bytes: Vec<u8>,
    },
    Bitmap(js_sys::Promise),
}

/// Starts decoding an image at once. PNG goes to WebCodecs' `ImageDecoder`
/// where the scope has one: its bytes are handed to the decoder directly,
/// where `createImageBitmap` needs a `Blob` (in Chromium a round trip
/// through the browser process's blob store before the decode starts,
/// several ms on a busy machine). Its pixels are createImageBitmap's for
/// PNG (tests/e2e/guac-browser.test.mjs compares them with
/// guacamole-common-js's). Its `VideoFrame` becomes an `ImageBitmap` at
/// once (in-process, well under a millisecond), since drawing a
/// `VideoFrame` costs about 0.3 ms a time against 0.01 for a bitmap.
/// Lossy formats (JPEG, WebP) come out of
/// `ImageDecoder` as YUV frames whose conversion differs by a few levels,
/// so they, and any scope without `ImageDecoder`, take `createImageBitmap`
/// (as does a PNG the decoder fails on).
pub(crate) fn start_decode(bytes: Vec<u8>, mimetype: &str) -> Result<PendingDecode, JsValue> {
    if mimetype == PNG && global_get("ImageDecoder").is_function() {
        let init = js_sys::Object::new();
        let _ = Reflect::set(
            &init,
            &"data".into(),
            &js_sys::Uint8Array::from(bytes.as_slice()),
        );
        let _ = Reflect::set(&init, &"type".into(), &mimetype.into());
        if let Ok(decoder) = ImageDecoderJs::new_decoder(&init) {
            match decoder.decode() {
                Ok(promise) => {
                    return Ok(PendingDecode::Decoder {
                        decoder,
                        promise,
                        bytes,
                    })
                }
                Err(_) => decoder.close_decoder(),
            }
        }
    }
    bitmap_promise(&bytes, mimetype).map(PendingDecode::Bitmap)
}

const PNG: &str = "image/png";

/// `createImageBitmap` of the bytes as a `Blob` of `mimetype`.
fn bitmap_promise(bytes: &[u8], mimetype: &str) -> Result<js_sys::Promise, JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mimetype);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts)?;
    create_image_bitmap(&blob)
}

impl PendingDecode {
    /// The decoded image (the decoder, if any, closed).
    pub(crate) async fn finish(self) -> Result<DecodedImage, JsValue> {
        match self {
            Self::Decoder {
                decoder,
                promise,
                bytes,
            } => {
                let result = wasm_bindgen_futures::JsFuture::from(promise).await;
                decoder.close_decoder();
                let frame = result
                    .and_then(|r| Reflect::get(&r, &"image".into()))
                    .ok()
                    .filter(JsValue::is_object);
                let Some(frame) = frame else {
                    // The decoder failed: the bytes go the other way.
                    return bitmap_of(bitmap_promise(&bytes, PNG)?).await;
                };
                drop(bytes);
                // Closed once the bitmap has its pixels.
                let bitmap = match create_image_bitmap(&frame) {
                    Ok(p) => bitmap_of(p).await,
                    Err(e) => Err(e),
                };
                let _ = frame.unchecked_ref::<Closable>().close();
                bitmap
            }
            Self::Bitmap(promise) => bitmap_of(promise).await,
        }
    }
}

/// The `ImageBitmap` a `createImageBitmap` promise resolves to.
async fn bitmap_of(promise: js_sys::Promise) -> Result<DecodedImage, JsValue> {
    let bitmap: web_sys::ImageBitmap = wasm_bindgen_futures::JsFuture::from(promise)
        .await?
        .dyn_into()?;
    Ok(DecodedImage {
        width: bitmap.width(),
        height: bitmap.height(),
        image: bitmap.into(),
    })
}

/// An animation frame, cancelled on drop: gloo-render in a Window, the
/// global `requestAnimationFrame` in a dedicated Worker (no `window` there).
pub(crate) enum AnimationFrame {
    Window(#[allow(dead_code)] gloo_render::AnimationFrame),
    Global {
        id: JsValue,
        _closure: Closure<dyn FnMut(JsValue)>,
    },
}

impl Drop for AnimationFrame {
    fn drop(&mut self) {
        if let Self::Global { id, .. } = self {
            if let Ok(cancel) = global_get("cancelAnimationFrame").dyn_into::<Function>() {
                let _ = cancel.call1(&js_sys::global(), id);
            }
        }
    }
}

/// Whether this scope can run animation frames.
pub(crate) fn has_animation_frames() -> bool {
    global_get("requestAnimationFrame").is_function()
}

/// The `UNSUPPORTED` error for a scope without `requestAnimationFrame`.
pub(crate) fn no_animation_frames(what: &str) -> Error {
    Error::unsupported(format!(
        "{what} needs requestAnimationFrame, which this environment (no window, e.g. Node) does not have: run it in a page or a dedicated Worker, or use summarizeRecording / a headless GuacamoleClient instead"
    ))
}

/// Schedules `f` for the next animation frame; `UNSUPPORTED` where the
/// scope has no `requestAnimationFrame` (never a silent no-op).
pub(crate) fn request_animation_frame(
    what: &str,
    f: impl FnOnce(f64) + 'static,
) -> Result<AnimationFrame, Error> {
    if web_sys::window().is_some() {
        return Ok(AnimationFrame::Window(
            gloo_render::request_animation_frame(f),
        ));
    }
    let raf: Function = global_get("requestAnimationFrame")
        .dyn_into()
        .map_err(|_| no_animation_frames(what))?;
    let mut once = Some(f);
    let closure = Closure::<dyn FnMut(JsValue)>::new(move |t: JsValue| {
        if let Some(f) = once.take() {
            f(t.as_f64().unwrap_or(0.0));
        }
    });
    let id = raf
        .call1(&js_sys::global(), closure.as_ref())
        .map_err(|_| no_animation_frames(what))?;
    Ok(AnimationFrame::Global {
        id,
        _closure: closure,
    })
}

/// `renderer`: draw into a canvas (default), or headless.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RendererKind {
    Canvas,
    Headless,
}

/// Reads the `renderer` option: absent is "canvas".
pub(crate) fn renderer_kind(v: &JsValue) -> Result<RendererKind, Error> {
    if v.is_undefined() || v.is_null() {
        return Ok(RendererKind::Canvas);
    }
    match v.as_string().as_deref() {
        Some("canvas") => Ok(RendererKind::Canvas),
        Some("headless") => Ok(RendererKind::Headless),
        _ => Err(Error::invalid_input(
            "renderer must be \"canvas\" (draw into options.canvas) or \"headless\" (draw nothing; report through oninstruction and onframe)",
        )),
    }
}

/// The caller's `canvas` option for the canvas renderer: an element or an
/// `OffscreenCanvas`; absent, a new `<canvas>` of this scope's `document`.
/// `INVALID_INPUT` for anything else; `UNSUPPORTED` without a document.
pub(crate) fn canvas_option(v: &JsValue) -> Result<Option<CanvasTarget>, Error> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    CanvasTarget::from_js(v).map(Some).ok_or_else(|| {
        Error::invalid_input("canvas must be an HTMLCanvasElement or an OffscreenCanvas")
    })
}

/// The `UNSUPPORTED` error for a canvas renderer with nothing to draw on.
pub(crate) fn no_canvas() -> Error {
    Error::unsupported(
        "this environment has no document to create a canvas in (a Worker or Node): pass canvas (an HTMLCanvasElement, or an OffscreenCanvas in a Worker), or renderer: \"headless\" to draw nothing",
    )
}
