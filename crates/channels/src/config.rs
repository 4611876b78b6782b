//! What a connected channel needs to know: its secrets, ids and the provider's address.
//!
//! Stored as JSON with the channel. `Debug` never prints a secret, so a config can be
//! logged whole.

use std::fmt;

use frontdesk_core::Channel;
use serde::{Deserialize, Serialize};

/// Meta's Graph API (WhatsApp Cloud API, Messenger, Instagram), version pinned so that
/// a provider change cannot alter payloads under us.
pub const DEFAULT_META_API_BASE: &str = "https://graph.facebook.com/v21.0";
pub const DEFAULT_TELEGRAM_API_BASE: &str = "https://api.telegram.org";

/// One connected channel's settings, by kind.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelConfig {
    Whatsapp {
        app_secret: String,
        verify_token: String,
        access_token: String,
        phone_number_id: String,
        api_base: String,
    },
    Messenger {
        app_secret: String,
        verify_token: String,
        page_access_token: String,
        api_base: String,
    },
    Instagram {
        app_secret: String,
        verify_token: String,
        page_access_token: String,
        api_base: String,
    },
    Telegram {
        bot_token: String,
        secret_token: String,
        api_base: String,
    },
    Email {
        address: String,
        webhook_secret: String,
        /// The mailbox the server reads new mail from (`imaps://user:password@host/INBOX`),
        /// besides what a forwarding service posts to the webhook.
        imap_url: Option<String>,
        /// Where replies are sent; without it they are marked not delivered.
        smtp_url: Option<String>,
    },
}

impl ChannelConfig {
    pub fn kind(&self) -> Channel {
        match self {
            ChannelConfig::Whatsapp { .. } => Channel::Whatsapp,
            ChannelConfig::Messenger { .. } => Channel::Messenger,
            ChannelConfig::Instagram { .. } => Channel::Instagram,
            ChannelConfig::Telegram { .. } => Channel::Telegram,
            ChannelConfig::Email { .. } => Channel::Email,
        }
    }

    /// The secret that signs (Meta) or accompanies (Telegram, email) every delivery.
    pub fn delivery_secret(&self) -> &str {
        match self {
            ChannelConfig::Whatsapp { app_secret, .. }
            | ChannelConfig::Messenger { app_secret, .. }
            | ChannelConfig::Instagram { app_secret, .. } => app_secret,
            ChannelConfig::Telegram { secret_token, .. } => secret_token,
            ChannelConfig::Email { webhook_secret, .. } => webhook_secret,
        }
    }

    /// The token Meta's subscription handshake must present, for Meta's channels.
    pub fn verify_token(&self) -> Option<&str> {
        match self {
            ChannelConfig::Whatsapp { verify_token, .. }
            | ChannelConfig::Messenger { verify_token, .. }
            | ChannelConfig::Instagram { verify_token, .. } => Some(verify_token),
            ChannelConfig::Telegram { .. } | ChannelConfig::Email { .. } => None,
        }
    }

