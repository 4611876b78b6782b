//! The email reader on the shared real-world messages, and on constructed ones for the
//! charsets, reply styles and machine-sent mail the fixtures do not cover.

use frontdesk_channels::email::{
    normalized_subject, parse_email, strip_quoted, EmailAttachment, EmailError, InboundEmail,
};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/email"
);

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn fixture(name: &str) -> InboundEmail {
    let path = format!("{FIXTURES}/{name}");
    let raw = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    parse_email(&raw).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// A constructed message, written with `\n` and sent with CRLF as SMTP carries it.
fn crlf(message: &str) -> Vec<u8> {
    message.replace('\n', "\r\n").into_bytes()
}

fn parsed(message: &str) -> InboundEmail {
    parse_email(&crlf(message)).unwrap_or_else(|error| panic!("{error}: {message}"))
}

fn person(headers: &str) -> String {
    format!(
        "From: Ana Example <ana@example.com>\n\
         To: help@shop.example\n\
         Subject: Where is my order?\n\
         Date: Mon, 3 Mar 2025 10:00:00 +0000\n\
         Message-ID: <m1@example.com>\n\
         {headers}\
         Content-Type: text/plain; charset=utf-8\n\
         \n\
         I am out of the office until Monday.\n"
    )
}

// ---- the shared fixtures ----

#[test]
fn eudora_plain_us_ascii() {
    let email = fixture("plain_us_ascii_eudora.eml");
    assert_eq!(email.from_address, "asample1@example.com");
    assert_eq!(email.from_name.as_deref(), Some("Alex Sample"));
    assert_eq!(email.to, vec!["blow@example.com"]);
    assert_eq!(email.subject, "The Hare and the Tortoise");
    assert_eq!(
        email.message_id.as_deref(),
        Some("4.2.0.58.20000519011207.00a8cd70@pop.example.com")
    );
    // 2000-05-19 01:13:19 -0400
    assert_eq!(email.date, Some(958_713_199_000));
    assert!(email.in_reply_to.is_empty());
    assert!(email.references.is_empty());
    assert!(email.attachments.is_empty());
    assert_eq!(email.automated, None);
    assert!(email
        .text
        .starts_with("The Hare and the Tortoise\n\nA HARE one day ridiculed the short feet"));
    assert!(email.text.ends_with("Slow but steady wins the race."));
    assert!(!email.full_text.contains('\r'));
}

#[test]
fn netscape_attachments() {
    let email = fixture("netscape_png_attachment.eml");
    assert_eq!(email.from_address, "asample1@example.com");
    assert_eq!(email.to, vec!["blow@example.com"]);
    assert_eq!(email.subject, "Test message from Netscape Communicator 4.7");
    assert_eq!(
        email.message_id.as_deref(),
        Some("3923635B.85C58444@example.com")
    );
    // The body is the first text part only: the attached .txt is a file, not the message.
    assert!(email
        .text
        .starts_with("The Hare and the Tortoise\n\nA HARE one day ridiculed"));
    assert!(email
        .text
        .ends_with(" after her fatigue.\n\nSlow but steady wins the race."));
    assert_eq!(email.full_text.matches("Slow but steady").count(), 1);
    assert!(!email.full_text.contains("This is a multi-part message"));

    let summary: Vec<(Option<&str>, &str, bool)> = email
        .attachments
        .iter()
        .map(|a| (a.file_name.as_deref(), a.content_type.as_str(), a.inline))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Some("blueball.png"), "image/png", true),
            (Some("greenball.png"), "image/png", true),
            (Some("hareandtoroise.txt"), "text/plain", true),
        ]
    );
    for png in &email.attachments[..2] {
        assert!(png.data.starts_with(PNG_SIGNATURE), "{:?}", png.file_name);
        assert_eq!(png.size_bytes, png.data.len() as u64);
        assert!(png.size_bytes > 100);
        assert_eq!(png.content_id, None);
    }
    let story = String::from_utf8(email.attachments[2].data.clone()).unwrap();
    assert!(story.contains("The Hare and the Tortoise"));
    assert!(story.contains("Slow but steady wins the race."));
    assert_eq!(email.automated, None);
}

