//! `parse_f64`: the same value as `str::parse` into an `f64` for every input, without
//! core's float parser in the module.
//!
//! core's parser brings its own tables (about 10 KB of powers of five) while
//! serde_json, which the module needs anyway, carries a correctly rounded
//! parser of its own (`float_roundtrip`). This rewrites the Rust grammar
//! (`[+-]` then `inf`, `infinity`, `nan` in any case, or digits with an
//! optional `.` and exponent, at least one digit before the exponent) into
//! JSON's and lets serde_json parse it. Both round correctly, so the bits are
//! the same; `tests` compares them with core's parser.

/// What `str::parse` gives for an `f64` (`None` for its error), bit for bit (NaN's sign aside: always positive).
pub fn parse_f64(s: &str) -> Option<f64> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    let signed = |v: f64| if negative { -v } else { v };
    if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        return Some(signed(f64::INFINITY));
    }
    if body.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    let bytes = body.as_bytes();
    let digits_end = |from: usize| {
        bytes.get(from..).map_or(from, |t| {
            from + t.iter().take_while(|b| b.is_ascii_digit()).count()
        })
    };
    let int_end = digits_end(0);
    let (frac_start, frac_end) = if bytes.get(int_end) == Some(&b'.') {
        (int_end + 1, digits_end(int_end + 1))
    } else {
        (int_end, int_end)
    };
    if int_end == 0 && frac_end == frac_start {
        return None; // no digit at all
    }
    let mut json = String::with_capacity(body.len() + 3);
    if negative {
        json.push('-');
    }
    let int = body.get(..int_end)?.trim_start_matches('0');
    json.push_str(if int.is_empty() { "0" } else { int });
    if frac_end > frac_start {
        json.push('.');
        json.push_str(body.get(frac_start..frac_end)?);
    }
    let rest = body.get(frac_end..)?;
    if !rest.is_empty() {
        let exp = rest.strip_prefix(['e', 'E'])?;
        let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        json.push('e');
        json.push_str(exp);
    }
    // The text is valid JSON now; the only error left is a magnitude beyond
    // f64, which core's parser reads as infinity. Through `Value`, not `f64`:
    // deserializing an `f64` would bring float formatting back (serde's
    // "invalid type" message for a float), and `Value`'s parse is there anyway.
    match serde_json::from_str::<serde_json::Value>(&json) {
        Ok(v) => Some(v.as_f64().unwrap_or(signed(f64::INFINITY))),
        Err(_) => Some(signed(f64::INFINITY)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::parse_f64;

    fn same(s: &str) {
        let want = s.parse::<f64>().ok();
        let got = parse_f64(s);
        match (want, got) {
            (None, None) => {}
            (Some(w), Some(g)) if w.is_nan() && g.is_nan() => {}
            (Some(w), Some(g)) if w.to_bits() == g.to_bits() => {}
            _ => panic!("{s:?}: core {want:?}, parse_f64 {got:?}"),
        }
    }

    #[test]
    fn agrees_with_core_on_the_grammar_and_its_edges() {
        for s in [
            "0",
            "-0",
            "+0",
            "1",
            "1.",
            ".5",
            "-.5",
            "+.5",
            "1.5",
            "00012.50",
            "0.1",
            "1e5",
            "1E5",
            "1e+5",
            "1e-5",
            "1.e3",
            ".1e-3",
            "1e0400",
            "1e400",
            "-1e400",
            "1e-400",
            "2.2250738585072011e-308",
            "4.9e-324",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "9007199254740993",
            "0.30000000000000004",
            "123456789012345678901234567890",
            "inf",
            "-inf",
            "+Inf",
            "INFINITY",
            "infinity",
            "nan",
            "NaN",
            "-nan",
            "",
            "-",
            "+",
            ".",
            "-.",
            "e5",
            ".e5",
            "1e",
            "1e+",
            "1e-",
            "1e5x",
            "1x",
            " 1",
            "1 ",
            "1..2",
            "1.2.3",
            "--1",
            "+-1",
            "0x10",
            "1_000",
            "١",
            "infx",
            "in",
            "1e+-5",
            "1.5e",
            "0.000000000000000000000000000001",
        ] {
            same(s);
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_core_on_printed_floats(bits in proptest::prelude::any::<u64>()) {
            let v = f64::from_bits(bits);
            same(&v.to_string());
            same(&format!("{v:e}"));
            same(&format!("{v:.3}"));
        }

        #[test]
        fn agrees_with_core_on_number_like_text(s in "[-+]?[0-9]{0,25}(\\.[0-9]{0,25})?([eE][-+]?[0-9]{0,4})?") {
            same(&s);
        }

        #[test]
        fn agrees_with_core_on_any_text(s in "\\PC{0,12}") {
            same(&s);
        }
    }
}
