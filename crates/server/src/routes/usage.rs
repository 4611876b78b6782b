//! `GET /api/v1/usage/generation`: what the language model that phrases answers was
//! asked, and the tokens it cost, per UTC day. For the owner: it is the business's bill.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use frontdesk_core::Role;
use frontdesk_store::{utc_day, DayUsage};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::extract::TeamMember;
use crate::AppState;

/// Days shown when the request names none: the last thirty, today included.
const DEFAULT_DAYS: i64 = 30;

#[derive(Deserialize)]
pub(super) struct Range {
    from: Option<String>,
    to: Option<String>,
}

#[derive(Serialize)]
pub(super) struct Usage {
    from: String,
    to: String,
    days: Vec<DayUsage>,
    total: DayUsage,
}

pub(super) async fn generation(
    State(state): State<AppState>,
    TeamMember(user): TeamMember,
    range: Result<Query<Range>, QueryRejection>,
) -> Result<Json<Usage>, ApiError> {
    if user.role != Role::Owner {
        return Err(ApiError::Forbidden(
            "only an owner sees what the model costs",
        ));
    }
    let Query(range) = range.map_err(|err| ApiError::bad_request(err.body_text()))?;
    let now = jiff::Timestamp::now().as_millisecond();
    let to = day_or(range.to, "to", utc_day(now))?;
    let from = day_or(
        range.from,
        "from",
        utc_day(now - (DEFAULT_DAYS - 1) * 24 * 60 * 60 * 1000),
    )?;
    if from > to {
        return Err(ApiError::bad_request(format!(
            "`from` ({from}) is after `to` ({to})"
        )));
    }

    let days = state.store.generation_usage_by_day(&from, &to).await?;
    let mut total = DayUsage {
        day: format!("{from}..{to}"),
        ..DayUsage::default()
    };
    for day in &days {
        total.requests += day.requests;
        total.generated += day.generated;
        total.fell_back += day.fell_back;
        total.handed_off += day.handed_off;
        total.prompt_tokens += day.prompt_tokens;
        total.completion_tokens += day.completion_tokens;
    }
    Ok(Json(Usage {
        from,
        to,
        days,
        total,
    }))
}

/// The day given as `YYYY-MM-DD`, or `default` when none is.
fn day_or(given: Option<String>, field: &str, default: String) -> Result<String, ApiError> {
    let Some(day) = given else {
        return Ok(default);
    };
    match day.parse::<jiff::civil::Date>() {
        // Written back in the canonical form the store keeps days in.
        Ok(date) => Ok(date.to_string()),
        Err(_) => Err(ApiError::bad_request(format!(
            "`{field}` must be a date written YYYY-MM-DD, not `{day}`"
        ))),
    }
}
