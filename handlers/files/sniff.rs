//! Does an upload's first bytes match the type its uploader declared? Binary formats are
//! recognised by their magic numbers (the `infer` crate's table); text types have none, so
//! they must be UTF-8 without NUL bytes.

/// How much of a blob is read to decide.
pub const SNIFF_BYTES: u64 = 8192;

const OOXML_PREFIX: &str = "application/vnd.openxmlformats-officedocument.";

pub fn matches(declared: &str, head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    if declared.starts_with("text/") {
        return looks_like_text(head);
    }
    let Some(found) = infer::get(head).map(|t| t.mime_type()) else {
        return false;
    };
    if found == declared {
        return true;
    }
    // Office files are zip archives; telling a document from a spreadsheet needs the
    // archive's directory, which may lie past the bytes read.
    declared.starts_with(OOXML_PREFIX)
        && (found == "application/zip" || found.starts_with(OOXML_PREFIX))
}

fn looks_like_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        // The read may cut a multi-byte character at the end: that is still text.
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_types_need_their_magic_number() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert!(matches("image/png", png));
        assert!(!matches("image/jpeg", png));
        assert!(matches("image/jpeg", b"\xff\xd8\xff\xe0\0\x10JFIF\0"));
        assert!(matches("application/pdf", b"%PDF-1.7\n"));
        assert!(!matches("application/pdf", b"<html><script>"));
        assert!(!matches("image/png", b""));
    }

    #[test]
    fn text_is_utf8_without_nul() {
        assert!(matches("text/plain", "héllo".as_bytes()));
        assert!(matches("text/csv", &"é".as_bytes()[..1]));
        assert!(!matches("text/plain", b"a\0b"));
        assert!(!matches("text/plain", b"\xff\xfe\xfd\xfc\xfb"));
    }
}
