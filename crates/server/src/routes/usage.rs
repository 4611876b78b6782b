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
    days: Vec<DayCost>,
    total: DayCost,
    /// The range's cost spread over a 30-day month, when a price is set: the figure for
    /// "what does the software cost a month".
    #[serde(skip_serializing_if = "Option::is_none")]
    monthly_cost_estimate: Option<f64>,
}

/// A day's usage and, when the owner gave a price per token, what it cost.
#[derive(Serialize)]
pub(super) struct DayCost {
    #[serde(flatten)]
    usage: DayUsage,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost: Option<f64>,
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
    let price = state
        .settings
        .generation
        .as_ref()
        .and_then(|generation| generation.price);
    let with_cost = |usage: DayUsage| DayCost {
        cost: price.map(|price| price.cost(usage.prompt_tokens, usage.completion_tokens)),
        usage,
    };
    let days_in_range = days_between(&from, &to);
    let total = with_cost(total);
    let monthly_cost_estimate = total
        .cost
        .map(|cost| cost / days_in_range as f64 * DAYS_IN_A_MONTH);
    Ok(Json(Usage {
        from,
        to,
        days: days.into_iter().map(with_cost).collect(),
        total,
        monthly_cost_estimate,
    }))
}

/// A month, for the monthly estimate.
const DAYS_IN_A_MONTH: f64 = 30.0;

/// Days from `from` to `to`, both included; both are checked dates.
fn days_between(from: &str, to: &str) -> i64 {
    let parse = |day: &str| day.parse::<jiff::civil::Date>().ok();
    match (parse(from), parse(to)) {
        (Some(from), Some(to)) => i64::from((to - from).get_days()) + 1,
        _ => 1,
    }
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

#[cfg(test)]
mod tests {
    use super::days_between;

    #[test]
    fn ranges_count_both_ends() {
        assert_eq!(days_between("2026-12-01", "2026-12-01"), 1);
        assert_eq!(days_between("2026-11-05", "2026-12-04"), 30);
        assert_eq!(days_between("2024-02-28", "2024-03-01"), 3);
    }
}