#[test]
fn iso_8859_1_quoted_printable_alternative() {
    let email = fixture("iso8859_qp_multipart_alternative.eml");
    assert_eq!(email.subject, "Die Hasen und die Frösche");
    assert_eq!(email.from_address, "asample1@example.com");
    assert_eq!(email.from_name.as_deref(), Some("Alex Sample"));
    assert_eq!(email.to, vec!["mueller@example.com"]);
    assert_eq!(
        email.message_id.as_deref(),
        Some("4.2.0.58.20000519002557.00a88870@pop.example.com")
    );
    // text/plain is preferred over the HTML alternative, and soft line breaks are joined.
    assert!(email.text.starts_with("Die Hasen und die Frösche\n\n"));
    assert!(email.text.contains(
        "Die Hasen klagten einst über ihre mißliche Lage; \"wir leben\", sprach ein \
         Redner, \"in steter Furcht vor Menschen und Tieren, eine Beute der Hunde, der Adler,"
    ));
    assert!(email
        .text
        .contains("Unsere stete Angst ist ärger als der Tod selbst."));
    assert!(email.text.contains("allein das außerordentliche Getöse"));
    assert!(email
        .text
        .ends_with("welche also wohl noch unglücklicher sein müssen als wir.\""));
    assert!(!email.text.contains('='));
    assert!(!email.text.contains("<font"));
    // The HTML alternative is another rendering of the body, not a file.
    assert!(email.attachments.is_empty());
}

#[test]
fn chatwoot_html_only() {
    let email = fixture("html_only_chatwoot.eml");
    assert_eq!(email.from_address, "alice@example.com");
    assert_eq!(email.from_name, None);
    assert_eq!(email.to, vec!["care@example.com"]);
    assert_eq!(email.subject, "test html only mail");
    assert_eq!(email.text, "This is html only mail");
    assert_eq!(email.full_text, "This is html only mail");
    // An empty In-Reply-To names no parent.
    assert!(email.in_reply_to.is_empty());
    assert_eq!(
        email.message_id.as_deref(),
        Some("6215d71711c38_10bc61914022323@alices-MacBook-Pro.local.mail")
    );
    // Wed, 23 Feb 2022 12:11:27 +0530
    assert_eq!(email.date, Some(1_645_598_487_000));
    assert!(email.attachments.is_empty());
}

#[test]
fn gmail_reply() {
    let email = fixture("reply_with_gmail_quote.eml");
    assert_eq!(email.from_address, "bob@example.com");
    assert_eq!(email.from_name.as_deref(), Some("Bob Agentson"));
    assert_eq!(
        email.to,
        vec!["reply+6bdc3f4d-0bec-4515-a284-5d916fdde489@example.com"]
    );
    assert_eq!(email.subject, "Re: Checking mail forwarding to cw inbox");
    assert_eq!(
        email.in_reply_to,
        vec!["0100017b5d8efc70-c7f18809-aa55-48f6-91fd-b626092ed8b3-000000@email.amazonses.com"]
    );
    assert_eq!(
        email.references,
        vec![
            "CAFkiBVxGoURoqdkY-O_25F-8b41kb-GWBc6hh4Djd5ynwOikXA@mail.gmail.com",
            "0100017b5d8efc70-c7f18809-aa55-48f6-91fd-b626092ed8b3-000000@email.amazonses.com",
        ]
    );
    assert_eq!(
        email.message_id.as_deref(),
        Some("CAFkiBVwJjO_k_e-LpiKi7MAQAKbHX5nkEPcf0y1R=bjcEHogMg@mail.gmail.com")
    );
    assert_eq!(email.date, Some(1_629_362_671_000));
    assert_eq!(
        email.text,
        "Yes, I am providing you step how to reproduce this issue"
    );
    assert!(email.full_text.contains("> Any update on this?"));
    assert!(email.full_text.contains("Software developer"));
    assert!(email.attachments.is_empty());
    assert_eq!(email.automated, None);
}

// ---- charsets and MIME structure ----

#[test]
fn iso_2022_jp_body() {
    let japanese = "お問い合わせありがとうございます。注文番号を教えてください。";
    let (encoded, _, had_errors) = encoding_rs::ISO_2022_JP.encode(japanese);
    assert!(!had_errors);
    assert!(encoded.is_ascii(), "ISO-2022-JP is a 7-bit encoding");
    let mut raw = crlf(
        "From: =?UTF-8?B?5bGx55Sw?= <yamada@example.jp>\n\
         To: help@shop.example\n\
         Subject: =?UTF-8?B?5rOo5paH?=\n\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=ISO-2022-JP\n\
         Content-Transfer-Encoding: 7bit\n\
         \n",
    );
    raw.extend_from_slice(&encoded);
    raw.extend_from_slice(b"\r\n");

    let email = parse_email(&raw).unwrap();
    assert_eq!(email.text, japanese);
    assert_eq!(email.full_text, japanese);
    assert_eq!(email.from_name.as_deref(), Some("山田"));
    assert_eq!(email.subject, "注文");
}

