// Test support: a small model of guacd's display for native tests, so that a
// test can ask "what does the remote screen show here?". Included with
// `include!` by tests/guacd_live.rs and tests/guac_compositor.rs.
//
// - `decode_png`: any PNG guacd sends, decoded fully with the `png` crate:
//   palettes (colour type 3 at 1, 2, 4 or 8 bits), grey, grey+alpha, RGB,
//   RGBA, 16-bit channels, tRNS transparency; always to RGBA8.
// - `Compositor`: layers and buffers as RGBA pixels, fed `DisplayOp`s in
//   order: `size`, `rect` + `cfill`, `copy`, `img`, `dispose`. Buffers
//   (negative indices) grow on demand as in guacamole-common-js; layers are
//   clipped to their size. SRC (0xC) replaces and OVER (0xE) blends; a
//   drawing with another channel mask, or an image this model cannot decode
//   (WebP, JPEG), marks the pixels it touches unknown, so a region check
//   never passes on a guess.
//
// Nothing here panics on what a server sends: errors are `Err(String)`.

use std::collections::HashMap;

use pam_launch_wasm::core::guac::DisplayOp;

/// RGBA, 8 bits a channel, straight (not premultiplied) alpha.
pub type Rgba = [u8; 4];

/// A decoded image.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub px: Vec<Rgba>,
    /// The PNG's own colour type and bit depth, before expansion.
    pub source: (png::ColorType, png::BitDepth),
}

/// Images larger than this are refused (a hostile server's PNG bomb).
pub const MAX_IMAGE_PIXELS: usize = 16 << 20;
/// Surfaces larger than this are refused.
pub const MAX_SURFACE_PIXELS: usize = 64 << 20;

/// Decodes a PNG to RGBA8: palettes and low bit depths expanded, 16-bit
/// channels cut to 8, tRNS turned into alpha.
pub fn decode_png(data: &[u8]) -> Result<Image, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(data));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| format!("png header: {e}"))?;
    let source = {
        let info = reader.info();
        (info.color_type, info.bit_depth)
    };
    let (w, h) = {
        let info = reader.info();
        (info.width as usize, info.height as usize)
    };
    if w.saturating_mul(h) > MAX_IMAGE_PIXELS {
        return Err(format!("png of {w}x{h} is larger than this model takes"));
    }
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| "png output size overflows".to_string())?;
    let mut buf = vec![0u8; size];
    let out = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("png data: {e}"))?;
    if out.bit_depth != png::BitDepth::Eight {
        return Err(format!("png decoded to {:?}, not 8 bits", out.bit_depth));
    }
    let channels = match out.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err("png palette was not expanded".into()),
    };
    let (w, h) = (out.width as usize, out.height as usize);
    if out.line_size < w * channels || buf.len() < out.line_size * h {
        return Err("png output shorter than its size".into());
    }
    let mut px = Vec::with_capacity(w * h);
    for row in buf.chunks(out.line_size).take(h) {
        for p in row.chunks(channels).take(w) {
            px.push(match *p {
                [v] => [v, v, v, 255],
                [v, a] => [v, v, v, a],
                [r, g, b] => [r, g, b, 255],
                [r, g, b, a] => [r, g, b, a],
                _ => return Err("png row shorter than its width".into()),
            });
        }
    }
    Ok(Image {
        width: w,
        height: h,
        px,
        source,
    })
}

/// A WebP's width and height from its RIFF header (VP8, VP8L or VP8X), or
/// None when it is not one.
pub fn webp_size(d: &[u8]) -> Option<(usize, usize)> {
    if d.len() < 30 || &d[0..4] != b"RIFF" || &d[8..12] != b"WEBP" {
        return None;
    }
    let u = |i: usize| usize::from(d[i]);
    match &d[12..16] {
        b"VP8 " => Some(((u(26) | u(27) << 8) & 0x3fff, (u(28) | u(29) << 8) & 0x3fff)),
        b"VP8L" => Some((
            1 + (u(21) | (u(22) & 0x3f) << 8),
            1 + ((u(22) & 0xc0) >> 6 | u(23) << 2 | (u(24) & 0x0f) << 10),
        )),
        b"VP8X" => Some((
            1 + (u(24) | u(25) << 8 | u(26) << 16),
            1 + (u(27) | u(28) << 8 | u(29) << 16),
        )),
        _ => None,
    }
}

/// A pixel of a surface: its colour, or None where this model does not know it.
pub type Pixel = Option<Rgba>;

const CLEAR: Pixel = Some([0, 0, 0, 0]);

