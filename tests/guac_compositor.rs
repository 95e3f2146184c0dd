//! The native display model of the live guacd test (`tests/common/compositor.rs`)
//! on the real guacd recordings: every PNG in them decodes (palette ones too),
//! and the composited screen shows what the recordings are of.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

include!("common/compositor.rs");

use pam_launch_wasm::core::guac::client::{Client, Config, Event};

#[path = "common/fixtures.rs"]
mod fixtures;

fn fixture(name: &str) -> Vec<u8> {
    fixtures::read(name)
}

/// The display operations of a live stream, frame by frame, as this project's client reads them.
fn frames(name: &str, protocol: &str) -> Vec<Vec<DisplayOp>> {
    let mut client = Client::new(Config {
        auto_sync: true,
        ..Config::default()
    });
    client.connect(protocol);
    client.receive(&fixture(name)).unwrap();
    let mut out = vec![Vec::new()];
    while let Some(ev) = client.poll_event() {
        match ev {
            Event::Op(op) => out.last_mut().unwrap().push(op),
            Event::Frame { .. } => out.push(Vec::new()),
            _ => {}
        }
    }
    out
}

// ------------------------------------------------------------ PNG decoding

/// A PNG made by the `png` crate's encoder from raw samples.
fn encode_png(
    w: u32,
    h: u32,
    ct: png::ColorType,
    depth: png::BitDepth,
    palette: Option<(&[u8], Option<&[u8]>)>,
    data: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(ct);
        enc.set_depth(depth);
        if let Some((plte, trns)) = palette {
            enc.set_palette(plte.to_vec());
            if let Some(t) = trns {
                enc.set_trns(t.to_vec());
            }
        }
        let mut wr = enc.write_header().unwrap();
        wr.write_image_data(data).unwrap();
    }
    out
}

/// Packs sample values of `bits` each into rows, MSB first, as PNG stores them.
fn pack(rows: &[&[u8]], bits: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for row in rows {
        let mut byte = 0u8;
        let mut used = 0;
        for &v in *row {
            byte |= v << (8 - bits - used);
            used += bits;
            if used == 8 {
                out.push(byte);
                byte = 0;
                used = 0;
            }
        }
        if used > 0 {
            out.push(byte);
        }
    }
    out
}

#[test]
fn png_palettes_of_1_2_4_8_bits_expand_to_their_colours_at_any_width() {
    const A: [u8; 3] = [0x33, 0x66, 0x99];
    const B: [u8; 3] = [0xff, 0xcc, 0x00];
    const C: [u8; 3] = [0x10, 0x20, 0x30];
    const D: [u8; 3] = [0xfe, 0xfd, 0xfc];
    let plte: Vec<u8> = [A, B, C, D].concat();
    // Widths around the byte and 16-pixel boundaries (guacd's small palette
    // images once made the old reader index out of bounds).
    for bits in [1u8, 2, 4, 8] {
        let colours = if bits == 1 { 2 } else { 4 };
        for w in [1usize, 3, 7, 8, 9, 15, 16, 17, 64] {
            let rows: Vec<Vec<u8>> = (0..3)
                .map(|y| (0..w).map(|x| ((x + 2 * y) % colours) as u8).collect())
                .collect();
            let refs: Vec<&[u8]> = rows.iter().map(|r| r.as_slice()).collect();
            let depth = match bits {
                1 => png::BitDepth::One,
                2 => png::BitDepth::Two,
                4 => png::BitDepth::Four,
                _ => png::BitDepth::Eight,
            };
            let data = encode_png(
                w as u32,
                3,
                png::ColorType::Indexed,
                depth,
                Some((&plte[..colours * 3], None)),
                &pack(&refs, bits),
            );
            let img = decode_png(&data)
                .unwrap_or_else(|e| panic!("{bits}-bit palette, {w} px wide: {e}"));
            assert_eq!((img.width, img.height), (w, 3));
            assert_eq!(img.source, (png::ColorType::Indexed, depth));
            for (y, row) in rows.iter().enumerate() {
                for (x, &i) in row.iter().enumerate() {
                    let c = [A, B, C, D][i as usize];
                    assert_eq!(
                        img.px[y * w + x],
                        [c[0], c[1], c[2], 255],
                        "{bits}-bit, {w} wide, pixel {x},{y}"
                    );
                }
            }
        }
    }
}

