//! Live tests against a real guacd (built by hand from apache/guacamole-server;
//! never part of the repo). They are `#[ignore]`d, so without a guacd they are
//! reported by name as ignored ("needs GUACD"); `scripts/test.sh` runs them with
//! `--include-ignored` when `GUACD=host:port` is set.
//!
//! - `GUACD=127.0.0.1:4822`
//! - `SSH_TARGET=127.0.0.1:22`, `SSH_USER`, `SSH_PASSWORD`: a real sshd on this machine
//!   (the test checks the marker file on the local disk)
//! - `VNC_TARGET=127.0.0.1:5900`, optional `VNC_PASSWORD`, and `VNC_EXPECT=x,y,w,h,#rrggbb`:
//!   a region of the remote screen known to be that colour
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use pam_launch_wasm::core::guac::client::{Client, Config, Event, State};
use pam_launch_wasm::core::guac::DisplayOp;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set for the live guacd tests"))
}

fn split_host_port(s: &str) -> (String, String) {
    let (h, p) = s
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("{s}: expected host:port"));
    (h.to_string(), p.to_string())
}

/// A client connected to guacd over TCP, pumped until `until` holds or time runs out.
struct Live {
    sock: TcpStream,
    client: Client,
    events: Vec<Event>,
}

impl Live {
    fn connect(protocol: &str, params: &[(&str, String)], image: &[&str]) -> Live {
        let addr = env("GUACD");
        let sock = TcpStream::connect(&addr)
            .unwrap_or_else(|e| panic!("cannot reach guacd at {addr}: {e}"));
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut cfg = Config {
            auto_sync: true,
            timezone: Some("UTC".into()),
            ..Config::default()
        };
        cfg.image = image.iter().map(|s| s.to_string()).collect();
        cfg.audio.clear();
        for (k, v) in params {
            cfg.params.insert((*k).to_string(), v.clone());
        }
        let mut client = Client::new(cfg);
        client.connect(protocol);
        Live {
            sock,
            client,
            events: Vec::new(),
        }
    }

    fn pump_until(
        &mut self,
        limit: Duration,
        mut until: impl FnMut(&[Event], &Client) -> bool,
    ) -> bool {
        let start = Instant::now();
        let mut buf = vec![0u8; 65536];
        while start.elapsed() < limit {
            let out = self.client.take_output();
            if !out.is_empty() {
                self.sock.write_all(&out).unwrap();
            }
            match self.sock.read(&mut buf) {
                Ok(0) => return until(&self.events, &self.client),
                Ok(n) => self.client.receive(&buf[..n]).unwrap(),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("guacd connection: {e}"),
            }
            while let Some(ev) = self.client.poll_event() {
                if let Event::Error { status, message } = &ev {
                    panic!("guacd reported {status:?}: {message}");
                }
                self.events.push(ev);
            }
            if until(&self.events, &self.client) {
                return true;
            }
        }
        false
    }

    fn type_text(&mut self, text: &str) {
        for ch in text.chars() {
            let keysym = if ch == '\n' { 0xff0d } else { ch as u32 };
            self.client.send_key(keysym, true);
            self.client.send_key(keysym, false);
        }
    }
}

#[test]
#[ignore = "needs GUACD (and SSH_TARGET, SSH_USER, SSH_PASSWORD)"]
fn guacd_ssh_types_a_command_that_writes_a_marker_file() {
    let (host, port) =
        split_host_port(&std::env::var("SSH_TARGET").unwrap_or_else(|_| "127.0.0.1:22".into()));
    let marker = std::env::temp_dir()
        .join(format!("pam-launch-wasm-marker-{}", std::process::id()))
        .display()
        .to_string();
    let _ = std::fs::remove_file(&marker);
    let mut live = Live::connect(
        "ssh",
        &[
            ("hostname", host),
            ("port", port),
            ("username", env("SSH_USER")),
            ("password", env("SSH_PASSWORD")),
        ],
        &["image/png"],
    );
    // Connected, and the shell prompt drawn (a few frames with images).
    let ready = live.pump_until(Duration::from_secs(20), |ev, c| {
        c.state() == State::Connected
            && ev
                .iter()
                .filter(|e| matches!(e, Event::Op(DisplayOp::Image { .. })))
                .count()
                >= 1
    });
    assert!(
        ready,
        "no SSH session within 20 s; events: {:?}",
        live.events.iter().rev().take(5).collect::<Vec<_>>()
    );
    live.pump_until(Duration::from_secs(2), |_, _| false);
    live.type_text(&format!("touch {marker}\n"));
    let made = live.pump_until(Duration::from_secs(10), |_, _| {
        std::path::Path::new(&marker).exists()
    });
    live.client.disconnect();
    live.pump_until(Duration::from_millis(300), |_, _| false);
    assert!(made, "the typed command did not create {marker}");
    std::fs::remove_file(&marker).unwrap();
    println!("guacd ssh: marker {marker} created by typed keys");
}

/// One layer (or off-screen buffer) of the remote display, as RGB pixels.
struct Surface {
    w: usize,
    h: usize,
    px: Vec<[u8; 3]>,
    /// The current path: rectangles from `rect`, consumed by the next `cfill`.
    path: Vec<(i32, i32, i32, i32)>,
}

impl Surface {
    fn new(w: usize, h: usize) -> Surface {
        Surface {
            w,
            h,
            px: vec![[0; 3]; w * h],
            path: Vec::new(),
        }
    }
    fn resize(&mut self, w: usize, h: usize) {
        let mut px = vec![[0; 3]; w * h];
        for y in 0..h.min(self.h) {
            for x in 0..w.min(self.w) {
                px[y * w + x] = self.px[y * self.w + x];
            }
        }
        (self.w, self.h, self.px) = (w, h, px);
    }
    fn put(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            self.px[y as usize * self.w + x as usize] = c;
        }
    }
    fn get(&self, x: i64, y: i64) -> Option<[u8; 3]> {
        (x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h)
            .then(|| self.px[y as usize * self.w + x as usize])
    }
}