#[test]
fn inline_image_not_referenced_by_the_html() {
    let email = parsed(
        "From: Ana <ana@example.com>\n\
         To: help@shop.example\n\
         Subject: Photo of the damage\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/related; boundary=\"rel\"\n\
         \n\
         --rel\n\
         Content-Type: text/html; charset=utf-8\n\
         \n\
         <html><body><p>The box arrived <b>damaged</b>.</p><p>See the photo.</p></body></html>\n\
         --rel\n\
         Content-Type: image/png; name=\"damage.png\"\n\
         Content-Transfer-Encoding: base64\n\
         Content-ID: <photo1@ana.example>\n\
         Content-Disposition: inline; filename=\"damage.png\"\n\
         \n\
         iVBORw0KGgo=\n\
         --rel--\n",
    );
    assert_eq!(email.text, "The box arrived damaged.\n\nSee the photo.");
    assert_eq!(
        email.attachments,
        vec![EmailAttachment {
            file_name: Some("damage.png".to_string()),
            content_type: "image/png".to_string(),
            content_id: Some("photo1@ana.example".to_string()),
            inline: true,
            size_bytes: 8,
            data: PNG_SIGNATURE.to_vec(),
        }]
    );
}

#[test]
fn cid_reference_makes_an_image_inline_and_a_pdf_stays_an_attachment() {
    let email = parsed(
        "From: Shop Newsletter <news@shop.example>\n\
         To: ana@example.com, Bob <BOB@Example.com>\n\
         Cc: ana@example.com, carol@example.com\n\
         Subject: Your invoice\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"mix\"\n\
         \n\
         --mix\n\
         Content-Type: multipart/alternative; boundary=\"alt\"\n\
         \n\
         --alt\n\
         Content-Type: text/plain; charset=utf-8\n\
         \n\
         Your invoice is attached.\n\
         --alt\n\
         Content-Type: multipart/related; boundary=\"rel\"\n\
         \n\
         --rel\n\
         Content-Type: text/html; charset=utf-8\n\
         \n\
         <div><img src=\"cid:logo@shop.example\"></div><div>Your invoice is attached.</div>\n\
         --rel\n\
         Content-Type: image/png\n\
         Content-Transfer-Encoding: base64\n\
         Content-ID: <logo@shop.example>\n\
         \n\
         iVBORw0KGgo=\n\
         --rel--\n\
         --alt--\n\
         --mix\n\
         Content-Type: application/pdf; name=\"invoice-1234.pdf\"\n\
         Content-Transfer-Encoding: base64\n\
         Content-Disposition: attachment; filename=\"invoice-1234.pdf\"\n\
         \n\
         JVBERi0xLjQK\n\
         --mix--\n",
    );
    assert_eq!(email.text, "Your invoice is attached.");
    assert_eq!(
        email.to,
        vec!["ana@example.com", "bob@example.com", "carol@example.com"]
    );
    assert_eq!(
        email.attachments,
        vec![
            EmailAttachment {
                file_name: None,
                content_type: "image/png".to_string(),
                content_id: Some("logo@shop.example".to_string()),
                inline: true,
                size_bytes: 8,
                data: PNG_SIGNATURE.to_vec(),
            },
            EmailAttachment {
                file_name: Some("invoice-1234.pdf".to_string()),
                content_type: "application/pdf".to_string(),
                content_id: None,
                inline: false,
                size_bytes: 9,
                data: b"%PDF-1.4\n".to_vec(),
            },
        ]
    );
}

