//! The display: Guacamole layers as canvases, drawing operations, and the
//! composition of visible layers into the caller's canvas.
//!
//! Semantics follow guacamole-common-js's `Layer`/`Display` so that the same
//! stream gives the same pixels: each layer's backing canvas is rounded up to
//! a multiple of 64 px, a real resize keeps the content inside the old
//! logical size, buffers (negative indices) grow to fit every draw, a path is
//! restarted after a fill/stroke/clip, and `copy` clips to the source canvas.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use wasm_bindgen::{Clamped, JsValue};
use web_sys::ImageData;

use super::canvas::DecodedImage;

pub use super::surface::new_canvas;
use super::surface::{Canvas, Ctx2d};

use crate::core::guac::display::{DisplayOp, LayerId};

/// Backing canvases are sized in multiples of this (as common-js does).
const CANVAS_SIZE_FACTOR: u32 = 64;
/// The layer limits (with every other one in `core::guac::limits`): the
/// largest layer side (larger `size` requests are clamped), the layers and
/// buffers alive at once (new ones past it are refused), and the backing
/// pixels of all layers (64 M pixels, 256 MiB of RGBA; a resize past it is
/// refused), so a hostile stream cannot exhaust memory.
pub use crate::core::guac::limits::{MAX_LAYERS, MAX_LAYER_DIM, MAX_TOTAL_PIXELS};
/// The spare canvases' bounds ([`Pool`]).
pub use crate::core::guac::limits::{MAX_POOLED_CANVASES, MAX_POOLED_PIXELS};

/// Pixels allocated across a display's layers, shared by its layers.
type Budget = std::rc::Rc<std::cell::Cell<u64>>;

/// Spare layer canvases, allocated ahead of the frame that needs them.
///
/// A canvas costs its allocation the first time it is drawn on after being
/// sized (Chromium: about 1.6 ms for 1024x768 on this project's bench
/// machine, the bulk of a first frame's drawing time). A `size` operation
/// arrives with the first bytes of its frame, well before the frame's
/// `sync` and images, so [`Display::prepare`] allocates the canvas then and
/// the resize, when the frame is drawn, takes it from here. A spare is
/// fresh (never drawn on, default state) and belongs to no layer or
/// keyframe until a resize takes it. Bounded by [`MAX_POOLED_CANVASES`] and
/// [`MAX_POOLED_PIXELS`]: past them a resize allocates as it goes.
#[derive(Default)]
struct Pool {
    /// (canvas, its context, backing width, backing height)
    spare: Vec<(Canvas, Ctx2d, u32, u32)>,
    pixels: u64,
}

type PoolRef = Rc<RefCell<Pool>>;

impl Pool {
    /// A spare canvas whose backing is exactly `cw` x `ch`, if there is one.
    fn take(&mut self, cw: u32, ch: u32) -> Option<(Canvas, Ctx2d)> {
        let i = self
            .spare
            .iter()
            .position(|&(_, _, w, h)| w == cw && h == ch)?;
        let (c, x, w, h) = self.spare.swap_remove(i);
        self.pixels = self.pixels.saturating_sub(u64::from(w) * u64::from(h));
        Some((c, x))
    }

    /// Allocates a spare of `cw` x `ch` (its bitmap too) unless that would
    /// pass the pool's bounds.
    fn prepare(&mut self, cw: u32, ch: u32) -> JsResult {
        let px = u64::from(cw) * u64::from(ch);
        if px == 0
            || self.spare.len() >= MAX_POOLED_CANVASES
            || self.pixels.saturating_add(px) > MAX_POOLED_PIXELS
        {
            return Ok(());
        }
        let (c, x) = new_canvas(cw, ch)?;
        // The first state call allocates the bitmap: now, not when drawn.
        x.save();
        x.restore();
        self.pixels += px;
        self.spare.push((c, x, cw, ch));
        Ok(())
    }
}

type JsResult<T = ()> = Result<T, JsValue>;

fn ceil64(v: u32) -> u32 {
    v.div_ceil(CANVAS_SIZE_FACTOR)
        .saturating_mul(CANVAS_SIZE_FACTOR)
}

/// Channel mask to canvas composite operation (`Layer.js`); unimplemented masks keep source-over.
pub fn composite_op(mask: u8) -> &'static str {
    match mask {
        0x1 => "destination-in",
        0x2 => "destination-out",
        0x4 => "source-in",
        0x6 => "source-atop",
        0x8 => "source-out",
        0x9 => "destination-atop",
        0xA => "xor",
        0xB => "destination-over",
        0xC => "copy",
        0xF => "lighter",
        _ => "source-over",
    }
}