/// Opaque channel masks: SRC (0xC) and OVER (0xE) both replace with opaque pixels.
fn replaces(mask: u8) -> bool {
    mask == 0xC || mask == 0xE
}

/// Composites the default layer from what guacd draws: PNG images, solid
/// rectangles (`rect` + `cfill`: guacd 1.6 sends single-colour regions that
/// way, not as images) and `copy` between layers and buffers, in order.
/// Only opaque drawing (mask SRC/OVER, alpha 255) is modelled.
fn framebuffer(events: &[Event], w: usize, h: usize) -> Vec<[u8; 3]> {
    let mut layers: std::collections::HashMap<i32, Surface> = std::collections::HashMap::new();
    layers.insert(0, Surface::new(w, h));
    for e in events {
        let Event::Op(op) = e else { continue };
        match op {
            DisplayOp::Size {
                layer,
                width,
                height,
            } => layers
                .entry(*layer)
                .or_insert_with(|| Surface::new(0, 0))
                .resize(*width as usize, *height as usize),
            DisplayOp::Rect { layer, x, y, w, h } => {
                if let Some(s) = layers.get_mut(layer) {
                    s.path.push((*x, *y, *w, *h));
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
                if let Some(s) = layers.get_mut(layer) {
                    let path = std::mem::take(&mut s.path);
                    if replaces(*mask) && *a == 255 {
                        for (rx, ry, rw, rh) in path {
                            for yy in ry..ry + rh {
                                for xx in rx..rx + rw {
                                    s.put(xx.into(), yy.into(), [*r, *g, *b]);
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
                if !replaces(*mask) {
                    continue;
                }
                let Some(from) = layers.get(src) else {
                    continue;
                };
                let mut block = Vec::new();
                for row in 0..*h as i64 {
                    for col in 0..*w as i64 {
                        if let Some(c) = from.get(*sx as i64 + col, *sy as i64 + row) {
                            block.push((col, row, c));
                        }
                    }
                }
                if let Some(to) = layers.get_mut(dst) {
                    for (col, row, c) in block {
                        to.put(*dx as i64 + col, *dy as i64 + row, c);
                    }
                }
            }
            DisplayOp::Image {
                layer,
                x,
                y,
                mimetype,
                data,
                ..
            } => {
                assert_eq!(mimetype, "image/png", "the test offers PNG only");
                let Some(s) = layers.get_mut(layer) else {
                    continue;
                };
                let decoder = png::Decoder::new(std::io::Cursor::new(data));
                let mut reader = decoder.read_info().unwrap();
                let mut img = vec![0; reader.output_buffer_size().unwrap()];
                let info = reader.next_frame(&mut img).unwrap();
                let bpp = info.line_size / info.width as usize;
                for row in 0..info.height as usize {
                    for col in 0..info.width as usize {
                        let p = &img[row * info.line_size + col * bpp..];
                        s.put(
                            *x as i64 + col as i64,
                            *y as i64 + row as i64,
                            [p[0], p[1], p[2]],
                        );
                    }
                }
            }
            _ => {}
        }
    }
    let fb = layers.remove(&0).unwrap();
    assert_eq!((fb.w, fb.h), (w, h), "the default layer's final size");
    fb.px
}

#[test]
#[ignore = "needs GUACD and VNC_TARGET (VNC_EXPECT for the pixel check)"]
fn guacd_vnc_renders_a_known_region() {
    let (host, port) = split_host_port(&env("VNC_TARGET"));
    let mut params = vec![("hostname", host), ("port", port)];
    if let Ok(p) = std::env::var("VNC_PASSWORD") {
        params.push(("password", p));
    }
    let mut live = Live::connect("vnc", &params, &["image/png"]);
    let ok = live.pump_until(Duration::from_secs(20), |ev, c| {
        c.state() == State::Connected
            && ev
                .iter()
                .filter(|e| matches!(e, Event::Frame { .. }))
                .count()
                >= 3
    });
    assert!(ok, "no VNC frames within 20 s");
    live.pump_until(Duration::from_secs(2), |_, _| false);
    live.client.disconnect();
    let (w, h) = live
        .events
        .iter()
        .find_map(|e| match e {
            Event::Op(DisplayOp::Size {
                layer: 0,
                width,
                height,
            }) => Some((*width as usize, *height as usize)),
            _ => None,
        })
        .expect("guacd sized the display");
    let fb = framebuffer(&live.events, w, h);
    let spec = std::env::var("VNC_EXPECT").unwrap_or_default();
    let parts: Vec<&str> = spec.split(',').collect();
    assert_eq!(parts.len(), 5, "VNC_EXPECT=x,y,w,h,#rrggbb");
    let n = |i: usize| parts[i].trim().parse::<usize>().unwrap();
    let (rx, ry, rw, rh) = (n(0), n(1), n(2), n(3));
    let hex = parts[4].trim().trim_start_matches('#');
    let want = [0, 2, 4].map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
    let mut wrong = 0;
    for yy in ry..ry + rh {
        for xx in rx..rx + rw {
            if fb[yy * w + xx] != want {
                wrong += 1;
            }
        }
    }
    println!(
        "guacd vnc: {w}x{h}, region {rx},{ry} {rw}x{rh}: {wrong} of {} pixels differ from #{hex}",
        rw * rh
    );
    assert_eq!(wrong, 0);
}
