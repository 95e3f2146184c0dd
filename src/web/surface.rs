//! The display's drawing surfaces: 2D canvases that are either
//! `HTMLCanvasElement`s (a page) or `OffscreenCanvas`es (a dedicated Worker,
//! where there is no `document` to create elements in).
//!
//! The two canvas types and their two 2D context types have the same
//! members for everything the display does (size, `getContext("2d")`,
//! paths, fills, `drawImage`, `getImageData`/`putImageData`, patterns,
//! transforms), so they are bound here structurally: [`Canvas`] and
//! [`Ctx2d`] call the members by name and work on either. What tells them
//! apart is never needed: a layer canvas is an element where the scope has a
//! `document` and an `OffscreenCanvas` where it has none.

use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, ImageData};

type JsResult<T = ()> = Result<T, JsValue>;

#[wasm_bindgen]
extern "C" {
    /// An `HTMLCanvasElement` or an `OffscreenCanvas`.
    #[wasm_bindgen(extends = js_sys::Object, typescript_type = "HTMLCanvasElement | OffscreenCanvas")]
    #[derive(Clone, Debug)]
    pub type Canvas;

    #[wasm_bindgen(method, getter)]
    pub fn width(this: &Canvas) -> u32;
    #[wasm_bindgen(method, setter)]
    pub fn set_width(this: &Canvas, v: u32);
    #[wasm_bindgen(method, getter)]
    pub fn height(this: &Canvas) -> u32;
    #[wasm_bindgen(method, setter)]
    pub fn set_height(this: &Canvas, v: u32);
    #[wasm_bindgen(method, catch, js_name = getContext)]
    fn get_context_raw(this: &Canvas, kind: &str) -> Result<JsValue, JsValue>;

    /// `OffscreenCanvas` (its constructor and `instanceof`).
    #[wasm_bindgen(extends = Canvas, js_name = OffscreenCanvas)]
    #[derive(Clone, Debug)]
    pub type Offscreen;
    #[wasm_bindgen(constructor, catch, js_class = "OffscreenCanvas")]
    fn new_offscreen(width: u32, height: u32) -> Result<Offscreen, JsValue>;

    /// A `CanvasRenderingContext2D` or an `OffscreenCanvasRenderingContext2D`.
    #[wasm_bindgen(extends = js_sys::Object)]
    #[derive(Clone, Debug)]
    pub type Ctx2d;

    #[wasm_bindgen(method)]
    pub fn save(this: &Ctx2d);
    #[wasm_bindgen(method)]
    pub fn restore(this: &Ctx2d);
    #[wasm_bindgen(method, js_name = beginPath)]
    pub fn begin_path(this: &Ctx2d);
    #[wasm_bindgen(method, js_name = closePath)]
    pub fn close_path(this: &Ctx2d);
    #[wasm_bindgen(method)]
    pub fn rect(this: &Ctx2d, x: f64, y: f64, w: f64, h: f64);
    #[wasm_bindgen(method, js_name = clearRect)]
    pub fn clear_rect(this: &Ctx2d, x: f64, y: f64, w: f64, h: f64);
    #[wasm_bindgen(method, js_name = moveTo)]
    pub fn move_to(this: &Ctx2d, x: f64, y: f64);
    #[wasm_bindgen(method, js_name = lineTo)]
    pub fn line_to(this: &Ctx2d, x: f64, y: f64);
    #[wasm_bindgen(method, catch)]
    pub fn arc(
        this: &Ctx2d,
        x: f64,
        y: f64,
        r: f64,
        start: f64,
        end: f64,
        anticlockwise: bool,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(method, js_name = bezierCurveTo)]
    pub fn bezier_curve_to(
        this: &Ctx2d,
        cp1x: f64,
        cp1y: f64,
        cp2x: f64,
        cp2y: f64,
        x: f64,
        y: f64,
    );
    #[wasm_bindgen(method)]
    pub fn clip(this: &Ctx2d);
    #[wasm_bindgen(method)]
    pub fn fill(this: &Ctx2d);
    #[wasm_bindgen(method)]
    pub fn stroke(this: &Ctx2d);
    /// A colour string or a pattern.
    #[wasm_bindgen(method, setter = fillStyle)]
    pub fn set_fill_style(this: &Ctx2d, v: &JsValue);
    #[wasm_bindgen(method, setter = strokeStyle)]
    pub fn set_stroke_style(this: &Ctx2d, v: &JsValue);
    /// `null` for an image it cannot repeat.
    #[wasm_bindgen(method, catch, js_name = createPattern)]
    pub fn create_pattern(
        this: &Ctx2d,
        image: &Canvas,
        repetition: &str,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, setter = lineCap)]
    pub fn set_line_cap(this: &Ctx2d, v: &str);
    #[wasm_bindgen(method, setter = lineJoin)]
    pub fn set_line_join(this: &Ctx2d, v: &str);
    #[wasm_bindgen(method, setter = lineWidth)]
    pub fn set_line_width(this: &Ctx2d, v: f64);
    #[wasm_bindgen(method, setter = miterLimit)]
    pub fn set_miter_limit(this: &Ctx2d, v: f64);
    #[wasm_bindgen(method, setter = imageSmoothingEnabled)]
    pub fn set_image_smoothing_enabled(this: &Ctx2d, v: bool);
    #[wasm_bindgen(method, getter = globalAlpha)]
    pub fn global_alpha(this: &Ctx2d) -> f64;
    #[wasm_bindgen(method, setter = globalAlpha)]
    pub fn set_global_alpha(this: &Ctx2d, v: f64);
    #[wasm_bindgen(method, getter = globalCompositeOperation)]
    pub fn global_composite_operation(this: &Ctx2d) -> String;
    #[wasm_bindgen(method, setter = globalCompositeOperation)]
    pub fn set_global_composite_operation(this: &Ctx2d, v: &str);
    #[wasm_bindgen(method, catch, js_name = setTransform)]
    pub fn set_transform(
        this: &Ctx2d,
        a: f64,
        b: f64,
        c: f64,
        d: f64,
        e: f64,
        f: f64,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    pub fn transform(
        this: &Ctx2d,
        a: f64,
        b: f64,
        c: f64,
        d: f64,
        e: f64,
        f: f64,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    pub fn translate(this: &Ctx2d, x: f64, y: f64) -> Result<(), JsValue>;
    /// `drawImage(canvas, dx, dy)`.
    #[wasm_bindgen(method, catch, js_name = drawImage)]
    pub fn draw_canvas(this: &Ctx2d, image: &Canvas, dx: f64, dy: f64) -> Result<(), JsValue>;
    /// `drawImage(image, dx, dy)` for a decoded image (an `ImageBitmap`
    /// or a `VideoFrame`: [`super::canvas::DecodedImage`]).
    #[wasm_bindgen(method, catch, js_name = drawImage)]
    pub fn draw_decoded(this: &Ctx2d, image: &JsValue, dx: f64, dy: f64) -> Result<(), JsValue>;
    /// `drawImage(canvas, sx, sy, sw, sh, dx, dy, dw, dh)`.
    #[wasm_bindgen(method, catch, js_name = drawImage)]
    pub fn draw_canvas_part(
        this: &Ctx2d,
        image: &Canvas,
        sx: f64,
        sy: f64,
        sw: f64,
        sh: f64,
        dx: f64,
        dy: f64,
        dw: f64,
        dh: f64,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = getImageData)]
    pub fn get_image_data(
        this: &Ctx2d,
        x: f64,
        y: f64,
        w: f64,
        h: f64,
    ) -> Result<ImageData, JsValue>;
    #[wasm_bindgen(method, catch, js_name = putImageData)]
    pub fn put_image_data(this: &Ctx2d, data: &ImageData, dx: f64, dy: f64) -> Result<(), JsValue>;

}