#[test]
fn png_transparency_grey_and_16_bit_samples_come_out_as_rgba8() {
    // A palette with tRNS: entry 1 half transparent, entry 2 (no tRNS entry) opaque.
    let data = encode_png(
        3,
        1,
        png::ColorType::Indexed,
        png::BitDepth::Two,
        Some((&[1, 2, 3, 4, 5, 6, 7, 8, 9], Some(&[255, 128]))),
        &pack(&[&[0, 1, 2]], 2),
    );
    assert_eq!(
        decode_png(&data).unwrap().px,
        vec![[1, 2, 3, 255], [4, 5, 6, 128], [7, 8, 9, 255]]
    );
    // Grey at 1 bit: 0 is black, 1 is white.
    let data = encode_png(
        9,
        1,
        png::ColorType::Grayscale,
        png::BitDepth::One,
        None,
        &pack(&[&[0, 1, 0, 1, 1, 0, 0, 0, 1]], 1),
    );
    let px = decode_png(&data).unwrap().px;
    assert_eq!(
        px.iter().map(|p| p[0]).collect::<Vec<_>>(),
        vec![0, 255, 0, 255, 255, 0, 0, 0, 255]
    );
    assert!(px
        .iter()
        .all(|p| p[0] == p[1] && p[1] == p[2] && p[3] == 255));
    // Grey with alpha, 8 bits.
    let data = encode_png(
        2,
        1,
        png::ColorType::GrayscaleAlpha,
        png::BitDepth::Eight,
        None,
        &[10, 20, 30, 40],
    );
    assert_eq!(
        decode_png(&data).unwrap().px,
        vec![[10, 10, 10, 20], [30, 30, 30, 40]]
    );
    // RGB at 16 bits a channel: the high byte of each sample.
    let data = encode_png(
        1,
        1,
        png::ColorType::Rgb,
        png::BitDepth::Sixteen,
        None,
        &[0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc],
    );
    assert_eq!(decode_png(&data).unwrap().px, vec![[0x12, 0x56, 0x9a, 255]]);
    // RGBA, 8 bits.
    let data = encode_png(
        1,
        2,
        png::ColorType::Rgba,
        png::BitDepth::Eight,
        None,
        &[1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert_eq!(
        decode_png(&data).unwrap().px,
        vec![[1, 2, 3, 4], [5, 6, 7, 8]]
    );
}

#[test]
fn broken_or_hostile_pngs_are_errors_not_panics() {
    let good = encode_png(
        4,
        4,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        None,
        &[7; 48],
    );
    for bad in [
        Vec::new(),
        b"not a png".to_vec(),
        good[..good.len() / 2].to_vec(),
        good[..33].to_vec(),
    ] {
        assert!(decode_png(&bad).is_err(), "{} bytes", bad.len());
    }
    // A header that claims 100000 x 100000: refused before any allocation of that size.
    let mut huge = good.clone();
    huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&huge[12..29]);
    huge[29..33].copy_from_slice(&crc.to_be_bytes());
    assert!(decode_png(&huge).is_err());
}

/// CRC-32 (the PNG chunk checksum), bit by bit.
fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// The PNG's chunks, read by hand: (type, data).
fn chunks(png: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    let mut i = 8;
    while i + 12 <= png.len() {
        let n = u32::from_be_bytes(png[i..i + 4].try_into().unwrap()) as usize;
        out.push((
            png[i + 4..i + 8].try_into().unwrap(),
            &png[i + 8..i + 8 + n],
        ));
        i += 12 + n;
    }
    out
}

#[test]
fn every_png_of_the_vnc_and_rdp_recordings_decodes_to_its_header_size_and_palette() {
    for (name, protocol, min_palette) in [
        ("vnc-live.guac", "vnc", 1000),
        ("rdp-live.guac", "rdp", 100),
    ] {
        let (mut pngs, mut palette_images, mut narrow, mut low_bits) = (0, 0, 0, 0);
        for op in frames(name, protocol).into_iter().flatten() {
            let DisplayOp::Image { mimetype, data, .. } = op else {
                continue;
            };
            if mimetype != "image/png" {
                continue;
            }
            pngs += 1;
            let img = decode_png(&data).unwrap_or_else(|e| panic!("{name}: PNG {pngs}: {e}"));
            let cs = chunks(&data);
            let ihdr = cs.iter().find(|(t, _)| t == b"IHDR").unwrap().1;
            let w = u32::from_be_bytes(ihdr[0..4].try_into().unwrap()) as usize;
            let h = u32::from_be_bytes(ihdr[4..8].try_into().unwrap()) as usize;
            assert_eq!(
                (img.width, img.height),
                (w, h),
                "{name}: PNG {pngs}: IHDR size"
            );
            assert_eq!(img.px.len(), w * h);
            if w <= 16 {
                narrow += 1;
            }
            if ihdr[9] == 3 {
                palette_images += 1;
                if ihdr[8] < 8 {
                    low_bits += 1;
                }
                // Every pixel is one of the palette's colours (PLTE read by hand).
                let plte = cs.iter().find(|(t, _)| t == b"PLTE").unwrap().1;
                let colours: Vec<[u8; 3]> = plte.chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
                for p in &img.px {
                    assert!(
                        colours.contains(&[p[0], p[1], p[2]]),
                        "{name}: PNG {pngs}: pixel {p:?} is not in its palette {colours:?}"
                    );
                }
                // Both colours of a two-colour image are used somewhere (so the
                // index bits were read, not a constant).
                if colours.len() == 2 && w * h >= 64 {
                    let first = img.px[0];
                    assert!(
                        img.px.iter().any(|p| p[..3] != first[..3]) || colours[0] == colours[1],
                        "{name}: PNG {pngs} is one colour"
                    );
                }
            }
        }
        assert!(palette_images >= min_palette && low_bits >= 1 && narrow >= 1,
            "{name}: {pngs} PNGs, {palette_images} with a palette ({low_bits} under 8 bits), {narrow} at most 16 px wide");
        println!("{name}: {pngs} PNGs decoded, {palette_images} with a palette ({low_bits} of 1-4 bits), {narrow} at most 16 px wide");
    }
}

// ------------------------------------------------------------ compositing

fn composite(name: &str, protocol: &str) -> (Compositor, usize) {
    let mut c = Compositor::new();
    let fr = frames(name, protocol);
    for op in fr.iter().flatten() {
        c.apply(op).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    (c, fr.len())
}

#[test]
fn rdp_recording_composites_to_its_desktop_root_colour() {
    // As captured (the capture's notes): twm's root solid #3a5f7d, the xterm (80x24 at
    // +60+60) light grey on #1e1e1e, xeyes opened at +800+90 and dragged to
    // (560, 380), then closed. The bottom right stays root all along; guacd
    // delivers it through RDP's graphics pipeline as #395e7c, one step off in
    // each channel, hence a tolerance of 2.
    let (c, frames) = composite("rdp-live.guac", "rdp");
    let s = c.screen().unwrap();
    assert_eq!((s.width, s.height), (1024, 768));
    assert_eq!(
        c.region_mismatch_within((800, 600, 200, 150), [0x3a, 0x5f, 0x7d], 2),
        0
    );
    assert_eq!(
        c.region_mismatch_within((800, 600, 200, 150), [0x3a, 0x5f, 0x7d], 0),
        200 * 150,
        "exactly #3a5f7d nowhere: the codec's shift"
    );
    // Not a screen of one colour: the xterm's background is there too.
    let xterm = (0..768)
        .flat_map(|y| (0..1024).map(move |x| (x, y)))
        .filter(|&(x, y)| s.get(x, y) == Some([0x1e, 0x1e, 0x1e, 255]))
        .count();
    assert!(xterm > 10_000, "{xterm} pixels of #1e1e1e");
    println!("rdp-live.guac: {frames} frames; region 800,600 200x150 within 2 of #3a5f7d; {xterm} px #1e1e1e; images {:?}", c.images);
}

#[test]
fn vnc_recording_composites_to_the_colours_of_its_palettes() {
    // vnc-live.guac's PNGs are 1- and 2-bit palettes of black, white and
    // green (x11vnc's xterms: top with its green header, a white one with file
    // names); its WebP tiles are text this model does not decode. The
    // capture's notes and tests/fixtures/guac/README.md speak of a #336699
    // background: no pixel of the stream has that colour, and this checks
    // that none appears.
    let (c, frames) = composite("vnc-live.guac", "vnc");
    let s = c.screen().unwrap();
    assert_eq!((s.width, s.height), (1024, 768));
    let count = |rgb: [u8; 3]| {
        s.px.iter()
            .filter(|p| **p == Some([rgb[0], rgb[1], rgb[2], 255]))
            .count()
    };
    let (black, white, green) = (count([0, 0, 0]), count([255, 255, 255]), count([0, 255, 0]));
    let unknown = s.px.iter().filter(|p| p.is_none()).count();
    let never = s.px.iter().filter(|p| **p == Some([0, 0, 0, 0])).count();
    let other = s.px.len() - black - white - green - unknown - never;
    assert_eq!(other, 0, "pixels of another colour than the palettes'");
    assert_eq!(
        c.region_mismatch_within((0, 0, 1024, 768), [0x33, 0x66, 0x99], 8),
        1024 * 768
    );
    assert!(
        black > s.px.len() / 2 && white > 20_000 && green > 10_000,
        "black {black}, white {white}, green {green}"
    );
    assert!(
        unknown < s.px.len() / 20,
        "{unknown} pixels under WebP tiles"
    );
    println!("vnc-live.guac: {frames} frames; black {black}, white {white}, green {green}, under WebP {unknown}, never drawn {never}; images {:?}", c.images);
}

#[test]
fn compositor_draws_rects_copies_and_blends_and_marks_what_it_cannot_know() {
    let mut c = Compositor::new();
    let ops = [
        DisplayOp::Size {
            layer: 0,
            width: 8,
            height: 4,
        },
        DisplayOp::Rect {
            layer: 0,
            x: 0,
            y: 0,
            w: 8,
            h: 4,
        },
        DisplayOp::Cfill {
            mask: SRC,
            layer: 0,
            r: 10,
            g: 20,
            b: 30,
            a: 255,
        },
        // Half-transparent white over it, on the left half.
        DisplayOp::Rect {
            layer: 0,
            x: 0,
            y: 0,
            w: 4,
            h: 4,
        },
        DisplayOp::Cfill {
            mask: OVER,
            layer: 0,
            r: 255,
            g: 255,
            b: 255,
            a: 128,
        },
        // A buffer that was never sized grows to hold the drawing, then is copied back.
        DisplayOp::Rect {
            layer: -3,
            x: 2,
            y: 1,
            w: 2,
            h: 1,
        },
        DisplayOp::Cfill {
            mask: SRC,
            layer: -3,
            r: 1,
            g: 2,
            b: 3,
            a: 255,
        },
        DisplayOp::Copy {
            src: -3,
            sx: 2,
            sy: 1,
            w: 2,
            h: 1,
            mask: OVER,
            dst: 0,
            dx: 6,
            dy: 3,
        },
        // Drawing outside a layer is clipped.
        DisplayOp::Rect {
            layer: 0,
            x: 7,
            y: 0,
            w: 5,
            h: 1,
        },
        DisplayOp::Cfill {
            mask: SRC,
            layer: 0,
            r: 9,
            g: 9,
            b: 9,
            a: 255,
        },
        // A mask this model does not compute (ROUT) leaves the pixel unknown.
        DisplayOp::Rect {
            layer: 0,
            x: 5,
            y: 1,
            w: 1,
            h: 1,
        },
        DisplayOp::Cfill {
            mask: 0x2,
            layer: 0,
            r: 0,
            g: 0,
            b: 0,
            a: 255,
        },
    ];
    for op in &ops {
        c.apply(op).unwrap();
    }
    let s = c.screen().unwrap();
    assert_eq!((s.width, s.height), (8, 4));
    assert_eq!(c.layers[&-3].width, 4, "the buffer grew to x+w");
    assert_eq!(s.get(5, 0), Some([10, 20, 30, 255]));
    assert_eq!(
        s.get(1, 2),
        Some([133, 138, 143, 255]),
        "white at 128/255 over (10,20,30)"
    );
    assert_eq!(s.get(6, 3), Some([1, 2, 3, 255]));
    assert_eq!(s.get(7, 3), Some([1, 2, 3, 255]));
    assert_eq!(s.get(7, 0), Some([9, 9, 9, 255]));
    assert_eq!(s.get(5, 1), None);
    assert_eq!(c.region_mismatch_within((4, 0, 3, 1), [10, 20, 30], 0), 0);
    assert_eq!(c.region_mismatch_within((4, 0, 4, 1), [10, 20, 30], 0), 1);
    assert_eq!(
        c.region_mismatch_within((4, 1, 2, 1), [10, 20, 30], 0),
        1,
        "unknown never matches"
    );
    assert_eq!(
        c.region_mismatch_within((6, 3, 3, 1), [1, 2, 3], 0),
        1,
        "outside the layer never matches"
    );
    // An image this model cannot decode (a WebP, VP8L header of 3x2) makes its pixels unknown.
    let mut webp = b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f".to_vec();
    // width-1 = 2 (14 bits), height-1 = 1 (14 bits), little endian from byte 21.
    let bits: u32 = 2 | (1 << 14);
    webp.extend_from_slice(&bits.to_le_bytes());
    webp.resize(40, 0);
    assert_eq!(webp_size(&webp), Some((3, 2)));
    c.apply(&DisplayOp::Image {
        mask: OVER,
        layer: 0,
        x: 1,
        y: 1,
        mimetype: "image/webp".into(),
        data: webp,
    })
    .unwrap();
    let s = c.screen().unwrap();
    assert_eq!(
        (s.get(1, 1), s.get(3, 2), s.get(4, 2), s.get(0, 1)),
        (
            None,
            None,
            Some([10, 20, 30, 255]),
            Some([133, 138, 143, 255])
        )
    );
    // A PNG drawn with OVER.
    let png = encode_png(
        1,
        1,
        png::ColorType::Rgba,
        png::BitDepth::Eight,
        None,
        &[200, 100, 0, 255],
    );
    c.apply(&DisplayOp::Image {
        mask: OVER,
        layer: 0,
        x: 0,
        y: 0,
        mimetype: "image/png".into(),
        data: png,
    })
    .unwrap();
    assert_eq!(c.screen().unwrap().get(0, 0), Some([200, 100, 0, 255]));
    // A broken PNG is an error; a size beyond the model's bound too.
    assert!(c
        .apply(&DisplayOp::Image {
            mask: OVER,
            layer: 0,
            x: 0,
            y: 0,
            mimetype: "image/png".into(),
            data: vec![1, 2, 3]
        })
        .is_err());
    assert!(c
        .apply(&DisplayOp::Size {
            layer: 2,
            width: 100_000,
            height: 100_000
        })
        .is_err());
    c.apply(&DisplayOp::Dispose { layer: -3 }).unwrap();
    assert!(!c.layers.contains_key(&-3));
}