#[test]
fn html_only_gmail_reply_drops_the_blockquote_and_signature() {
    let email = parsed(
        "From: Bob <bob@example.com>\n\
         To: help@shop.example\n\
         Subject: Re: order 1234\n\
         Content-Type: text/html; charset=utf-8\n\
         \n\
         <div dir=\"ltr\">Yes, that works.<div>Thanks!</div></div><br>\
         <div class=\"gmail_quote\"><div class=\"gmail_attr\">On Mon, 3 Mar 2025 at 10:00, \
         Shop &lt;help@shop.example&gt; wrote:<br></div>\
         <blockquote class=\"gmail_quote\"><p>Did the fix work?</p></blockquote></div>\
         -- <br><div class=\"gmail_signature\">Bob<br>Builder</div>\n",
    );
    assert_eq!(email.text, "Yes, that works.\nThanks!");
    assert!(email.full_text.contains("\n> Did the fix work?\n"));
}

// ---- headers ----

#[test]
fn thread_ids_without_brackets_in_header_order() {
    let email = parsed(
        "From: ana@example.com\n\
         To: help@shop.example\n\
         Subject: Re: order 1234\n\
         Message-ID: <m3@example.com>\n\
         In-Reply-To: <m2@shop.example>\n\
         References: <m1@example.com>\n \
         <first-reply@shop.example>\n\
         \t<m2@shop.example>\n\
         Content-Type: text/plain\n\
         \n\
         Thanks.\n",
    );
    assert_eq!(email.message_id.as_deref(), Some("m3@example.com"));
    assert_eq!(email.in_reply_to, vec!["m2@shop.example"]);
    assert_eq!(
        email.references,
        vec![
            "m1@example.com",
            "first-reply@shop.example",
            "m2@shop.example"
        ]
    );
    assert_eq!(email.date, None);
    assert_eq!(email.from_name, None);
}

#[test]
fn missing_subject_is_empty() {
    let email = parsed("From: ana@example.com\nTo: help@shop.example\n\nHello\n");
    assert_eq!(email.subject, "");
    assert_eq!(email.text, "Hello");
}

#[test]
fn not_mail_is_refused() {
    assert!(matches!(
        parse_email(b"\x00\x01garbage"),
        Err(EmailError::NotMail)
    ));
    assert!(matches!(parse_email(b""), Err(EmailError::NotMail)));
    assert!(matches!(
        parse_email(b"just some words\r\nand more words\r\n"),
        Err(EmailError::NotMail)
    ));
}

#[test]
fn no_from_is_refused() {
    let result = parse_email(&crlf(
        "To: help@shop.example\nSubject: hello\n\nWho am I?\n",
    ));
    assert!(matches!(result, Err(EmailError::NoSender)), "{result:?}");
    let result = parse_email(&crlf(
        "From: Nobody\nTo: help@shop.example\nSubject: hello\n\nWho am I?\n",
    ));
    assert!(matches!(result, Err(EmailError::NoSender)), "{result:?}");
}

// ---- machine-sent mail ----

#[test]
fn auto_submitted_auto_replied() {
    let email = parsed(&person("Auto-Submitted: auto-replied\n"));
    assert_eq!(
        email.automated.as_deref(),
        Some("Auto-Submitted: auto-replied")
    );
}

#[test]
fn x_autoreply() {
    let email = parsed(&person("X-Autoreply: yes\n"));
    assert_eq!(email.automated.as_deref(), Some("X-Autoreply: yes"));
    let email = parsed(&person("X-Autorespond: Out of office\n"));
    assert_eq!(
        email.automated.as_deref(),
        Some("X-Autorespond: Out of office")
    );
}

#[test]
fn precedence_bulk() {
    let email = parsed(&person("Precedence: bulk\n"));
    assert_eq!(email.automated.as_deref(), Some("Precedence: bulk"));
    let email = parsed(&person("Precedence: first-class\n"));
    assert_eq!(email.automated, None);
}

#[test]
fn bounce_report_from_mailer_daemon() {
    let email = parsed(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\n\
         To: help@shop.example\n\
         Subject: Undelivered Mail Returned to Sender\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\n\
         \n\
         --b1\n\
         Content-Type: text/plain; charset=us-ascii\n\
         \n\
         I'm sorry to have to inform you that your message could not be delivered.\n\
         --b1\n\
         Content-Type: message/delivery-status\n\
         \n\
         Reporting-MTA: dns; mx.example.net\n\
         \n\
         Final-Recipient: rfc822; nobody@example.org\n\
         Action: failed\n\
         Status: 5.1.1\n\
         --b1\n\
         Content-Type: message/rfc822\n\
         \n\
         From: help@shop.example\n\
         To: nobody@example.org\n\
         Subject: Your order\n\
         \n\
         Your order has shipped.\n\
         --b1--\n",
    );
    assert_eq!(email.from_address, "mailer-daemon@mx.example.net");
    assert_eq!(
        email.automated.as_deref(),
        Some("bounce or report: Content-Type multipart/report")
    );
    assert_eq!(
        email.text,
        "I'm sorry to have to inform you that your message could not be delivered."
    );
    let types: Vec<&str> = email
        .attachments
        .iter()
        .map(|a| a.content_type.as_str())
        .collect();
    assert_eq!(types, vec!["message/delivery-status", "message/rfc822"]);
}