/// `#rrggbbaa`: the alpha byte as it is (CSS reads it as a / 255, the same
/// colour `rgba(r,g,b,a/255)` gave) with no float formatting in the module.
fn css_rgba(r: u8, g: u8, b: u8, a: u8) -> String {
    let mut s = String::with_capacity(9);
    s.push('#');
    for v in [r, g, b, a] {
        for nibble in [v >> 4, v & 15] {
            s.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
    s
}

struct Layer {
    budget: Budget,
    pool: PoolRef,
    canvas: Canvas,
    ctx: Ctx2d,
    width: u32,
    height: u32,
    autosize: bool,
    empty: bool,
    /// Nothing drawn on the canvas since it was allocated (transparent), so
    /// the composite can leave it out.
    blank: bool,
    path_closed: bool,
    stack: u32,
    parent: LayerId,
    x: i32,
    y: i32,
    z: i32,
    alpha: u8,
    matrix: Option<[f64; 6]>,
    /// The context holds state a keyframe does not carry (a `push`ed save,
    /// a clip, a transform, a miter limit) until the next `reset` or resize.
    ctx_dirty: bool,
    /// Path operations since the last fill, stroke or clip (a path a later
    /// frame could still fill).
    path_pending: bool,
    /// Changes with every draw on the layer (unique across displays), so a
    /// keyframe can share an unchanged layer's pixels with the one before.
    gen: u64,
    /// What the context's current state is known to hold, so an operation
    /// sets only what changes (each set is a call into JS with a string):
    /// the composite operation and the `cfill` colour. `None` after
    /// anything that may have changed them (a `restore`, a new canvas, a
    /// pattern fill).
    op_set: Option<&'static str>,
    fill_set: Option<[u8; 4]>,
}

thread_local! {
    static GENERATION: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A generation number never handed out before.
fn next_gen() -> u64 {
    GENERATION.with(|g| {
        let v = g.get().wrapping_add(1);
        g.set(v);
        v
    })
}

impl Layer {
    fn new(id: LayerId, budget: Budget, pool: PoolRef) -> JsResult<Self> {
        let (canvas, ctx) = new_canvas(0, 0)?;
        ctx.save();
        Ok(Self {
            budget,
            pool,
            canvas,
            ctx,
            width: 0,
            height: 0,
            autosize: id < 0,
            empty: true,
            blank: true,
            path_closed: true,
            stack: 0,
            parent: 0,
            x: 0,
            y: 0,
            z: 0,
            alpha: 255,
            matrix: None,
            ctx_dirty: false,
            path_pending: false,
            gen: next_gen(),
            op_set: None,
            fill_set: None,
        })
    }

    /// The context's state may differ from what `op_set`/`fill_set` say.
    fn forget_state(&mut self) {
        self.op_set = None;
        self.fill_set = None;
    }

    /// The layer's pixels (may) have changed.
    fn touch(&mut self) {
        self.empty = false;
        self.blank = false;
        self.gen = next_gen();
    }

    fn resize(&mut self, w: u32, h: u32) -> JsResult {
        let (w, h) = (w.min(MAX_LAYER_DIM), h.min(MAX_LAYER_DIM));
        let (cw, ch) = (ceil64(w), ceil64(h));
        if self.canvas.width() != cw || self.canvas.height() != ch {
            let old_px = u64::from(self.canvas.width()) * u64::from(self.canvas.height());
            let new_px = u64::from(cw) * u64::from(ch);
            let total = self
                .budget
                .get()
                .saturating_sub(old_px)
                .saturating_add(new_px);
            if total > MAX_TOTAL_PIXELS {
                return Err(JsValue::from_str(&format!(
                    "layer resize to {w}x{h} refused: the display would exceed {MAX_TOTAL_PIXELS} pixels"
                )));
            }
            self.budget.set(total);
            let keep_w = self.width.min(w);
            let keep_h = self.height.min(h);
            let keep = !self.empty
                && self.canvas.width() != 0
                && self.canvas.height() != 0
                && keep_w > 0
                && keep_h > 0;
            // A canvas of the new size (a spare allocated when the `size`
            // arrived, else a new one) gets what stays of the old content;
            // the old canvas goes. Same pixels as resizing the old canvas in
            // place (copied onto transparent, source-over), one copy fewer.
            let op = match self.op_set {
                Some(op) => op.to_string(),
                None => self.ctx.global_composite_operation(),
            };
            let spare = self.pool.borrow_mut().take(cw, ch);
            let (canvas, ctx) = match spare {
                Some(c) => c,
                None => new_canvas(cw, ch)?,
            };
            if keep {
                ctx.draw_canvas_part(
                    &self.canvas,
                    0.0,
                    0.0,
                    keep_w.into(),
                    keep_h.into(),
                    0.0,
                    0.0,
                    keep_w.into(),
                    keep_h.into(),
                )?;
            }
            ctx.set_global_composite_operation(&op);
            ctx.save();
            self.canvas = canvas;
            self.ctx = ctx;
            self.forget_state();
            self.blank = self.blank || !keep;
            self.stack = 0;
            self.gen = next_gen();
            self.ctx_dirty = false;
            self.path_pending = false;
        } else {
            self.reset();
        }
        self.width = w;
        self.height = h;
        Ok(())
    }

    /// Gives the layer's pixels back to the budget (disposal).
    fn release(&self) {
        let px = u64::from(self.canvas.width()) * u64::from(self.canvas.height());
        self.budget.set(self.budget.get().saturating_sub(px));
    }

    fn fit(&mut self, x: f64, y: f64, w: f64, h: f64) -> JsResult {
        if !self.autosize {
            return Ok(());
        }
        let bx = (x + w).clamp(0.0, f64::from(MAX_LAYER_DIM)) as u32;
        let by = (y + h).clamp(0.0, f64::from(MAX_LAYER_DIM)) as u32;
        let nw = bx.max(self.width);
        let nh = by.max(self.height);
        if nw != self.width || nh != self.height {
            self.resize(nw, nh)?;
        }
        Ok(())
    }

    fn reset(&mut self) {
        while self.stack > 0 {
            self.ctx.restore();
            self.stack -= 1;
        }
        self.ctx.restore();
        self.ctx.save();
        self.forget_state();
        self.ctx.begin_path();
        self.path_closed = false;
        self.ctx_dirty = false;
        self.path_pending = false;
    }

    fn begin_path_op(&mut self) {
        self.path_pending = true;
        if self.path_closed {
            self.ctx.begin_path();
            self.path_closed = false;
        }
    }

    fn set_mask(&mut self, mask: u8) {
        let op = composite_op(mask);
        if self.op_set != Some(op) {
            self.ctx.set_global_composite_operation(op);
            self.op_set = Some(op);
        }
    }

    fn set_fill_colour(&mut self, r: u8, g: u8, b: u8, a: u8) {
        if self.fill_set != Some([r, g, b, a]) {
            self.ctx.set_fill_style(&css_rgba(r, g, b, a).into());
            self.fill_set = Some([r, g, b, a]);
        }
    }
}

/// The cursor image and hotspot.
struct Cursor {
    canvas: Canvas,
    hot_x: i32,
    hot_y: i32,
}

/// The layers of one session.
pub struct Display {
    layers: BTreeMap<LayerId, Layer>,
    cursor: Option<Cursor>,
    /// Where to draw the cursor (remote pixels), from local mouse or server `mouse`.
    pointer: Option<(i32, i32)>,
    refused: u64,
    budget: Budget,
    pool: PoolRef,
}

impl Display {
    pub fn new() -> JsResult<Self> {
        let mut d = Self {
            layers: BTreeMap::new(),
            cursor: None,
            pointer: None,
            refused: 0,
            budget: Budget::default(),
            pool: PoolRef::default(),
        };
        d.layer(0)?;
        Ok(d)
    }

    /// Remote display size (layer 0).
    pub fn size(&self) -> (u32, u32) {
        self.layers.get(&0).map_or((0, 0), |l| (l.width, l.height))
    }

    /// Layers refused because of [`MAX_LAYERS`].
    pub fn refused_layers(&self) -> u64 {
        self.refused
    }

    /// Canvases the display holds: one per layer or buffer (layer 0
    /// included), plus the cursor's and the spares of the [`Pool`] (a
    /// frame's `size`s not drawn yet; at most [`MAX_POOLED_CANVASES`]).
    /// Read-only, for `canvasCount`.
    pub fn canvas_count(&self) -> usize {
        self.layers.len() + usize::from(self.cursor.is_some()) + self.pool.borrow().spare.len()
    }

    fn layer(&mut self, id: LayerId) -> JsResult<Option<&mut Layer>> {
        if !self.layers.contains_key(&id) {
            if self.layers.len() >= MAX_LAYERS {
                self.refused += 1;
                return Ok(None);
            }
            let l = Layer::new(id, self.budget.clone(), self.pool.clone())?;
            self.layers.insert(id, l);
        }
        Ok(self.layers.get_mut(&id))
    }

    fn canvas_of(&mut self, id: LayerId) -> JsResult<Option<Canvas>> {
        Ok(self.layer(id)?.map(|l| l.canvas.clone()))
    }

    /// A `size` for `layer` has arrived in a frame not drawn yet: when the
    /// layer's canvas will need a new backing size, allocate it now, as a
    /// spare the resize takes when the frame is drawn ([`Pool`]). Nothing
    /// visible changes.
    pub fn prepare(&mut self, layer: LayerId, width: u32, height: u32) -> JsResult {
        let (cw, ch) = (
            ceil64(width.min(MAX_LAYER_DIM)),
            ceil64(height.min(MAX_LAYER_DIM)),
        );
        if let Some(l) = self.layers.get(&layer) {
            if l.canvas.width() == cw && l.canvas.height() == ch {
                return Ok(());
            }
        }
        self.pool.borrow_mut().prepare(cw, ch)
    }

    /// Moves the drawn cursor (remote pixels).
    pub fn set_pointer(&mut self, x: i32, y: i32) {
        self.pointer = Some((x, y));
    }

    /// Applies one operation. Image operations use an already decoded bitmap.
    pub fn apply(&mut self, op: &DisplayOp) -> JsResult {
        match *op {
            DisplayOp::Size {
                layer,
                width,
                height,
            } => {
                if let Some(l) = self.layer(layer)? {
                    l.resize(width, height)?;
                    // Not a pixel change (`blank` stays), but `empty` as common-js has it.
                    l.empty = false;
                    l.gen = next_gen();
                }
            }
            DisplayOp::Move {
                layer,
                parent,
                x,
                y,
                z,
            } => {
                if layer > 0 && parent >= 0 && layer != parent {
                    self.layer(parent)?;
                    if let Some(l) = self.layer(layer)? {
                        l.parent = parent;
                        l.x = x;
                        l.y = y;
                        l.z = z;
                    }
                }
            }
            DisplayOp::Shade { layer, alpha } => {
                if layer > 0 {
                    if let Some(l) = self.layer(layer)? {
                        l.alpha = alpha;
                    }
                }
            }
            DisplayOp::Distort { layer, m } => {
                if layer > 0 {
                    if let Some(l) = self.layer(layer)? {
                        l.matrix = Some(m);
                    }
                }
            }
            DisplayOp::Dispose { layer } => {
                if layer != 0 {
                    if let Some(l) = self.layers.remove(&layer) {
                        l.release();
                    }
                    // Children of a disposed visible layer go with it.
                    if layer > 0 {
                        let orphans: Vec<LayerId> = self
                            .layers
                            .iter()
                            .filter(|(_, l)| l.parent == layer)
                            .map(|(k, _)| *k)
                            .collect();
                        for o in orphans {
                            if o > 0 {
                                if let Some(l) = self.layers.remove(&o) {
                                    l.release();
                                }
                            }
                        }
                    }
                }
            }
            DisplayOp::Copy {
                src,
                sx,
                sy,
                w,
                h,
                mask,
                dst,
                dx,
                dy,
            } => {
                let Some(src_canvas) = self.canvas_of(src)? else {
                    return Ok(());
                };
                let Some(l) = self.layer(dst)? else {
                    return Ok(());
                };
                let (sw, sh) = (
                    i64::from(src_canvas.width()),
                    i64::from(src_canvas.height()),
                );
                let (sx, sy, mut w, mut h) =
                    (i64::from(sx), i64::from(sy), i64::from(w), i64::from(h));
                if sx >= sw || sy >= sh {
                    return Ok(());
                }
                if sx + w > sw {
                    w = sw - sx;
                }
                if sy + h > sh {
                    h = sh - sy;
                }
                if w <= 0 || h <= 0 {
                    return Ok(());
                }
                l.set_mask(mask);
                l.fit(f64::from(dx), f64::from(dy), w as f64, h as f64)?;
                l.ctx.draw_canvas_part(
                    &src_canvas,
                    sx as f64,
                    sy as f64,
                    w as f64,
                    h as f64,
                    f64::from(dx),
                    f64::from(dy),
                    w as f64,
                    h as f64,
                )?;
                l.touch();
            }
            DisplayOp::Transfer {
                src,
                sx,
                sy,
                w,
                h,
                function,
                dst,
                dx,
                dy,
            } => {
                self.transfer(src, sx, sy, w, h, function, dst, dx, dy)?;
            }
            DisplayOp::Rect { layer, x, y, w, h } => {
                if let Some(l) = self.layer(layer)? {
                    l.begin_path_op();
                    l.fit(x.into(), y.into(), w.into(), h.into())?;
                    l.ctx.rect(x.into(), y.into(), w.into(), h.into());
                }
            }
            DisplayOp::Start { layer, x, y } => {
                if let Some(l) = self.layer(layer)? {
                    l.begin_path_op();
                    l.fit(x.into(), y.into(), 0.0, 0.0)?;
                    l.ctx.move_to(x.into(), y.into());
                }
            }
            DisplayOp::Line { layer, x, y } => {
                if let Some(l) = self.layer(layer)? {
                    l.begin_path_op();
                    l.fit(x.into(), y.into(), 0.0, 0.0)?;
                    l.ctx.line_to(x.into(), y.into());
                }
            }
            DisplayOp::Arc {
                layer,
                x,
                y,
                radius,
                start,
                end,
                negative,
            } => {
                if let Some(l) = self.layer(layer)? {
                    l.begin_path_op();
                    let r = radius.abs();
                    l.fit(f64::from(x) - r, f64::from(y) - r, r * 2.0, r * 2.0)?;
                    l.ctx.arc(x.into(), y.into(), r, start, end, negative)?;
                }
            }
            DisplayOp::Curve {
                layer,
                cp1x,
                cp1y,
                cp2x,
                cp2y,
                x,
                y,
            } => {
                if let Some(l) = self.layer(layer)? {
                    l.begin_path_op();
                    l.fit(cp1x.into(), cp1y.into(), 0.0, 0.0)?;
                    l.fit(cp2x.into(), cp2y.into(), 0.0, 0.0)?;
                    l.fit(x.into(), y.into(), 0.0, 0.0)?;
                    l.ctx.bezier_curve_to(
                        cp1x.into(),
                        cp1y.into(),
                        cp2x.into(),
                        cp2y.into(),
                        x.into(),
                        y.into(),
                    );
                }
            }
            DisplayOp::Close { layer } => {
                if let Some(l) = self.layer(layer)? {
                    l.ctx.close_path();
                    l.path_closed = true;
                }
            }
            DisplayOp::Clip { layer } => {
                if let Some(l) = self.layer(layer)? {
                    l.ctx.clip();
                    l.path_closed = true;
                    l.path_pending = false;
                    l.ctx_dirty = true;
                }
            }
            DisplayOp::Cfill {
                mask,
                layer,
                r,
                g,
                b,
                a,
            } => {
                if let Some(l) = self.layer(layer)? {
                    l.set_mask(mask);
                    l.set_fill_colour(r, g, b, a);
                    l.ctx.fill();
                    l.path_closed = true;
                    l.path_pending = false;
                    l.touch();
                }
            }
            DisplayOp::Cstroke {
                mask,
                layer,
                cap,
                join,
                thickness,
                r,
                g,
                b,
                a,
            } => {
                if let Some(l) = self.layer(layer)? {
                    l.set_mask(mask);
                    stroke_style(&l.ctx, cap, join, thickness);
                    l.ctx.set_stroke_style(&css_rgba(r, g, b, a).into());
                    l.ctx.stroke();
                    l.path_closed = true;
                    l.path_pending = false;
                    l.touch();
                }
            }
            DisplayOp::Lfill { mask, layer, src } => {
                let Some(src_canvas) = self.canvas_of(src)? else {
                    return Ok(());
                };
                if let Some(l) = self.layer(layer)? {
                    l.set_mask(mask);
                    if src_canvas.width() > 0 && src_canvas.height() > 0 {
                        let p = l.ctx.create_pattern(&src_canvas, "repeat")?;
                        if p.is_object() {
                            l.ctx.set_fill_style(&p);
                            l.fill_set = None;
                            l.ctx.fill();
                        }
                    }
                    l.path_closed = true;
                    l.path_pending = false;
                    l.touch();
                }
            }
            DisplayOp::Lstroke {
                mask,
                layer,
                cap,
                join,
                thickness,
                src,
            } => {
                let Some(src_canvas) = self.canvas_of(src)? else {
                    return Ok(());
                };
                if let Some(l) = self.layer(layer)? {
                    l.set_mask(mask);
                    stroke_style(&l.ctx, cap, join, thickness);
                    if src_canvas.width() > 0 && src_canvas.height() > 0 {
                        let p = l.ctx.create_pattern(&src_canvas, "repeat")?;
                        if p.is_object() {
                            l.ctx.set_stroke_style(&p);
                            l.ctx.stroke();
                        }
                    }
                    l.path_closed = true;
                    l.path_pending = false;
                    l.touch();
                }
            }
            DisplayOp::Push { layer } => {
                if let Some(l) = self.layer(layer)? {
                    l.ctx.save();
                    l.stack += 1;
                    l.ctx_dirty = true;
                }
            }
            DisplayOp::Pop { layer } => {
                if let Some(l) = self.layer(layer)? {
                    if l.stack > 0 {
                        l.ctx.restore();
                        l.stack -= 1;
                        l.forget_state();
                    }
                }
            }
            DisplayOp::Reset { layer } => {
                if let Some(l) = self.layer(layer)? {
                    l.reset();
                }
            }
            DisplayOp::Identity { layer } => {
                if let Some(l) = self.layer(layer)? {
                    l.ctx.set_transform(1.0, 0.0, 0.0, 1.0, 0.0, 0.0)?;
                    l.ctx_dirty = true;
                }
            }
            DisplayOp::Transform { layer, m } => {
                if let Some(l) = self.layer(layer)? {
                    l.ctx.transform(m[0], m[1], m[2], m[3], m[4], m[5])?;
                    l.ctx_dirty = true;
                }
            }
            DisplayOp::Set {
                layer,
                ref name,
                ref value,
            } => {
                if name == "miter-limit" {
                    if let (Some(l), Some(v)) =
                        (self.layer(layer)?, pam_error::num::parse_f64(value))
                    {
                        l.ctx.set_miter_limit(v);
                        l.ctx_dirty = true;
                    }
                }
            }
            DisplayOp::Cursor {
                hot_x,
                hot_y,
                src,
                sx,
                sy,
                w,
                h,
            } => {
                let Some(src_canvas) = self.canvas_of(src)? else {
                    return Ok(());
                };
                let (w, h) = (w.min(512), h.min(512));
                let (canvas, ctx) = new_canvas(w, h)?;
                if w > 0 && h > 0 && src_canvas.width() > 0 && src_canvas.height() > 0 {
                    ctx.draw_canvas_part(
                        &src_canvas,
                        sx.into(),
                        sy.into(),
                        w.into(),
                        h.into(),
                        0.0,
                        0.0,
                        w.into(),
                        h.into(),
                    )?;
                }
                self.cursor = Some(Cursor {
                    canvas,
                    hot_x,
                    hot_y,
                });
            }
            DisplayOp::Pointer { x, y } => self.pointer = Some((x, y)),
            // Images are drawn through `draw_image` once decoded.
            DisplayOp::Image { .. } => {}
        }
        Ok(())
    }

    /// Draws a decoded image (an `img` stream or legacy `png`/`jpeg`).
    pub fn draw_image(
        &mut self,
        mask: u8,
        layer: LayerId,
        x: i32,
        y: i32,
        image: &DecodedImage,
    ) -> JsResult {
        if let Some(l) = self.layer(layer)? {
            l.set_mask(mask);
            l.fit(x.into(), y.into(), image.width.into(), image.height.into())?;
            l.ctx.draw_decoded(&image.image, x.into(), y.into())?;
            l.touch();
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn transfer(
        &mut self,
        src: LayerId,
        sx: i32,
        sy: i32,
        w: u32,
        h: u32,
        f: u8,
        dst: LayerId,
        dx: i32,
        dy: i32,
    ) -> JsResult {
        let Some(src_canvas) = self.canvas_of(src)? else {
            return Ok(());
        };
        let (cw, ch) = (
            i64::from(src_canvas.width()),
            i64::from(src_canvas.height()),
        );
        let (sx64, sy64, mut w, mut h) = (i64::from(sx), i64::from(sy), i64::from(w), i64::from(h));
        if sx64 >= cw || sy64 >= ch {
            return Ok(());
        }
        if sx64 + w > cw {
            w = cw - sx64;
        }
        if sy64 + h > ch {
            h = ch - sy64;
        }
        if w <= 0 || h <= 0 || f == 0x5 {
            return Ok(());
        }
        let src_ctx = src_canvas.context_2d()?;
        let src_data = src_ctx.get_image_data(sx.into(), sy.into(), w as f64, h as f64)?;
        let Some(l) = self.layer(dst)? else {
            return Ok(());
        };
        l.fit(dx.into(), dy.into(), w as f64, h as f64)?;
        if f == 0x3 {
            l.ctx.put_image_data(&src_data, dx.into(), dy.into())?;
            l.touch();
            return Ok(());
        }
        let dst_data = l
            .ctx
            .get_image_data(dx.into(), dy.into(), w as f64, h as f64)?;
        let s = src_data.data();
        let mut d = dst_data.data();
        for (dp, sp) in d.0.chunks_exact_mut(4).zip(s.0.chunks_exact(4)) {
            transfer_pixel(f, sp, dp);
        }
        let out = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&d.0), w as u32, h as u32)?;
        l.ctx.put_image_data(&out, dx.into(), dy.into())?;
        l.touch();
        Ok(())
    }

    /// Composites the visible layers (layer 0 and its descendants) into `ctx`,
    /// whose transform maps remote pixels; draws the cursor when known.
    pub fn composite(&self, ctx: &Ctx2d, with_cursor: bool) -> JsResult {
        self.draw_tree(ctx, 0, 0)?;
        if with_cursor {
            if let (Some(c), Some((px, py))) = (&self.cursor, self.pointer) {
                ctx.set_global_composite_operation("source-over");
                ctx.draw_canvas(&c.canvas, f64::from(px - c.hot_x), f64::from(py - c.hot_y))?;
            }
        }
        Ok(())
    }

    fn draw_tree(&self, ctx: &Ctx2d, id: LayerId, depth: u32) -> JsResult {
        let Some(l) = self.layers.get(&id) else {
            return Ok(());
        };
        if depth > 64 {
            return Ok(());
        }
        ctx.save();
        if id != 0 {
            ctx.translate(l.x.into(), l.y.into())?;
            if let Some(m) = l.matrix {
                ctx.transform(m[0], m[1], m[2], m[3], m[4], m[5])?;
            }
            ctx.set_global_alpha(ctx.global_alpha() * f64::from(l.alpha) / 255.0);
        }
        ctx.set_global_composite_operation("source-over");
        // A blank layer is transparent: drawing it changes nothing.
        if l.width > 0 && l.height > 0 && !l.blank {
            ctx.draw_canvas_part(
                &l.canvas,
                0.0,
                0.0,
                l.width.into(),
                l.height.into(),
                0.0,
                0.0,
                l.width.into(),
                l.height.into(),
            )?;
        }
        let mut children: Vec<(&LayerId, &Layer)> = self
            .layers
            .iter()
            .filter(|(k, c)| **k > 0 && **k != id && c.parent == id)
            .collect();
        children.sort_by_key(|(k, c)| (c.z, **k));
        for (k, _) in children {
            self.draw_tree(ctx, *k, depth + 1)?;
        }
        ctx.restore();
        Ok(())
    }
}

/// A copy of a canvas's pixels at the same backing size (`copy`
/// composition: the pixels as they are, alpha included, no blending).
fn copy_canvas(src: &Canvas) -> JsResult<Canvas> {
    let (w, h) = (src.width(), src.height());
    let (c, ctx) = new_canvas(w, h)?;
    if w > 0 && h > 0 {
        ctx.set_global_composite_operation("copy");
        ctx.draw_canvas(src, 0.0, 0.0)?;
    }
    Ok(c)
}

/// One layer as a keyframe keeps it.
struct LayerSnapshot {
    id: LayerId,
    /// Shared with other keyframes while the layer does not change.
    pixels: Rc<Canvas>,
    gen: u64,
    width: u32,
    height: u32,
    autosize: bool,
    empty: bool,
    parent: LayerId,
    x: i32,
    y: i32,
    z: i32,
    alpha: u8,
    matrix: Option<[f64; 6]>,
}

/// The whole display at a frame boundary (a keyframe of the recording
/// player): every layer and buffer (size, position, parent, z, opacity,
/// transform matrix, pixels), the cursor and the pointer.
pub struct DisplaySnapshot {
    layers: Vec<LayerSnapshot>,
    cursor: Option<(Canvas, i32, i32)>,
    pointer: Option<(i32, i32)>,
    refused: u64,
}

fn canvas_pixels(c: &Canvas) -> u64 {
    u64::from(c.width()) * u64::from(c.height())
}

impl DisplaySnapshot {
    /// Pixels held, with a canvas shared by n snapshots counted 1/n in each
    /// (so the sum over all snapshots is what they hold together).
    pub fn held_pixels(&self) -> f64 {
        self.layers
            .iter()
            .map(|l| canvas_pixels(&l.pixels) as f64 / Rc::strong_count(&l.pixels) as f64)
            .sum::<f64>()
            + self
                .cursor
                .as_ref()
                .map_or(0.0, |c| canvas_pixels(&c.0) as f64)
    }

    /// Pixels this snapshot holds alone (what dropping it would free).
    pub fn own_pixels(&self) -> u64 {
        self.layers
            .iter()
            .filter(|l| Rc::strong_count(&l.pixels) == 1)
            .map(|l| canvas_pixels(&l.pixels))
            .sum::<u64>()
            + self.cursor.as_ref().map_or(0, |c| canvas_pixels(&c.0))
    }
}

impl Display {
    /// A keyframe of the display, or `None` when a layer's 2D context holds
    /// state a copy of its pixels cannot carry (a `push`ed save, a clip, a
    /// transform, a miter limit, or a path still open for a later fill):
    /// the caller tries again at a later frame.
    /// Layers unchanged since one of the `neighbours` was taken share its
    /// pixels instead of copying them.
    pub fn snapshot(&self, neighbours: &[&DisplaySnapshot]) -> JsResult<Option<DisplaySnapshot>> {
        if self.layers.values().any(|l| l.ctx_dirty || l.path_pending) {
            return Ok(None);
        }
        let mut layers = Vec::with_capacity(self.layers.len());
        for (&id, l) in &self.layers {
            let shared = neighbours
                .iter()
                .flat_map(|n| n.layers.iter())
                .find(|s| s.id == id && s.gen == l.gen)
                .map(|s| s.pixels.clone());
            let pixels = match shared {
                Some(p) => p,
                None => Rc::new(copy_canvas(&l.canvas)?),
            };
            layers.push(LayerSnapshot {
                id,
                pixels,
                gen: l.gen,
                width: l.width,
                height: l.height,
                autosize: l.autosize,
                empty: l.empty,
                parent: l.parent,
                x: l.x,
                y: l.y,
                z: l.z,
                alpha: l.alpha,
                matrix: l.matrix,
            });
        }
        let cursor = match &self.cursor {
            Some(c) => Some((copy_canvas(&c.canvas)?, c.hot_x, c.hot_y)),
            None => None,
        };
        Ok(Some(DisplaySnapshot {
            layers,
            cursor,
            pointer: self.pointer,
            refused: self.refused,
        }))
    }

    /// Puts the display in the snapshot's state, drawing the pixels into
    /// the layers' existing canvases where their backing size matches (no
    /// new canvases, so repeated seeks do not churn memory); other layers
    /// get new canvases, layers the snapshot lacks are disposed.
    pub fn restore_from(&mut self, s: &DisplaySnapshot) -> JsResult {
        let mut old = std::mem::take(&mut self.layers);
        let mut layers = BTreeMap::new();
        let mut total = 0u64;
        for ls in &s.layers {
            let (pw, ph) = (ls.pixels.width(), ls.pixels.height());
            let layer = match old.remove(&ls.id) {
                Some(mut l) if l.canvas.width() == pw && l.canvas.height() == ph => {
                    l.reset();
                    l.ctx.set_global_composite_operation("copy");
                    if pw > 0 && ph > 0 {
                        l.ctx.draw_canvas(&ls.pixels, 0.0, 0.0)?;
                    }
                    l.ctx.set_global_composite_operation("source-over");
                    l.forget_state();
                    l.width = ls.width;
                    l.height = ls.height;
                    l.autosize = ls.autosize;
                    l.empty = ls.empty;
                    l.blank = false;
                    l.path_closed = true;
                    l.parent = ls.parent;
                    l.x = ls.x;
                    l.y = ls.y;
                    l.z = ls.z;
                    l.alpha = ls.alpha;
                    l.matrix = ls.matrix;
                    l.ctx_dirty = false;
                    l.path_pending = false;
                    l.gen = ls.gen;
                    l
                }
                _ => {
                    let canvas = copy_canvas(&ls.pixels)?;
                    let ctx = canvas.context_2d()?;
                    ctx.set_global_composite_operation("source-over");
                    ctx.save();
                    Layer {
                        budget: self.budget.clone(),
                        pool: self.pool.clone(),
                        canvas,
                        ctx,
                        width: ls.width,
                        height: ls.height,
                        autosize: ls.autosize,
                        empty: ls.empty,
                        blank: false,
                        path_closed: true,
                        stack: 0,
                        parent: ls.parent,
                        x: ls.x,
                        y: ls.y,
                        z: ls.z,
                        alpha: ls.alpha,
                        matrix: ls.matrix,
                        ctx_dirty: false,
                        path_pending: false,
                        gen: ls.gen,
                        op_set: None,
                        fill_set: None,
                    }
                }
            };
            total += u64::from(layer.canvas.width()) * u64::from(layer.canvas.height());
            layers.insert(ls.id, layer);
        }
        self.layers = layers;
        self.budget.set(total);
        self.cursor = match &s.cursor {
            Some((c, hot_x, hot_y)) => Some(Cursor {
                canvas: copy_canvas(c)?,
                hot_x: *hot_x,
                hot_y: *hot_y,
            }),
            None => None,
        };
        self.pointer = s.pointer;
        self.refused = s.refused;
        self.layer(0)?;
        Ok(())
    }

    /// A display with the snapshot's state (its own copies of the pixels:
    /// the snapshot stays as it was): a restore into an empty display.
    pub fn from_snapshot(s: &DisplaySnapshot) -> JsResult<Self> {
        let mut d = Self {
            layers: BTreeMap::new(),
            cursor: None,
            pointer: None,
            refused: 0,
            budget: Budget::default(),
            pool: PoolRef::default(),
        };
        d.restore_from(s)?;
        Ok(d)
    }
}

fn stroke_style(ctx: &Ctx2d, cap: u8, join: u8, thickness: u32) {
    ctx.set_line_cap(match cap {
        1 => "round",
        2 => "square",
        _ => "butt",
    });
    ctx.set_line_join(match join {
        0 => "bevel",
        2 => "round",
        _ => "miter",
    });
    ctx.set_line_width(thickness.into());
}

/// One pixel of a binary raster operation (RGB; SRC and NSRC also copy alpha).
pub fn transfer_pixel(f: u8, s: &[u8], d: &mut [u8]) {
    let ([sr, sg, sb, sa], [dr, dg, db, da]) = (s, d) else {
        return;
    };
    let op = |a: u8, b: u8| -> u8 {
        match f {
            0x0 => 0x00,
            0xF => 0xFF,
            0x3 => a,
            0x5 => b,
            0xC => !a,
            0xA => !b,
            0x1 => a & b,
            0xE => !(a & b),
            0x7 => a | b,
            0x8 => !(a | b),
            0x6 => a ^ b,
            0x9 => !(a ^ b),
            0x4 => !a & b,
            0xD => !a | b,
            0x2 => a & !b,
            0xB => a | !b,
            _ => b,
        }
    };
    *dr = op(*sr, *dr);
    *dg = op(*sg, *dg);
    *db = op(*sb, *db);
    if f == 0x3 || f == 0xC {
        *da = *sa;
    }
}
