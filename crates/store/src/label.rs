//! Labels people read (tenant, integration, trunk and gateway names): no control characters and
//! no invisible or direction-changing formatting characters (bidi overrides and isolates,
//! zero-width characters, byte-order marks), which could hide or reorder what an operator or a
//! tenant sees in a log, a terminal or the dashboard (CVE-2021-42574, "Trojan Source").

use crate::StoreError;

/// Whether `c` may appear in a label.
fn allowed(c: char) -> bool {
    !c.is_control() && !matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// Checks a label: 1 to `max` characters (not all blank when `non_blank`), each allowed.
pub fn check(what: &str, text: &str, max: usize, non_blank: bool) -> Result<(), StoreError> {
    let n = text.chars().count();
    if n == 0 || n > max || (non_blank && text.trim().is_empty()) {
        let blank = if non_blank { ", not all blank" } else { "" };
        return Err(StoreError::Invalid(format!("{what} must be 1 to {max} characters{blank}")));
    }
    if !text.chars().all(allowed) {
        return Err(StoreError::Invalid(format!("{what} may not hold control characters or invisible or bidirectional formatting characters")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_formatting_are_refused() {
        for bad in ["a\u{202E}b", "a\u{2066}b", "a\nb", "a\u{0}b", "a\u{85}b", "\u{FEFF}a", "a\u{200B}b", "a\u{61C}"] {
            assert!(check("name", bad, 100, true).is_err(), "{bad:?}");
        }
        for good in ["Acme GmbH", "Café Zürich", "שלום", "日本の店", "a-b_c.d"] {
            assert!(check("name", good, 100, true).is_ok(), "{good:?}");
        }
        assert!(check("name", "   ", 100, true).is_err());
        assert!(check("name", "   ", 100, false).is_ok());
        assert!(check("name", &"é".repeat(100), 100, true).is_ok(), "characters, not bytes");
        assert!(check("name", &"é".repeat(101), 100, true).is_err());
    }
}
