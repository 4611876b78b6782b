//! What a customer handed to a person is told about the wait: when the team is back
//! outside business hours, the expected wait inside them.

use std::time::Duration;

use frontdesk_server::{BusinessHours, HandoffSettings, ServerSettings};
use jiff::civil::Weekday;
use jiff::{Timestamp, ToSpan};

use crate::support::{with_server, Backend, TestServer, ASK_FOR_A_PERSON};
use crate::widget::{open, say};

fn weekday_name(day: Weekday) -> String {
    format!("{day:?}")
}

/// The text of the assistant's handoff notice after asking for a person.
async fn handoff_notice(server: &TestServer) -> String {
    let (_, token) = open(server).await;
    let handed_off = say(server, &token, ASK_FOR_A_PERSON).await;
    assert_eq!(
        handed_off["conversation"]["status"], "waiting",
        "{handed_off}"
    );
    handed_off["messages"][1]["text"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_business_hours_the_customer_is_told_when_the_team_is_back() {
    // Open on one day only, three days from now: whenever this runs, the team is away.
    let open_day = Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .checked_add(3.days())
        .unwrap()
        .weekday();
    let mut days = ["closed"; 7];
    days[open_day.to_monday_zero_offset() as usize] = "09:00-17:00";
    let settings = ServerSettings {
        handoff: HandoffSettings {
            business_hours: Some(BusinessHours::new("UTC", days).unwrap()),
            channel_hours: Vec::new(),
            expected_wait: Some(Duration::from_secs(10 * 60)),
        },
        ..ServerSettings::default()
    };
    with_server(Backend::Sqlite, settings, true, |server| async move {
        let notice = handoff_notice(&server).await;
        let expected = format!(
            "Our team is away right now and back on {} at 09:00, UTC time; they will reply \
             here then.",
            weekday_name(open_day)
        );
        assert!(notice.ends_with(&expected), "{notice}");
        assert!(notice.contains("member of our team"), "{notice}");
        assert!(
            !notice.contains("10 minutes"),
            "no wait is quoted while away: {notice}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_business_hours_the_expected_wait_is_quoted() {
    // The business is closed, but the widget's inbox keeps hours of its own: always in.
    let always = BusinessHours::new("UTC", ["00:00-24:00"; 7]).unwrap();
    let settings = ServerSettings {
        handoff: HandoffSettings {
            business_hours: Some(BusinessHours::new("UTC", ["closed"; 7]).unwrap()),
            channel_hours: vec![(frontdesk_core::Channel::Widget, always)],
            expected_wait: Some(Duration::from_secs(15 * 60)),
        },
        ..ServerSettings::default()
    };
    with_server(Backend::Sqlite, settings, true, |server| async move {
        let notice = handoff_notice(&server).await;
        assert!(
            notice.ends_with(" A reply usually takes about 15 minutes."),
            "{notice}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_wait_known_nothing_is_promised() {
    with_server(
        Backend::Sqlite,
        ServerSettings::default(),
        true,
        |server| async move {
            let notice = handoff_notice(&server).await;
            assert!(!notice.contains("usually takes"), "{notice}");
            assert!(!notice.contains("away"), "{notice}");
        },
    )
    .await;
}
