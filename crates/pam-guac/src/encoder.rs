//! Encoding instructions: `LENGTH.VALUE` elements joined by `,`, ended by `;`,
//! where LENGTH counts Unicode code points.

use std::fmt::Write as _;

/// Appends encoded instructions to a byte buffer.
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one instruction (`elements[0]` is the opcode).
    pub fn instruction<S: AsRef<str>>(&mut self, elements: &[S]) -> &mut Self {
        encode_into(&mut self.buf, elements);
        self
    }

    /// The encoded bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Takes the encoded bytes, leaving the encoder empty.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Appends one encoded instruction to `out`.
pub fn encode_into<S: AsRef<str>>(out: &mut Vec<u8>, elements: &[S]) {
    let mut num = String::new();
    for (i, e) in elements.iter().enumerate() {
        let e = e.as_ref();
        num.clear();
        let _ = write!(num, "{}", e.chars().count());
        out.extend_from_slice(num.as_bytes());
        out.push(b'.');
        out.extend_from_slice(e.as_bytes());
        out.push(if i + 1 == elements.len() { b';' } else { b',' });
    }
}

/// One encoded instruction as a `String`.
pub fn encode<S: AsRef<str>>(elements: &[S]) -> String {
    let mut out = Vec::new();
    encode_into(&mut out, elements);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_code_points_not_bytes() {
        assert_eq!(
            encode(&["size", "0", "1024", "768"]),
            "4.size,1.0,4.1024,3.768;"
        );
        assert_eq!(
            encode(&["clipboard", "héllo 😀"]),
            "9.clipboard,7.héllo 😀;"
        );
        assert_eq!(encode(&["nop"]), "3.nop;");
        assert_eq!(encode(&["key", ""]), "3.key,0.;");
    }
}
