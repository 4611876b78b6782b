//! How far each email channel's mailbox has been read over IMAP, so that a restart
//! carries on where the last run stopped instead of reading the whole mailbox again.

use crate::conversations::{read_error, write_error};
use crate::plan::now_unix_ms;
use crate::{Store, StoreError};

/// The last message taken from a mailbox. IMAP UIDs grow within one `uid_validity`;
/// a different validity means the server renumbered the mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxPosition {
    pub uid_validity: u32,
    pub last_uid: u32,
}

impl Store {
    /// Where reading the channel's mailbox stopped, if it was ever read.
    pub async fn mailbox_position(
        &self,
        channel_id: i64,
    ) -> Result<Option<MailboxPosition>, StoreError> {
        let sql = "SELECT uid_validity, last_uid FROM mailbox_positions WHERE channel_id = $1";
        let row: Option<(i64, i64)> = on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(channel_id)
            .fetch_optional(pool)
            .await)
        .map_err(|cause| read_error("a mailbox position", cause))?;

        // Both columns were written from u32 values; anything else is not ours.
        Ok(row.and_then(|(validity, last)| {
            Some(MailboxPosition {
                uid_validity: u32::try_from(validity).ok()?,
                last_uid: u32::try_from(last).ok()?,
            })
        }))
    }

    /// Records that the channel's mailbox has been taken up to and including `position`.
    pub async fn set_mailbox_position(
        &self,
        channel_id: i64,
        position: MailboxPosition,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO mailbox_positions (channel_id, uid_validity, last_uid, updated_at) \
                   VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (channel_id) DO UPDATE SET uid_validity = excluded.uid_validity, \
                   last_uid = excluded.last_uid, updated_at = excluded.updated_at";
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(channel_id)
            .bind(i64::from(position.uid_validity))
            .bind(i64::from(position.last_uid))
            .bind(now_unix_ms())
            .execute(pool)
            .await
            .map(|_| ()))
        .map_err(|cause| write_error("a mailbox position", cause))
    }
}