/// One layer or buffer.
#[derive(Debug, Clone)]
pub struct Surface {
    pub width: usize,
    pub height: usize,
    pub px: Vec<Pixel>,
    /// Buffers grow to hold what is drawn on them.
    autosize: bool,
    /// The current path: the rectangles since the last fill.
    path: Vec<(i64, i64, i64, i64)>,
}

impl Surface {
    fn new(autosize: bool) -> Surface {
        Surface {
            width: 0,
            height: 0,
            px: Vec::new(),
            autosize,
            path: Vec::new(),
        }
    }

    /// Resizes keeping the top-left content; new pixels are transparent.
    fn resize(&mut self, w: usize, h: usize) -> Result<(), String> {
        if w.saturating_mul(h) > MAX_SURFACE_PIXELS {
            return Err(format!("surface of {w}x{h} is larger than this model takes"));
        }
        let mut px = vec![CLEAR; w * h];
        for y in 0..h.min(self.height) {
            for x in 0..w.min(self.width) {
                px[y * w + x] = self.px[y * self.width + x];
            }
        }
        (self.width, self.height, self.px) = (w, h, px);
        Ok(())
    }

    /// A buffer grows to cover x+w, y+h (guacamole-common-js's autosize).
    fn fit(&mut self, x: i64, y: i64, w: i64, h: i64) -> Result<(), String> {
        if !self.autosize || w <= 0 || h <= 0 {
            return Ok(());
        }
        let (right, bottom) = (x.saturating_add(w), y.saturating_add(h));
        let nw = (self.width as i64).max(right).max(0) as usize;
        let nh = (self.height as i64).max(bottom).max(0) as usize;
        if nw != self.width || nh != self.height {
            self.resize(nw, nh)?;
        }
        Ok(())
    }

    fn index(&self, x: i64, y: i64) -> Option<usize> {
        (x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height)
            .then(|| y as usize * self.width + x as usize)
    }

    /// The pixel at x, y; None outside the surface or where it is unknown.
    pub fn get(&self, x: i64, y: i64) -> Pixel {
        self.index(x, y).and_then(|i| self.px[i])
    }

    fn draw(&mut self, x: i64, y: i64, src: Pixel, mask: u8) {
        let Some(i) = self.index(x, y) else { return };
        self.px[i] = match (mask, src, self.px[i]) {
            (SRC, s, _) => s,
            (OVER, Some(s), Some(d)) => Some(over(s, d)),
            _ => None,
        };
    }
}

/// Channel masks (Guacamole protocol): source replaces, source over destination.
pub const SRC: u8 = 0xC;
pub const OVER: u8 = 0xE;

/// Porter-Duff source-over with straight alpha, rounded.
pub fn over(s: Rgba, d: Rgba) -> Rgba {
    let (sa, da) = (u32::from(s[3]), u32::from(d[3]));
    let out_a = sa * 255 + da * (255 - sa); // alpha * 255
    if out_a == 0 {
        return [0, 0, 0, 0];
    }
    let mut c = [0u8; 4];
    for k in 0..3 {
        let v = u32::from(s[k]) * sa * 255 + u32::from(d[k]) * da * (255 - sa);
        c[k] = ((v + out_a / 2) / out_a) as u8;
    }
    c[3] = ((out_a + 127) / 255) as u8;
    c
}

/// The display: every layer and buffer by index.
#[derive(Debug, Default)]
pub struct Compositor {
    pub layers: HashMap<i32, Surface>,
    /// Images applied, by (mimetype, decoded or not).
    pub images: HashMap<(String, bool), usize>,
}

impl Compositor {
    pub fn new() -> Compositor {
        Compositor::default()
    }

    fn surface(&mut self, layer: i32) -> &mut Surface {
        self.layers
            .entry(layer)
            .or_insert_with(|| Surface::new(layer < 0))
    }

    /// The default layer (0).
    pub fn screen(&self) -> Option<&Surface> {
        self.layers.get(&0)
    }

