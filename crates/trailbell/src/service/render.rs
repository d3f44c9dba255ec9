//! Alerts for people at a terminal: one escaped line each.

use crate::alert::{AlertContext, OccurrenceKind};
use crate::sanitize::for_terminal_capped;
use crate::scan::EventSummary;

/// One readable line for an alert: severity, rule, title, who did what where, and the event id.
/// Everything from the event is escaped for the terminal.
///
/// ```
/// use trailbell::alert::AlertContext;
/// use trailbell::rules::Severity;
///
/// let context = AlertContext {
///     rule_name: "root-console-sign-in".into(),
///     rule_arn: "arn:aws:events:us-east-1:000000000000:rule/root-console-sign-in".into(),
///     title: "Root user signed in".into(),
///     severity: Severity::High,
///     description: String::new(),
///     ingestion_time: "2026-11-27T08:00:00.000Z".into(),
///     occurrences: None,
/// };
/// let envelope = br#"{"account": "123456789012", "region": "us-east-1",
///     "time": "2026-11-02T08:15:00Z", "detail": {
///     "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
///     "userIdentity": {"type": "Root", "arn": "arn:aws:iam::123456789012:root"},
///     "sourceIPAddress": "198.51.100.7\u001b[31m", "eventID": "e-1"}}"#;
/// let event: serde_json::Value = serde_json::from_slice(envelope)?;
/// let line = trailbell::service::render::terminal_line(envelope, &event, &context);
/// assert!(line.starts_with("HIGH root-console-sign-in: Root user signed in"));
/// assert!(line.contains(r"198.51.100.7\u{1b}[31m"));
/// assert!(line.contains("| time 2026-11-02T08:15:00Z |"));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn terminal_line(envelope: &[u8], event: &serde_json::Value, context: &AlertContext) -> String {
    // The envelope's own time, from the value the acceptor already parsed.
    let time = event
        .get("time")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    let summary = EventSummary::of_envelope(envelope, time, "");
    let field = |text: &str| {
        if text.is_empty() {
            "-".to_owned()
        } else {
            for_terminal_capped(text, 200)
        }
    };
    let mut line = format!(
        "{} {}: {} | who {} | what {} | ip {} | account {} | region {} | time {} | event {}",
        context.severity.as_str().to_uppercase(),
        for_terminal_capped(&context.rule_name, 64),
        for_terminal_capped(&context.title, 200),
        field(&summary.who),
        field(&summary.what),
        field(&summary.source_ip),
        field(&summary.account),
        field(&summary.region),
        field(&summary.time),
        field(&summary.event_id),
    );
    if let Some(occurrences) = &context.occurrences {
        let what = match occurrences.kind {
            OccurrenceKind::Repeated => "repeated",
            OccurrenceKind::Threshold => "threshold reached:",
        };
        line.push_str(&format!(
            " | {what} {} times within {}s for {}",
            occurrences.count,
            occurrences.window_seconds,
            for_terminal_capped(&occurrences.key, 200)
        ));
    }
    line
}