#[test]
fn delivery_status_part_outside_a_report() {
    let email = parsed(
        "From: Shop Relay <relay@shop.example>\n\
         To: help@shop.example\n\
         Subject: Delivery failure\n\
         Content-Type: multipart/mixed; boundary=\"b2\"\n\
         \n\
         --b2\n\
         Content-Type: text/plain\n\
         \n\
         Could not deliver.\n\
         --b2\n\
         Content-Type: message/delivery-status\n\
         \n\
         Action: failed\n\
         --b2--\n",
    );
    assert_eq!(
        email.automated.as_deref(),
        Some("bounce or report: a message/delivery-status part")
    );
}

#[test]
fn mailer_daemon_and_postmaster_senders() {
    let email =
        parsed("From: MAILER-DAEMON@mx.example.net\nTo: help@shop.example\n\nDelivery failed.\n");
    assert_eq!(
        email.automated.as_deref(),
        Some("From: mailer-daemon@mx.example.net")
    );
    let email = parsed("From: postmaster@example.org\nTo: help@shop.example\n\nHello.\n");
    assert_eq!(
        email.automated.as_deref(),
        Some("From: postmaster@example.org")
    );
}

#[test]
fn mailing_list() {
    let email = parsed(&person(
        "List-Id: Shop customers <customers.shop.example>\n",
    ));
    assert_eq!(
        email.automated.as_deref(),
        Some("mailing list: List-Id: Shop customers <customers.shop.example>")
    );
    let email = parsed(&person(
        "List-Unsubscribe: <mailto:unsubscribe@lists.example.com>\n",
    ));
    assert_eq!(
        email.automated.as_deref(),
        Some("mailing list: List-Unsubscribe: <mailto:unsubscribe@lists.example.com>")
    );
}

#[test]
fn null_return_path() {
    let email = parsed(&format!("Return-Path: <>\n{}", person("")));
    assert_eq!(email.automated.as_deref(), Some("Return-Path: <>"));
    let email = parsed(&format!("Return-Path: <ana@example.com>\n{}", person("")));
    assert_eq!(email.automated, None);
}

#[test]
fn a_person_is_not_automated() {
    let email = parsed(&person("Auto-Submitted: no\n"));
    assert_eq!(email.automated, None);
    // Outlook asks other autoresponders to keep quiet on mail a person writes.
    let email = parsed(&person("X-Auto-Response-Suppress: All\n"));
    assert_eq!(email.automated, None);
    assert_eq!(email.text, "I am out of the office until Monday.");
}

// ---- reply stripping ----

#[test]
fn outlook_separator_and_header_block() {
    let email = parsed(
        "From: Ana <ana@example.com>\n\
         To: help@shop.example\n\
         Subject: RE: order 1234\n\
         Content-Type: text/plain; charset=utf-8\n\
         \n\
         Thanks, that worked.\n\
         \n\
         ________________________________\n\
         From: Shop Support <help@shop.example>\n\
         Sent: Monday, 3 March 2025 10:00\n\
         To: Ana <ana@example.com>\n\
         Subject: RE: order 1234\n\
         \n\
         Hello Ana, please restart the app.\n",
    );
    assert_eq!(email.text, "Thanks, that worked.");
    assert!(email
        .full_text
        .contains("Hello Ana, please restart the app."));
}

#[test]
fn outlook_header_block_without_separator() {
    let text = "Thanks, that worked.\r\n\r\nFrom: Shop Support <help@shop.example>\r\n\
                Sent: Monday, 3 March 2025 10:00\r\nTo: Ana <ana@example.com>\r\n\
                Subject: RE: order 1234\r\n\r\nHello Ana, ...\r\n";
    assert_eq!(strip_quoted(text), "Thanks, that worked.");
    let german = "Danke!\n\nVon: Shop <help@shop.example>\nGesendet: Montag, 3. März 2025\n\
                  An: Ana <ana@example.com>\nBetreff: AW: Bestellung\n\nHallo Ana\n";
    assert_eq!(strip_quoted(german), "Danke!");
}