    /// Applies one operation. Errors are the server's (a broken PNG, a size
    /// beyond the model's bounds); operations this model does not draw
    /// (cursor, move, shade, paths other than rectangles) change nothing.
    pub fn apply(&mut self, op: &DisplayOp) -> Result<(), String> {
        match op {
            DisplayOp::Size {
                layer,
                width,
                height,
            } => self
                .surface(*layer)
                .resize(*width as usize, *height as usize)?,
            DisplayOp::Dispose { layer } => {
                self.layers.remove(layer);
            }
            DisplayOp::Rect { layer, x, y, w, h } => {
                let s = self.surface(*layer);
                s.path
                    .push((i64::from(*x), i64::from(*y), i64::from(*w), i64::from(*h)));
            }
            DisplayOp::Cfill {
                mask,
                layer,
                r,
                g,
                b,
                a,
            } => {
                let s = self.surface(*layer);
                let path = std::mem::take(&mut s.path);
                for (rx, ry, rw, rh) in path {
                    s.fit(rx, ry, rw, rh)?;
                    for yy in ry..ry.saturating_add(rh).min(s.height as i64) {
                        for xx in rx..rx.saturating_add(rw).min(s.width as i64) {
                            s.draw(xx, yy, Some([*r, *g, *b, *a]), *mask);
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
                let (w, h) = (i64::from(*w), i64::from(*h));
                let block: Vec<Pixel> = match self.layers.get(src) {
                    Some(from) => (0..h)
                        .flat_map(|row| {
                            (0..w).map(move |col| (col, row))
                        })
                        .map(|(col, row)| {
                            let (x, y) = (i64::from(*sx) + col, i64::from(*sy) + row);
                            // Outside the source: nothing there (transparent).
                            if from.index(x, y).is_some() {
                                from.get(x, y)
                            } else {
                                CLEAR
                            }
                        })
                        .collect(),
                    None => vec![CLEAR; (w.max(0) * h.max(0)) as usize],
                };
                let to = self.surface(*dst);
                to.fit(i64::from(*dx), i64::from(*dy), w, h)?;
                for row in 0..h {
                    for col in 0..w {
                        let p = block[(row * w + col) as usize];
                        to.draw(i64::from(*dx) + col, i64::from(*dy) + row, p, *mask);
                    }
                }
            }
            DisplayOp::Image {
                mask,
                layer,
                x,
                y,
                mimetype,
                data,
            } => {
                let img = if mimetype == "image/png" {
                    Some(decode_png(data)?)
                } else {
                    None
                };
                *self
                    .images
                    .entry((mimetype.clone(), img.is_some()))
                    .or_insert(0) += 1;
                let (x, y) = (i64::from(*x), i64::from(*y));
                match img {
                    Some(img) => {
                        let s = self.surface(*layer);
                        s.fit(x, y, img.width as i64, img.height as i64)?;
                        for row in 0..img.height {
                            for col in 0..img.width {
                                let p = img.px[row * img.width + col];
                                s.draw(x + col as i64, y + row as i64, Some(p), *mask);
                            }
                        }
                    }
                    None => {
                        // Not decodable here: the pixels it covers become
                        // unknown (the whole layer from x, y on when even
                        // its size cannot be read).
                        let s = self.surface(*layer);
                        let (w, h) = match webp_size(data) {
                            Some((w, h)) => {
                                s.fit(x, y, w as i64, h as i64)?;
                                (w as i64, h as i64)
                            }
                            None => (s.width as i64, s.height as i64),
                        };
                        for yy in y..y.saturating_add(h) {
                            for xx in x..x.saturating_add(w) {
                                s.draw(xx, yy, None, 0);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// How many pixels of the region (x, y, w, h) of the default layer are
    /// not within `tolerance` of `want` in each channel, or not opaque;
    /// unknown pixels and pixels outside the layer count as not matching.
    pub fn region_mismatch_within(
        &self,
        (x, y, w, h): (i64, i64, i64, i64),
        want: [u8; 3],
        tolerance: u8,
    ) -> usize {
        let near = |p: Pixel| {
            p.is_some_and(|p| p[3] == 255 && (0..3).all(|k| p[k].abs_diff(want[k]) <= tolerance))
        };
        let Some(s) = self.screen() else {
            return (w.max(0) * h.max(0)) as usize;
        };
        let mut wrong = 0;
        for yy in y..y + h {
            for xx in x..x + w {
                if !near(s.get(xx, yy)) {
                    wrong += 1;
                }
            }
        }
        wrong
    }

    /// How many pixels of the region (x, y, w, h) of the default layer are
    /// not `want` (opaque RGB); unknown pixels and pixels outside the layer
    /// count as not matching.
    pub fn region_mismatch(&self, x: i64, y: i64, w: i64, h: i64, want: [u8; 3]) -> usize {
        let want = Some([want[0], want[1], want[2], 255]);
        let Some(s) = self.screen() else {
            return (w.max(0) * h.max(0)) as usize;
        };
        let mut wrong = 0;
        for yy in y..y + h {
            for xx in x..x + w {
                if s.get(xx, yy) != want {
                    wrong += 1;
                }
            }
        }
        wrong
    }
}