impl Canvas {
    /// A canvas of the current scope: an element when there is a `document`,
    /// else an `OffscreenCanvas` (a Worker).
    pub fn create(w: u32, h: u32) -> JsResult<Canvas> {
        if let Some(doc) = super::canvas::document() {
            let c: HtmlCanvasElement = doc.create_element("canvas")?.dyn_into()?;
            c.set_width(w);
            c.set_height(h);
            return Ok(c.unchecked_into());
        }
        if !has_global("OffscreenCanvas") {
            return Err(JsValue::from_str(
                "no document and no OffscreenCanvas: the renderer cannot create its layers here",
            ));
        }
        Ok(Offscreen::new_offscreen(w, h)?.unchecked_into())
    }

    /// Its 2D context (the same object on every call).
    pub fn context_2d(&self) -> JsResult<Ctx2d> {
        let ctx = self.get_context_raw("2d")?;
        if ctx.is_null() || ctx.is_undefined() {
            return Err(JsValue::from_str("2d canvas context unavailable"));
        }
        Ok(ctx.unchecked_into())
    }
}

fn has_global(name: &str) -> bool {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name))
        .map(|v| !v.is_undefined())
        .unwrap_or(false)
}

/// A new canvas of `w` x `h` and its 2D context.
pub fn new_canvas(w: u32, h: u32) -> JsResult<(Canvas, Ctx2d)> {
    let c = Canvas::create(w, h)?;
    let ctx = c.context_2d()?;
    Ok((c, ctx))
}
