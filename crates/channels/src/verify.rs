//! Telling a genuine webhook delivery from a forged one, before its body is read.
//!
//! Meta (WhatsApp, Messenger, Instagram) signs each body with the app secret; Telegram
//! and the email route send a shared secret in a header instead. Every comparison is in
//! constant time so that the time a refusal takes says nothing about the secret.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The header Meta signs deliveries in.
pub const HUB_SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// Meta echoes the challenge back as the response body, so anything longer or stranger
/// than a token is refused rather than reflected.
const MAX_CHALLENGE_LEN: usize = 256;

/// Why a delivery or handshake was refused. Each names the header or parameter.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("{0} is malformed")]
    Malformed(&'static str),
    #[error("{0} does not match")]
    Mismatch(&'static str),
}

/// Checks `X-Hub-Signature-256: sha256=<hex>` against the HMAC-SHA256 of the raw body
/// bytes keyed with the app secret.
///
/// The raw bytes matter: Meta escapes non-ASCII text as `\uXXXX`, so a body that was
/// parsed and written out again no longer carries the same signature.
pub fn verify_hub_signature(
    app_secret: &str,
    body: &[u8],
    header: Option<&str>,
) -> Result<(), VerifyError> {
    let header = header.ok_or(VerifyError::Missing(HUB_SIGNATURE_HEADER))?;
    let hex_digest = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(VerifyError::Malformed(HUB_SIGNATURE_HEADER))?;
    // hex::decode accepts both cases, as Meta's documentation does not fix one.
    let claimed =
        hex::decode(hex_digest).map_err(|_| VerifyError::Malformed(HUB_SIGNATURE_HEADER))?;
    if claimed.len() != 32 {
        return Err(VerifyError::Malformed(HUB_SIGNATURE_HEADER));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes())
        .map_err(|_| VerifyError::Malformed("app secret"))?;
    mac.update(body);
    mac.verify_slice(&claimed)
        .map_err(|_| VerifyError::Mismatch(HUB_SIGNATURE_HEADER))
}

/// Answers Meta's subscription handshake (`hub.mode`, `hub.verify_token`,
/// `hub.challenge`): the challenge to echo when the token is ours.
pub fn hub_challenge(
    mode: Option<&str>,
    verify_token: Option<&str>,
    challenge: Option<&str>,
    expected_token: &str,
) -> Result<String, VerifyError> {
    let mode = mode.ok_or(VerifyError::Missing("hub.mode"))?;
    if mode != "subscribe" {
        return Err(VerifyError::Malformed("hub.mode"));
    }
    let token = verify_token.ok_or(VerifyError::Missing("hub.verify_token"))?;
    if !constant_time_equal(token, expected_token) {
        return Err(VerifyError::Mismatch("hub.verify_token"));
    }
    let challenge = challenge.ok_or(VerifyError::Missing("hub.challenge"))?;
    let printable = |byte: u8| byte.is_ascii_graphic();
    if challenge.is_empty()
        || challenge.len() > MAX_CHALLENGE_LEN
        || !challenge.bytes().all(printable)
    {
        return Err(VerifyError::Malformed("hub.challenge"));
    }
    Ok(challenge.to_string())
}

/// Checks a shared secret sent in a header (Telegram's `X-Telegram-Bot-Api-Secret-Token`,
/// the email route's `X-Frontdesk-Token`).
pub fn verify_secret_token(expected: &str, header: Option<&str>) -> Result<(), VerifyError> {
    let given = header.ok_or(VerifyError::Missing("secret token"))?;
    // An empty expected secret would let an empty header through: never accept that.
    if expected.is_empty() || !constant_time_equal(given, expected) {
        return Err(VerifyError::Mismatch("secret token"));
    }
    Ok(())
}

/// Equality whose time does not depend on where the strings differ. Only the length can
/// show, which is not the secret.
fn constant_time_equal(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "app-secret";

    fn sign(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_correct_signature_verifies_in_either_hex_case() {
        let body = br#"{"object":"page"}"#;
        let header = sign(SECRET, body);
        assert_eq!(verify_hub_signature(SECRET, body, Some(&header)), Ok(()));
        let upper = format!("sha256={}", header["sha256=".len()..].to_uppercase());
        assert_eq!(verify_hub_signature(SECRET, body, Some(&upper)), Ok(()));
    }

    #[test]
    fn a_wrong_missing_or_malformed_signature_is_refused() {
        let body = br#"{"object":"page"}"#;
        let other_key = sign("another-secret", body);
        assert_eq!(
            verify_hub_signature(SECRET, body, Some(&other_key)),
            Err(VerifyError::Mismatch(HUB_SIGNATURE_HEADER))
        );
        let tampered = sign(SECRET, br#"{"object":"pagE"}"#);
        assert_eq!(
            verify_hub_signature(SECRET, body, Some(&tampered)),
            Err(VerifyError::Mismatch(HUB_SIGNATURE_HEADER))
        );
        let missing = verify_hub_signature(SECRET, body, None).unwrap_err();
        assert_eq!(missing, VerifyError::Missing(HUB_SIGNATURE_HEADER));
        assert_eq!(missing.to_string(), "X-Hub-Signature-256 is missing");
        let good = sign(SECRET, body);
        let sha1_style = good.replace("sha256=", "sha1=");
        let short = &good[..good.len() - 2];
        let not_hex = format!("sha256={}", "zz".repeat(32));
        for bad in [sha1_style.as_str(), short, not_hex.as_str(), "", "sha256="] {
            assert_eq!(
                verify_hub_signature(SECRET, body, Some(bad)),
                Err(VerifyError::Malformed(HUB_SIGNATURE_HEADER)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_signature_covers_raw_bytes_not_reserialised_json() {
        let raw = br#"{"text":"caf\u00e9 \ud83d\ude00"}"#;
        let header = sign(SECRET, raw);
        assert_eq!(verify_hub_signature(SECRET, raw, Some(&header)), Ok(()));

        let value: serde_json::Value = serde_json::from_slice(raw).unwrap();
        let reserialised = serde_json::to_vec(&value).unwrap();
        assert_ne!(reserialised.as_slice(), raw.as_slice());
        assert_eq!(value["text"], "café 😀");
        assert_eq!(
            verify_hub_signature(SECRET, &reserialised, Some(&header)),
            Err(VerifyError::Mismatch(HUB_SIGNATURE_HEADER))
        );
    }

    #[test]
    fn the_handshake_echoes_the_challenge_only_for_our_token() {
        let ok = hub_challenge(Some("subscribe"), Some("tok"), Some("1158201444"), "tok");
        assert_eq!(ok, Ok("1158201444".to_string()));
        assert_eq!(
            hub_challenge(Some("subscribe"), Some("tok2"), Some("1"), "tok"),
            Err(VerifyError::Mismatch("hub.verify_token"))
        );
        assert_eq!(
            hub_challenge(Some("unsubscribe"), Some("tok"), Some("1"), "tok"),
            Err(VerifyError::Malformed("hub.mode"))
        );
        assert_eq!(
            hub_challenge(None, Some("tok"), Some("1"), "tok"),
            Err(VerifyError::Missing("hub.mode"))
        );
        assert_eq!(
            hub_challenge(Some("subscribe"), None, Some("1"), "tok"),
            Err(VerifyError::Missing("hub.verify_token"))
        );
        assert_eq!(
            hub_challenge(Some("subscribe"), Some("tok"), None, "tok"),
            Err(VerifyError::Missing("hub.challenge"))
        );
    }

    #[test]
    fn a_challenge_that_is_not_a_plain_token_is_not_echoed() {
        let too_long = "9".repeat(MAX_CHALLENGE_LEN + 1);
        let longest = "9".repeat(MAX_CHALLENGE_LEN);
        assert_eq!(
            hub_challenge(Some("subscribe"), Some("t"), Some(&longest), "t"),
            Ok(longest.clone())
        );
        for bad in [
            "",
            "a b",
            "<script>\n",
            "caf\u{e9}",
            too_long.as_str(),
            "tab\there",
        ] {
            assert_eq!(
                hub_challenge(Some("subscribe"), Some("t"), Some(bad), "t"),
                Err(VerifyError::Malformed("hub.challenge")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_secret_token_must_match_exactly() {
        assert_eq!(verify_secret_token("s3cret_-", Some("s3cret_-")), Ok(()));
        let err = verify_secret_token("s3cret", Some("s3cre")).unwrap_err();
        assert_eq!(err, VerifyError::Mismatch("secret token"));
        assert_eq!(err.to_string(), "secret token does not match");
        assert_eq!(
            verify_secret_token("s3cret", Some("S3CRET")),
            Err(VerifyError::Mismatch("secret token"))
        );
        assert_eq!(
            verify_secret_token("s3cret", None),
            Err(VerifyError::Missing("secret token"))
        );
        assert_eq!(
            verify_secret_token("", Some("")),
            Err(VerifyError::Mismatch("secret token"))
        );
    }
}
