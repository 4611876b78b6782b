//! Encodings owners' exports come in: BOMs, UTF-16, Windows-1252, and files that are not
//! text at all. Files are written as bytes into a temporary folder and read back.

// Wrapped in `import` so that `cargo test -p frontdesk-knowledge import` selects these.
mod import {
    use std::path::{Path, PathBuf};

    use frontdesk_knowledge::import::{decode_text, read_faqs, read_tickets};

    const NOT_TEXT: &str = "not valid text (expected UTF-8, UTF-16 with BOM, \
                        or a legacy code page such as Windows-1252)";

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("temp file written");
        path
    }

    fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
        let mut bytes = if little_endian {
            vec![0xFF, 0xFE]
        } else {
            vec![0xFE, 0xFF]
        };
        for unit in text.encode_utf16() {
            let pair = if little_endian {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            };
            bytes.extend(pair);
        }
        bytes
    }

    #[test]
    fn windows_1252_csv_comes_out_right() {
        let dir = tempfile::tempdir().expect("temp dir");
        // "café", "naïve" and "€5" in Windows-1252, with Excel's CRLF line ends.
        let mut bytes =
            b"id,question,answer\r\n1,Is the caf\xE9 open?,Yes \x96 a na\xEFve ".to_vec();
        bytes.extend_from_slice(b"\x805 deal for early birds\r\n");
        let path = write(&dir, "faq.csv", &bytes);
        let faqs = read_faqs(&path).expect("legacy file imports");
        assert_eq!(faqs[0].question, "Is the café open?");
        assert_eq!(faqs[0].answer, "Yes – a naïve €5 deal for early birds");
    }

    #[test]
    fn iso_8859_1_text_is_read_as_windows_1252() {
        let text = decode_text(
            Path::new("x.txt"),
            b"Cr\xE8me br\xFBl\xE9e, se\xF1or, gr\xFC\xDFe",
        )
        .expect("decodes");
        assert_eq!(text, "Crème brûlée, señor, grüße");
    }

    #[test]
    fn utf16_le_and_be_with_bom() {
        let dir = tempfile::tempdir().expect("temp dir");
        let text = "message,faq_id\r\nÇa coûte combien ? €,pricing\r\n";
        for (name, little) in [("le.csv", true), ("be.csv", false)] {
            let path = write(&dir, name, &utf16(text, little));
            let tickets = read_tickets(&path).expect("UTF-16 file imports");
            assert_eq!(tickets[0].message, "Ça coûte combien ? €");
            assert_eq!(tickets[0].faq_id.as_deref(), Some("pricing"));
        }
    }

    #[test]
    fn utf8_bom_is_stripped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write(
            &dir,
            "faq.csv",
            "\u{feff}id,question,answer\n1,Wie?,Grüß Gott\n".as_bytes(),
        );
        let faqs = read_faqs(&path).expect("BOM file imports");
        assert_eq!(faqs[0].id, "1", "the BOM is not part of the `id` header");
        assert_eq!(faqs[0].answer, "Grüß Gott");
    }

    #[test]
    fn binary_garbage_is_not_text() {
        let dir = tempfile::tempdir().expect("temp dir");
        let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10";
        let path = write(&dir, "faq.jsonl", png);
        let e = read_faqs(&path).expect_err("binary");
        assert_eq!(e.to_string(), format!("{}: {NOT_TEXT}", path.display()));
        assert_eq!(e.line, None);

        let controls: Vec<u8> = (1u8..=31).filter(|b| !b"\t\n\r\x0c".contains(b)).collect();
        let e = decode_text(Path::new("x.csv"), &controls.repeat(4)).expect_err("control bytes");
        assert_eq!(e.message, NOT_TEXT);
    }

    #[test]
    fn utf16_without_bom_is_refused() {
        let bytes: Vec<u8> = utf16("id,question,answer\n", true).split_off(2);
        let e = decode_text(Path::new("faq.csv"), &bytes).expect_err("no BOM");
        assert_eq!(e.message, NOT_TEXT);
    }

    #[test]
    fn truncated_utf16_is_refused() {
        let mut bytes = utf16("message\nhi\n", true);
        bytes.push(b'x');
        assert!(decode_text(Path::new("t.csv"), &bytes).is_err());
    }

    #[test]
    fn empty_file_has_no_entries() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write(&dir, "kb.jsonl", b"");
        let e = read_faqs(&path).expect_err("empty");
        assert_eq!(
            e.to_string(),
            format!("{}: no entries found", path.display())
        );
    }
}
