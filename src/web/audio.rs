//! Playing guacd's raw PCM audio streams with the Web Audio API.

use std::collections::HashMap;

use wasm_bindgen::JsValue;
use web_sys::AudioContext;

use crate::core::guac::audio::RawFormat;

/// Latency added ahead of the first packet and after an underrun (seconds).
const LEAD_S: f64 = 0.05;

struct Stream {
    format: RawFormat,
    next_time: f64,
}

/// All audio streams of one session, sharing one `AudioContext`.
#[derive(Default)]
pub struct Audio {
    ctx: Option<AudioContext>,
    streams: HashMap<i32, Stream>,
}

impl Audio {
    /// A stream opened; false when the format is not raw PCM we can play.
    pub fn start(&mut self, stream: i32, mimetype: &str) -> bool {
        let Some(format) = RawFormat::parse(mimetype) else {
            return false;
        };
        self.streams.insert(
            stream,
            Stream {
                format,
                next_time: 0.0,
            },
        );
        true
    }

    pub fn end(&mut self, stream: i32) {
        self.streams.remove(&stream);
    }

    fn context(&mut self) -> Result<&AudioContext, JsValue> {
        if self.ctx.is_none() {
            self.ctx = Some(AudioContext::new()?);
        }
        self.ctx
            .as_ref()
            .ok_or_else(|| JsValue::from_str("no audio context"))
    }

    /// Schedules one packet right after the previous one of its stream.
    pub fn play(&mut self, stream: i32, data: &[u8]) -> Result<(), JsValue> {
        let Some(format) = self.streams.get(&stream).map(|s| s.format) else {
            return Ok(());
        };
        let planar = format.to_planar(data);
        let frames = planar.first().map_or(0, Vec::len);
        if frames == 0 {
            return Ok(());
        }
        let ctx = self.context()?.clone();
        // Browsers start contexts suspended until a user gesture; keep asking.
        if ctx.state() == web_sys::AudioContextState::Suspended {
            let _ = ctx.resume();
        }
        let buffer = ctx.create_buffer(
            u32::from(format.channels),
            frames as u32,
            format.rate as f32,
        )?;
        for (c, samples) in planar.iter().enumerate() {
            buffer.copy_to_channel(samples, c as i32)?;
        }
        let source = ctx.create_buffer_source()?;
        source.set_buffer(Some(&buffer));
        source.connect_with_audio_node(&ctx.destination())?;
        let Some(s) = self.streams.get_mut(&stream) else {
            return Ok(());
        };
        let when = s.next_time.max(ctx.current_time() + LEAD_S);
        source.start_with_when(when)?;
        s.next_time = when + frames as f64 / f64::from(format.rate);
        Ok(())
    }
}
