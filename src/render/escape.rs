//! Values from AWS in human-readable text. Names and messages come from
//! whoever created the connection or host, so they may carry characters that
//! start a forged line or reorder what follows them. Pure: no I/O.

/// A value from AWS (names come from whoever created the connection) as
/// shown in human-readable text: control, line and paragraph separator and
/// bidirectional-override characters are escaped as `\u{...}`, so a name
/// cannot start a forged line or reorder what follows it.
pub fn shown(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if is_unsafe_in_text(c) {
            out += &format!("\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Control, line and paragraph separator, bidirectional formatting, and
/// invisible space characters (a name with one looks like another name).
/// The zero-width joiners stay: scripts and emoji need them.
pub fn is_unsafe_in_text(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{2028}' | '\u{2029}'            // line, paragraph separator
            | '\u{061c}' | '\u{200e}' | '\u{200f}' // bidi marks
            | '\u{202a}'..='\u{202e}'          // bidi embeddings, overrides
            | '\u{2066}'..='\u{2069}'          // bidi isolates
            | '\u{200b}' | '\u{2060}'          // zero-width space, word joiner
            | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_lines_and_reordering_are_escaped() {
        assert_eq!(
            shown("app\n  Open:     https://ev.il/a"),
            "app\\u{a}  Open:     https://ev.il/a"
        );
        assert_eq!(shown("abc\u{202e}fed"), "abc\\u{202e}fed");
        for c in [
            '\r', '\u{2028}', '\u{2029}', '\u{200f}', '\u{2066}', '\u{7f}', '\u{85}', '\u{200b}',
            '\u{2060}',
        ] {
            assert!(!shown(&format!("a{c}b")).contains(c), "{c:?}");
        }
        assert_eq!(shown("ünïcode-名前 ok"), "ünïcode-名前 ok");
    }
}
