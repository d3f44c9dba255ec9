//! Alerts for people at a terminal: one escaped line each.

use crate::alert::{AlertContext, OccurrenceKind};
use crate::cloudtrail::Facts;
use crate::sanitize::for_terminal_capped;

/// One readable line for an alert: severity, rule, title, who did what where and when (the
/// event's [`Facts`], as every target shows them), and the event id. Everything from the event is
/// escaped for the terminal.
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
/// let line = trailbell::targets::stdout::render::terminal_line(&event, &context);
/// assert!(line.starts_with("HIGH root-console-sign-in: Root user signed in"));
/// assert!(line.contains(r"198.51.100.7\u{1b}[31m"));
/// assert!(line.contains("| time 2026-11-02T08:15:00Z |"));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn terminal_line(event: &serde_json::Value, context: &AlertContext) -> String {
    // The facts every target shows, from the value the acceptor already parsed.
    let facts = Facts::of_envelope(event);
    let field = |text: &Option<String>| match text {
        Some(text) => for_terminal_capped(text, 200),
        None => "-".to_owned(),
    };
    let mut line = format!(
        "{} {}: {} | who {} | what {} | ip {} | account {} | region {} | time {} | event {}",
        context.severity.as_str().to_uppercase(),
        for_terminal_capped(&context.rule_name, 64),
        for_terminal_capped(&context.title, 200),
        field(&facts.actor),
        field(&facts.what()),
        field(&facts.source_ip),
        field(&facts.account),
        field(&facts.region),
        field(&facts.event_time),
        field(&facts.event_id),
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
