//! Keyframes of a `GuacamoleClient` for the recording player: the client at
//! rest at a frame boundary, snapshotted and restored.
//!
//! A child module of `session.rs` (declared there with `#[path]`), so that it
//! reaches the client's state without widening `session.rs`'s own API.

use super::*;

use crate::core::guac::client::{Client, Config};
use crate::web::display::{Display, DisplaySnapshot};

/// The client at a frame boundary: the display, and the frames applied so far.
pub(crate) struct ClientSnapshot {
    pub(crate) display: DisplaySnapshot,
    pub(crate) frames_applied: u64,
}

impl GuacamoleClient {
    /// Nothing waiting: no frame queued or open, no image to decode, no
    /// inbound stream open. Only then is the display the whole state.
    pub(crate) fn at_rest(&self) -> bool {
        let i = self.inner.borrow();
        i.frames.is_empty()
            && i.open.is_empty()
            && i.decode_queue.is_empty()
            && i.client.open_streams() == 0
            && i.failed.is_none()
    }

    /// A keyframe of the client at rest (`None` when it is not at rest, has
    /// no canvas renderer, or its display cannot be snapshotted right now).
    pub(crate) fn keyframe(
        &self,
        neighbours: &[&ClientSnapshot],
    ) -> Result<Option<ClientSnapshot>, JsValue> {
        if !self.at_rest() {
            return Ok(None);
        }
        let i = self.inner.borrow();
        let Some(view) = i.view.as_ref() else {
            return Ok(None);
        };
        let near: Vec<&DisplaySnapshot> = neighbours.iter().map(|n| &n.display).collect();
        Ok(view.display.snapshot(&near)?.map(|display| ClientSnapshot {
            display,
            frames_applied: i.frames_applied,
        }))
    }

    /// Puts the client back at a keyframe (`None`: the start, an empty
    /// display): a fresh protocol state past its first `sync`, nothing
    /// queued, the display rebuilt from the snapshot and composited. Images
    /// still decoding for dropped frames finish and are discarded.
    pub(crate) fn restore(&self, snap: Option<&ClientSnapshot>) -> Result<(), JsValue> {
        let (size_changed, onresize, size) = {
            let mut i = self.inner.borrow_mut();
            let fresh = match (snap, i.view.as_mut()) {
                (Some(s), Some(v)) => {
                    v.display.restore_from(&s.display)?;
                    None
                }
                (None, _) => Some(Display::new()?),
                (Some(s), None) => Some(Display::from_snapshot(&s.display)?),
            };
            let mut client = Client::new(Config::default());
            client.attach();
            if snap.is_some() {
                // Past the first sync: connected, as the recording's client was.
                let _ = client.receive(b"4.sync,1.0;");
            }
            while client.poll_event().is_some() {}
            let _ = client.take_output();
            i.client = client;
            if let (Some(v), Some(d)) = (i.view.as_mut(), fresh) {
                v.display = d;
            }
            i.frames.clear();
            i.drawn.clear();
            i.open.clear();
            i.decode_queue.clear();
            i.pending_image_bytes = 0;
            i.pending_ops = 0;
            i.failed = None;
            i.frames_applied = snap.map_or(0, |s| s.frames_applied);
            if i.tap.is_some() {
                i.tap = Some(crate::core::guac::parser::Parser::new());
            }
            let size = i.size();
            (size != i.last_size, i.cb.onresize.clone(), size)
        };
        self.inner.borrow().composite_quiet();
        if size_changed {
            self.inner.borrow_mut().last_size = size;
            call2(&onresize, &size.0.into(), &size.1.into());
        }
        Ok(())
    }
}
