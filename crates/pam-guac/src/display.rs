//! Drawing instructions as typed operations: what the renderer executes.
//!
//! Parsing is strict about shape (argument count and numbers) and lenient
//! about meaning: an unknown channel mask or transfer function is carried as
//! its number for the renderer to treat as guacamole-common-js does.

use super::parser::Instruction;

/// A layer index: 0 is the default layer, >0 visible layers, <0 off-screen buffers.
pub type LayerId = i32;

/// One drawing operation, queued into the current frame.
#[derive(Debug, Clone, PartialEq)]
pub enum DisplayOp {
    Size {
        layer: LayerId,
        width: u32,
        height: u32,
    },
    Move {
        layer: LayerId,
        parent: LayerId,
        x: i32,
        y: i32,
        z: i32,
    },
    Shade {
        layer: LayerId,
        alpha: u8,
    },
    Distort {
        layer: LayerId,
        m: [f64; 6],
    },
    Dispose {
        layer: LayerId,
    },
    Copy {
        src: LayerId,
        sx: i32,
        sy: i32,
        w: u32,
        h: u32,
        mask: u8,
        dst: LayerId,
        dx: i32,
        dy: i32,
    },
    Transfer {
        src: LayerId,
        sx: i32,
        sy: i32,
        w: u32,
        h: u32,
        function: u8,
        dst: LayerId,
        dx: i32,
        dy: i32,
    },
    Rect {
        layer: LayerId,
        x: i32,
        y: i32,
        w: i32,
        h: i32,
    },
    Start {
        layer: LayerId,
        x: i32,
        y: i32,
    },
    Line {
        layer: LayerId,
        x: i32,
        y: i32,
    },
    Arc {
        layer: LayerId,
        x: i32,
        y: i32,
        radius: f64,
        start: f64,
        end: f64,
        negative: bool,
    },
    Curve {
        layer: LayerId,
        cp1x: i32,
        cp1y: i32,
        cp2x: i32,
        cp2y: i32,
        x: i32,
        y: i32,
    },
    Close {
        layer: LayerId,
    },
    Clip {
        layer: LayerId,
    },
    Cfill {
        mask: u8,
        layer: LayerId,
        r: u8,
        g: u8,
        b: u8,
        a: u8,
    },
    Cstroke {
        mask: u8,
        layer: LayerId,
        cap: u8,
        join: u8,
        thickness: u32,
        r: u8,
        g: u8,
        b: u8,
        a: u8,
    },
    Lfill {
        mask: u8,
        layer: LayerId,
        src: LayerId,
    },
    Lstroke {
        mask: u8,
        layer: LayerId,
        cap: u8,
        join: u8,
        thickness: u32,
        src: LayerId,
    },
    Push {
        layer: LayerId,
    },
    Pop {
        layer: LayerId,
    },
    Reset {
        layer: LayerId,
    },
    Identity {
        layer: LayerId,
    },
    Transform {
        layer: LayerId,
        m: [f64; 6],
    },
    Set {
        layer: LayerId,
        name: String,
        value: String,
    },
    Cursor {
        hot_x: i32,
        hot_y: i32,
        src: LayerId,
        sx: i32,
        sy: i32,
        w: u32,
        h: u32,
    },
    /// A complete image (from an `img` stream, or legacy `png`/`jpeg`), still encoded.
    Image {
        mask: u8,
        layer: LayerId,
        x: i32,
        y: i32,
        mimetype: String,
        data: Vec<u8>,
    },
    /// The remote pointer position (`mouse` from the server).
    Pointer {
        x: i32,
        y: i32,
    },
}

impl DisplayOp {
    /// Whether the operation puts pixels on a visible layer (0, the default
    /// layer, or a layer above 0; buffers are negative): a fill or stroke,
    /// a copy or transfer into one, or an image. Sizing, moving, paths and
    /// state changes alone draw nothing a person sees.
    pub fn paints_visible(&self) -> bool {
        match self {
            DisplayOp::Cfill { layer, .. }
            | DisplayOp::Cstroke { layer, .. }
            | DisplayOp::Lfill { layer, .. }
            | DisplayOp::Lstroke { layer, .. }
            | DisplayOp::Image { layer, .. } => *layer >= 0,
            DisplayOp::Copy { dst, .. } | DisplayOp::Transfer { dst, .. } => *dst >= 0,
            _ => false,
        }
    }
}

fn int(inst: &Instruction<'_>, i: usize) -> Option<i32> {
    let s = inst.arg(i)?;
    // Some servers send integral values as floats ("1.0"); accept and truncate.
    s.parse::<i32>().ok().or_else(|| {
        pam_error::num::parse_f64(s)
            .filter(|f| f.is_finite())
            .map(|f| f as i32)
    })
}

fn uint(inst: &Instruction<'_>, i: usize) -> Option<u32> {
    int(inst, i).map(|v| v.max(0) as u32)
}

fn byte(inst: &Instruction<'_>, i: usize) -> Option<u8> {
    int(inst, i).map(|v| v.clamp(0, 255) as u8)
}

fn float(inst: &Instruction<'_>, i: usize) -> Option<f64> {
    inst.arg(i)
        .and_then(pam_error::num::parse_f64)
        .filter(|f| f.is_finite())
}

fn matrix(inst: &Instruction<'_>, from: usize) -> Option<[f64; 6]> {
    Some([
        float(inst, from)?,
        float(inst, from + 1)?,
        float(inst, from + 2)?,
        float(inst, from + 3)?,
        float(inst, from + 4)?,
        float(inst, from + 5)?,
    ])
}

