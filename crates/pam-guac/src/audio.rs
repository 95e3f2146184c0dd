//! Raw PCM audio as guacd sends it: `audio/L8` (signed 8-bit) and `audio/L16`
//! (signed 16-bit little-endian), with `rate` and `channels` parameters, e.g.
//! `audio/L16;rate=44100,channels=2`.

/// A raw PCM format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFormat {
    /// Bytes per sample: 1 (L8) or 2 (L16).
    pub bytes_per_sample: usize,
    pub rate: u32,
    pub channels: u16,
}

impl RawFormat {
    /// Parses a mimetype; `None` for anything but L8/L16 with a valid rate.
    pub fn parse(mimetype: &str) -> Option<Self> {
        let mut parts = mimetype.split(';');
        let bytes_per_sample = match parts.next()?.trim().to_ascii_lowercase().as_str() {
            "audio/l8" => 1,
            "audio/l16" => 2,
            _ => return None,
        };
        let mut rate = None;
        let mut channels = 1u16;
        for param in parts.flat_map(|p| p.split(',')) {
            let (k, v) = param.split_once('=')?;
            match k.trim() {
                "rate" => {
                    rate = v
                        .trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|r| (3000..=384_000).contains(r))
                }
                "channels" => {
                    channels = v
                        .trim()
                        .parse::<u16>()
                        .ok()
                        .filter(|c| (1..=8).contains(c))?
                }
                _ => {}
            }
        }
        Some(Self {
            bytes_per_sample,
            rate: rate?,
            channels,
        })
    }

    /// Whole frames (one sample per channel) in `len` bytes.
    pub fn frames(&self, len: usize) -> usize {
        len / (self.bytes_per_sample * usize::from(self.channels))
    }

    /// De-interleaves a packet into one `f32` vector per channel, in [-1, 1).
    /// A trailing partial frame is dropped.
    pub fn to_planar(&self, data: &[u8]) -> Vec<Vec<f32>> {
        let ch = usize::from(self.channels);
        let n = self.frames(data.len());
        let mut out = vec![Vec::with_capacity(n); ch];
        let frame_bytes = self.bytes_per_sample * ch;
        for frame in data.chunks_exact(frame_bytes).take(n) {
            for (c, sample) in frame.chunks_exact(self.bytes_per_sample).enumerate() {
                let v = match *sample {
                    [b] => f32::from(b as i8) / 128.0,
                    [lo, hi] => f32::from(i16::from_le_bytes([lo, hi])) / 32768.0,
                    _ => 0.0,
                };
                if let Some(chan) = out.get_mut(c) {
                    chan.push(v);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_guacd_mimetypes() {
        assert_eq!(
            RawFormat::parse("audio/L16;rate=44100,channels=2"),
            Some(RawFormat {
                bytes_per_sample: 2,
                rate: 44100,
                channels: 2
            })
        );
        assert_eq!(
            RawFormat::parse("audio/L8;rate=8000").map(|f| (f.bytes_per_sample, f.channels)),
            Some((1, 1))
        );
        assert_eq!(RawFormat::parse("audio/L16"), None, "rate is required");
        assert_eq!(RawFormat::parse("audio/ogg;rate=44100"), None);
        assert_eq!(RawFormat::parse("audio/L16;rate=44100,channels=99"), None);
        assert_eq!(RawFormat::parse("audio/L16;rate=x"), None);
    }

    #[test]
    fn converts_and_deinterleaves() {
        let f = RawFormat {
            bytes_per_sample: 2,
            rate: 8000,
            channels: 2,
        };
        let data = [0x00, 0x80, 0xff, 0x7f, 0x00, 0x00, 0x00, 0x40, 0x01];
        let p = f.to_planar(&data);
        assert_eq!(p, vec![vec![-1.0, 0.0], vec![32767.0 / 32768.0, 0.5]]);
        let f8 = RawFormat {
            bytes_per_sample: 1,
            rate: 8000,
            channels: 1,
        };
        assert_eq!(
            f8.to_planar(&[0x80, 0x00, 0x40]),
            vec![vec![-1.0, 0.0, 0.5]]
        );
    }
}