#[test]
fn original_message_separator() {
    let text = "It arrived today.\r\n\r\n-----Original Message-----\r\n\
                From: Shop Support [mailto:help@shop.example]\r\n\
                Sent: Monday, March 03, 2025 10:00 AM\r\n\r\nYour parcel is on its way.\r\n";
    assert_eq!(strip_quoted(text), "It arrived today.");
}

#[test]
fn french_attribution() {
    let text = "Merci, c'est réglé.\r\n\r\n\
                Le lun. 3 mars 2025 à 10:00, Shop <help@shop.example> a écrit :\r\n\
                > Bonjour Ana,\r\n> le colis est parti.\r\n";
    assert_eq!(strip_quoted(text), "Merci, c'est réglé.");
}

#[test]
fn wrapped_english_attribution() {
    let text = "Great, thank you!\r\n\r\n\
                On Mon, 3 Mar 2025 at 10:00, Shop Support\r\n\
                <help@shop.example> wrote:\r\n\r\n\
                > Your refund was issued.\r\n";
    assert_eq!(strip_quoted(text), "Great, thank you!");
}

#[test]
fn a_line_before_the_attribution_is_kept() {
    let text = "On second thought, cancel it.\n\
                On Mon, 3 Mar 2025 at 10:00, Shop <help@shop.example> wrote:\n\
                > Shall we ship it?\n";
    assert_eq!(strip_quoted(text), "On second thought, cancel it.");
}

#[test]
fn german_and_spanish_attributions() {
    let german = "Passt, danke.\n\nAm 03.03.2025 um 10:00 schrieb Shop <help@shop.example>:\n\
                  > Hallo Ana\n";
    assert_eq!(strip_quoted(german), "Passt, danke.");
    let spanish = "Perfecto.\n\nEl lun, 3 mar 2025 a las 10:00, Shop (<help@shop.example>) \
                   escribió:\n> Hola Ana\n";
    assert_eq!(strip_quoted(spanish), "Perfecto.");
}

#[test]
fn signature_is_removed() {
    let email = parsed(
        "From: Ana <ana@example.com>\n\
         To: help@shop.example\n\
         Subject: Return\n\
         \n\
         I would like to return the blue shoes.\n\
         \n\
         -- \n\
         Ana Example\n\
         CEO\n",
    );
    assert_eq!(email.text, "I would like to return the blue shoes.");
    assert!(email.full_text.ends_with("Ana Example\nCEO"));
}

#[test]
fn mobile_footer_is_removed() {
    assert_eq!(
        strip_quoted("Can I change the address?\n\nSent from my iPhone\n"),
        "Can I change the address?"
    );
    assert_eq!(
        strip_quoted("Geht das?\n\nVon meinem iPhone gesendet\n"),
        "Geht das?"
    );
}

#[test]
fn interleaved_quotes_are_dropped() {
    let text = "> Which size?\nM, please.\n\n> Which colour?\n\nBlue.\n";
    assert_eq!(strip_quoted(text), "M, please.\n\nBlue.");
}

#[test]
fn ordinary_lines_are_kept() {
    // One "From:" line and a "--" inside a sentence are the customer's own words.
    let text = "From: the invoice it says 12 EUR -- but I paid 15.\nPlease check.\n\n\n";
    assert_eq!(
        strip_quoted(text),
        "From: the invoice it says 12 EUR -- but I paid 15.\nPlease check."
    );
}

#[test]
fn nothing_left_gives_the_full_text() {
    let text = "\n> only a quote\n> nothing new\n\n";
    assert_eq!(strip_quoted(text), "> only a quote\n> nothing new");
}

// ---- subjects ----

#[test]
fn subject_normalization() {
    assert_eq!(
        normalized_subject("RE: Fwd: Re[2]:  Where is   my ORDER?"),
        "where is my order?"
    );
    assert_eq!(normalized_subject("AW: WG: Bestellung"), "bestellung");
    assert_eq!(normalized_subject("  sv: Antw: FW: re:Order 7 "), "order 7");
    // A word that merely starts like a prefix is part of the subject.
    assert_eq!(normalized_subject("Return policy"), "return policy");
    assert_eq!(normalized_subject("Reorder: 2 items"), "reorder: 2 items");
}