/// Parses a drawing instruction (not `img`, whose data arrives on a stream).
/// `None` for other opcodes and for malformed arguments (the caller logs and skips).
pub fn parse_op(inst: &Instruction<'_>) -> Option<DisplayOp> {
    let i = inst;
    Some(match i.opcode() {
        "size" => DisplayOp::Size {
            layer: int(i, 0)?,
            width: uint(i, 1)?,
            height: uint(i, 2)?,
        },
        "move" => DisplayOp::Move {
            layer: int(i, 0)?,
            parent: int(i, 1)?,
            x: int(i, 2)?,
            y: int(i, 3)?,
            z: int(i, 4)?,
        },
        "shade" => DisplayOp::Shade {
            layer: int(i, 0)?,
            alpha: byte(i, 1)?,
        },
        "distort" => DisplayOp::Distort {
            layer: int(i, 0)?,
            m: matrix(i, 1)?,
        },
        "dispose" => DisplayOp::Dispose { layer: int(i, 0)? },
        "copy" => DisplayOp::Copy {
            src: int(i, 0)?,
            sx: int(i, 1)?,
            sy: int(i, 2)?,
            w: uint(i, 3)?,
            h: uint(i, 4)?,
            mask: byte(i, 5)?,
            dst: int(i, 6)?,
            dx: int(i, 7)?,
            dy: int(i, 8)?,
        },
        "transfer" => DisplayOp::Transfer {
            src: int(i, 0)?,
            sx: int(i, 1)?,
            sy: int(i, 2)?,
            w: uint(i, 3)?,
            h: uint(i, 4)?,
            function: byte(i, 5)?,
            dst: int(i, 6)?,
            dx: int(i, 7)?,
            dy: int(i, 8)?,
        },
        "rect" => DisplayOp::Rect {
            layer: int(i, 0)?,
            x: int(i, 1)?,
            y: int(i, 2)?,
            w: int(i, 3)?,
            h: int(i, 4)?,
        },
        "start" => DisplayOp::Start {
            layer: int(i, 0)?,
            x: int(i, 1)?,
            y: int(i, 2)?,
        },
        "line" => DisplayOp::Line {
            layer: int(i, 0)?,
            x: int(i, 1)?,
            y: int(i, 2)?,
        },
        "arc" => DisplayOp::Arc {
            layer: int(i, 0)?,
            x: int(i, 1)?,
            y: int(i, 2)?,
            radius: float(i, 3)?,
            start: float(i, 4)?,
            end: float(i, 5)?,
            negative: int(i, 6)? != 0,
        },
        "curve" => DisplayOp::Curve {
            layer: int(i, 0)?,
            cp1x: int(i, 1)?,
            cp1y: int(i, 2)?,
            cp2x: int(i, 3)?,
            cp2y: int(i, 4)?,
            x: int(i, 5)?,
            y: int(i, 6)?,
        },
        "close" => DisplayOp::Close { layer: int(i, 0)? },
        "clip" => DisplayOp::Clip { layer: int(i, 0)? },
        "cfill" => DisplayOp::Cfill {
            mask: byte(i, 0)?,
            layer: int(i, 1)?,
            r: byte(i, 2)?,
            g: byte(i, 3)?,
            b: byte(i, 4)?,
            a: byte(i, 5)?,
        },
        "cstroke" => DisplayOp::Cstroke {
            mask: byte(i, 0)?,
            layer: int(i, 1)?,
            cap: byte(i, 2)?,
            join: byte(i, 3)?,
            thickness: uint(i, 4)?,
            r: byte(i, 5)?,
            g: byte(i, 6)?,
            b: byte(i, 7)?,
            a: byte(i, 8)?,
        },
        "lfill" => DisplayOp::Lfill {
            mask: byte(i, 0)?,
            layer: int(i, 1)?,
            src: int(i, 2)?,
        },
        "lstroke" => DisplayOp::Lstroke {
            mask: byte(i, 0)?,
            layer: int(i, 1)?,
            cap: byte(i, 2)?,
            join: byte(i, 3)?,
            thickness: uint(i, 4)?,
            src: int(i, 5)?,
        },
        "push" => DisplayOp::Push { layer: int(i, 0)? },
        "pop" => DisplayOp::Pop { layer: int(i, 0)? },
        "reset" => DisplayOp::Reset { layer: int(i, 0)? },
        "identity" => DisplayOp::Identity { layer: int(i, 0)? },
        "transform" => DisplayOp::Transform {
            layer: int(i, 0)?,
            m: matrix(i, 1)?,
        },
        "set" => DisplayOp::Set {
            layer: int(i, 0)?,
            name: i.arg(1)?.to_owned(),
            value: i.arg(2)?.to_owned(),
        },
        "cursor" => DisplayOp::Cursor {
            hot_x: int(i, 0)?,
            hot_y: int(i, 1)?,
            src: int(i, 2)?,
            sx: int(i, 3)?,
            sy: int(i, 4)?,
            w: uint(i, 5)?,
            h: uint(i, 6)?,
        },
        "mouse" => DisplayOp::Pointer {
            x: int(i, 0)?,
            y: int(i, 1)?,
        },
        _ => return None,
    })
}

/// True for the opcodes [`parse_op`] handles.
pub fn is_display_opcode(op: &str) -> bool {
    matches!(
        op,
        "size"
            | "move"
            | "shade"
            | "distort"
            | "dispose"
            | "copy"
            | "transfer"
            | "rect"
            | "start"
            | "line"
            | "arc"
            | "curve"
            | "close"
            | "clip"
            | "cfill"
            | "cstroke"
            | "lfill"
            | "lstroke"
            | "push"
            | "pop"
            | "reset"
            | "identity"
            | "transform"
            | "set"
            | "cursor"
            | "mouse"
    )
}
