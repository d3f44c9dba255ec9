//! How urgent an alert is.

use std::fmt;
use std::str::FromStr;

/// How urgent a rule's alerts are, from `info` to `critical`; ordered, so `Severity::High >
/// Severity::Low`.
///
/// ```
/// use trailbell::rules::Severity;
///
/// assert!(Severity::Critical > Severity::High);
/// assert_eq!("medium".parse::<Severity>()?, Severity::Medium);
/// assert_eq!(Severity::Info.to_string(), "info");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth recording, not worth waking anyone: every console sign-in.
    Info,
    /// Usually benign, worth a look in aggregate: failed sign-ins, security-group edits.
    Low,
    /// Review soon: sign-ins without MFA, IAM users and keys, network changes.
    Medium,
    /// Review now: root activity, ingress from the whole internet, logging impaired.
    High,
    /// Drop everything.
    Critical,
}

impl Severity {
    /// Every severity, from least to most urgent.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lowercase name, as written in rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A severity name that is not one of `info`, `low`, `medium`, `high`, `critical`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?}, expected one of info, low, medium, high, critical")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;

    /// Parses the lowercase name; names are case-sensitive, as in rule files.
    fn from_str(text: &str) -> Result<Severity, UnknownSeverity> {
        Severity::ALL
            .into_iter()
            .find(|severity| severity.as_str() == text)
            .ok_or_else(|| UnknownSeverity(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_from_info_to_critical() {
        let mut sorted = Severity::ALL;
        sorted.sort();
        assert_eq!(sorted, Severity::ALL);
        assert!(Severity::Info < Severity::Low && Severity::High < Severity::Critical);
    }

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for severity in Severity::ALL {
            assert_eq!(severity.as_str().parse::<Severity>(), Ok(severity));
            let json = serde_json::to_string(&severity).expect("serialises");
            assert_eq!(json, format!("\"{severity}\""));
            assert_eq!(
                serde_json::from_str::<Severity>(&json).expect("deserialises"),
                severity
            );
        }
    }

    #[test]
    fn names_are_case_sensitive() {
        assert!("High".parse::<Severity>().is_err());
        assert!("".parse::<Severity>().is_err());
        assert_eq!(
            "hgh".parse::<Severity>().unwrap_err().to_string(),
            r#"unknown severity "hgh", expected one of info, low, medium, high, critical"#
        );
    }

    #[test]
    fn display_pads_for_tables() {
        assert_eq!(format!("{:<8}|", Severity::Low), "low     |");
    }
}