    /// The provider's API address, for channels that send over HTTP.
    /// The host an email channel's mailbox is read from over plain `imap://`, when that
    /// host is not this one: its password would cross the network unencrypted.
    pub fn plaintext_remote_mailbox(&self) -> Option<String> {
        let ChannelConfig::Email {
            imap_url: Some(url),
            ..
        } = self
        else {
            return None;
        };
        let url = crate::imap::MailboxUrl::parse(url).ok()?;
        let local = url.host == "localhost"
            || url
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|address| address.is_loopback());
        (!url.tls && !local).then_some(url.host)
    }

    pub fn api_base(&self) -> Option<&str> {
        match self {
            ChannelConfig::Whatsapp { api_base, .. }
            | ChannelConfig::Messenger { api_base, .. }
            | ChannelConfig::Instagram { api_base, .. }
            | ChannelConfig::Telegram { api_base, .. } => Some(api_base),
            ChannelConfig::Email { .. } => None,
        }
    }

    /// Names the first setting that is empty or malformed, so that a channel that could
    /// never verify or send is refused when it is added rather than at its first message.
    pub fn check(&self) -> Result<(), String> {
        let required: Vec<(&str, &str)> = match self {
            ChannelConfig::Whatsapp {
                app_secret,
                verify_token,
                access_token,
                phone_number_id,
                ..
            } => vec![
                ("app-secret", app_secret),
                ("verify-token", verify_token),
                ("access-token", access_token),
                ("phone-number-id", phone_number_id),
            ],
            ChannelConfig::Messenger {
                app_secret,
                verify_token,
                page_access_token,
                ..
            }
            | ChannelConfig::Instagram {
                app_secret,
                verify_token,
                page_access_token,
                ..
            } => vec![
                ("app-secret", app_secret),
                ("verify-token", verify_token),
                ("page-access-token", page_access_token),
            ],
            ChannelConfig::Telegram {
                bot_token,
                secret_token,
                ..
            } => vec![("bot-token", bot_token), ("secret-token", secret_token)],
            ChannelConfig::Email {
                address,
                webhook_secret,
                ..
            } => vec![("address", address), ("webhook-secret", webhook_secret)],
        };
        for (name, value) in required {
            if value.trim().is_empty() {
                return Err(format!("--{name} is empty"));
            }
            if value.chars().any(char::is_control) {
                return Err(format!("--{name} holds a control character"));
            }
        }
        if let ChannelConfig::Telegram { secret_token, .. } = self {
            // Telegram's own rule for setWebhook's secret_token.
            let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
            if secret_token.len() > 256 || !secret_token.chars().all(allowed) {
                return Err("--secret-token must be 1-256 of A-Z, a-z, 0-9, _ and -".into());
            }
        }
        if let ChannelConfig::Email {
            address, imap_url, ..
        } = self
        {
            if !address.contains('@') {
                return Err(format!("--address {address:?} is not an email address"));
            }
            if let Some(url) = imap_url {
                crate::imap::MailboxUrl::parse(url).map_err(|err| format!("--imap-url: {err}"))?;
            }
        }
        if let Some(base) = self.api_base() {
            let scheme_ok = base.starts_with("https://") || base.starts_with("http://");
            if !scheme_ok || base.contains(char::is_whitespace) {
                return Err(format!("--api-base {base:?} is not an http(s) URL"));
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HIDDEN: &str = "<secret>";
        let mut out = f.debug_struct("ChannelConfig");
        out.field("kind", &self.kind().as_str());
        match self {
            ChannelConfig::Whatsapp {
                phone_number_id,
                api_base,
                ..
            } => out
                .field("phone_number_id", phone_number_id)
                .field("api_base", api_base),
            ChannelConfig::Messenger { api_base, .. }
            | ChannelConfig::Instagram { api_base, .. }
            | ChannelConfig::Telegram { api_base, .. } => out.field("api_base", api_base),
            ChannelConfig::Email {
                address,
                imap_url,
                smtp_url,
                ..
            } => out
                .field("address", address)
                .field("imap_url", &imap_url.as_deref().map(without_password))
                .field("smtp_url", &smtp_url.as_deref().map(without_password)),
        };
        out.field("secrets", &HIDDEN).finish()
    }
}

/// A mail server URL with any password replaced, for logs.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn telegram(secret: &str) -> ChannelConfig {
        ChannelConfig::Telegram {
            bot_token: "123:abc".into(),
            secret_token: secret.into(),
            api_base: DEFAULT_TELEGRAM_API_BASE.into(),
        }
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let config = ChannelConfig::Whatsapp {
            app_secret: "app-secret-value".into(),
            verify_token: "verify-value".into(),
            access_token: "access-value".into(),
            phone_number_id: "1555000000001".into(),
            api_base: DEFAULT_META_API_BASE.into(),
        };
        let shown = format!("{config:?}");
        assert!(shown.contains("1555000000001"), "{shown}");
        for secret in ["app-secret-value", "verify-value", "access-value"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let email = ChannelConfig::Email {
            address: "help@shop.example".into(),
            webhook_secret: "hook".into(),
            imap_url: Some("imaps://help:mail-pass@127.0.0.1:993/INBOX".into()),
            smtp_url: None,
        };
        let shown = format!("{email:?}");
        assert!(
            !shown.contains("mail-pass") && !shown.contains("hook"),
            "{shown}"
        );
        assert!(shown.contains("help:***@127.0.0.1:993/INBOX"), "{shown}");
    }

    #[test]
    fn a_setting_that_could_never_work_is_named() {
        assert_eq!(telegram("good_secret-1").check(), Ok(()));
        let err = telegram("has space").check().unwrap_err();
        assert!(err.contains("--secret-token"), "{err}");
        let err = telegram("").check().unwrap_err();
        assert_eq!(err, "--secret-token is empty");
        let config = ChannelConfig::Messenger {
            app_secret: "s".into(),
            verify_token: "v".into(),
            page_access_token: "t".into(),
            api_base: "ftp://127.0.0.1".into(),
        };
        assert!(config.check().unwrap_err().contains("--api-base"));
    }

    #[test]
    fn configs_round_trip_through_json_with_their_kind() {
        let config = telegram("s3cret");
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["kind"], "telegram");
        let back: ChannelConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, config);
    }
}
