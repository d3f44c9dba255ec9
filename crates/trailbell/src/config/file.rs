//! Reading `trailbell.toml`: each item (the service, each destination, each rule, each pack, each
//! source) is read on its own with serde, so that one pass reports every problem, each with the
//! item's key path; then the references between items are checked.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::{Table, Value};

use super::secret_ref::resolve_secret;
use super::{
    ApiSettings, Config, ConfigError, DEFAULT_PORT, RulePackSettings, RuleSettings,
    ServiceSettings, SourceSettings,
};
use crate::model::{RuleExtras, RuleField, RuleFields, RuleSpec};
use crate::noise::NoiseSettings;
use crate::registry::MAX_TARGETS_PER_RULE;
use crate::rules::{FileProblem, Severity};
use crate::secret::Secret;
use crate::targets::settings::SettingsReader;
use crate::targets::{
    Destination, DestinationKind, MAX_IN_FLIGHT, RetryPolicy, TargetFields, TargetSpec,
    read_destination_kind,
};
use crate::transform::InputTransformer;

const TOP_KEYS: &[&str] = &[
    "service",
    "api",
    "destinations",
    "rule_packs",
    "rules",
    "sources",
];
/// The shortest API secret key accepted.
const MIN_SECRET_CHARS: usize = 16;

/// Parses a configuration's text; `file` names it in problems, `env` resolves `env:` secrets.
///
/// ```
/// let text = r#"
/// [api]
/// authentication = "disabled"
///
/// [destinations.hook]
/// type = "webhook"
/// endpoint = "env:HOOK_URL"
///
/// [[rules]]
/// Name = "root"
/// EventPattern = '{"detail": {"userIdentity": {"type": ["Root"]}}}'
/// Targets = [{ Id = "t", Arn = "hook" }]
/// "#;
/// let env = |name: &str| (name == "HOOK_URL").then(|| "https://example.invalid/x".to_owned());
/// let config = trailbell::config::parse("t.toml", text, &env)?;
/// assert_eq!(config.rules[0].rule.event_bus_name(), "default");
///
/// let err = trailbell::config::parse("t.toml", "[[rules]]\nName = 'a b'\nEventPattern = '{}'\n", &env).unwrap_err();
/// assert!(err.to_string().contains("t.toml: rules[0].Name:"), "{err}");
/// # Ok::<(), trailbell::config::ConfigError>(())
/// ```
pub fn parse(
    file: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    read(file, text, env).map_err(|(err, _)| err)
}

/// [`parse`], and on failure the rule packs that were read, so `validate` can report their
/// problems beside the file's.
pub(super) fn read(
    file: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, (ConfigError, Vec<RulePackSettings>)> {
    let mut reader = Reader {
        file,
        problems: Vec::new(),
        left_out: Vec::new(),
        known: HashSet::new(),
        dropped: HashSet::new(),
    };
    let table = match text.parse::<Table>() {
        Ok(table) => table,
        Err(err) => {
            reader.problem("", crate::rules::toml_error(text, &err));
            return Err((ConfigError(reader.problems), Vec::new()));
        }
    };
    for key in table.keys() {
        if !TOP_KEYS.contains(&key.as_str()) {
            reader.problem(
                key,
                format!("unknown key, expected one of {}", TOP_KEYS.join(", ")),
            );
        }
    }

    let service = reader.service(table.get("service"));
    let api = reader.api(table.get("api"), env);
    let mut destinations = Vec::new();
    let mut dropped = HashSet::new();
    if let Some(value) = table.get("destinations") {
        match value {
            Value::Table(items) => {
                for (name, item) in items {
                    match reader.destination(name, item, env) {
                        Some(Some(destination)) => destinations.push(destination),
                        Some(None) => {
                            dropped.insert(name.clone());
                        }
                        None => {}
                    }
                }
            }
            _ => reader.problem("destinations", "expected a table of named destinations"),
        }
    }
    // Targets must name a destination or an AWS ARN; those naming a dropped optional destination
    // are left out.
    reader.known = destinations.iter().map(|d| d.name.clone()).collect();
    reader.dropped = dropped;
    let rule_packs = reader.array(&table, "rule_packs", |reader, path, item| {
        reader.rule_pack(path, item)
    });
    let read_rules = reader.array(&table, "rules", |reader, path, item| {
        reader.rule(path, item)
    });
    let sources = reader.array(&table, "sources", |reader, path, item| {
        reader.source(path, item)
    });

    let mut names = HashSet::new();
    let mut rules = Vec::new();
    for (index, (rule, targets)) in read_rules.into_iter().enumerate() {
        let Some(rule) = rule else { continue };
        let (bus, name) = (rule.event_bus_name(), rule.name());
        if !names.insert((bus.to_owned(), name.to_owned())) {
            reader.problem(
                &format!("rules[{index}].Name"),
                format!("a rule named {name:?} is already on the bus {bus:?}"),
            );
        }
        rules.push(RuleSettings { rule, targets });
    }
    if let (Some(service), Some(api)) = (&service, &api)
        && !api.authentication
        && !service.listen.ip().is_loopback()
    {
        reader.problem(
            "api.authentication",
            format!(
                "authentication may be disabled only on a loopback address, not {}",
                service.listen
            ),
        );
    }

    match (service, api) {
        (Some(service), Some(api)) if reader.problems.is_empty() => Ok(Config {
            service,
            api,
            destinations,
            rule_packs,
            rules,
            sources,
            left_out: reader.left_out,
        }),
        _ => Err((ConfigError(reader.problems), rule_packs)),
    }
}

struct Reader<'a> {
    file: &'a str,
    problems: Vec<FileProblem>,
    left_out: Vec<super::LeftOut>,
    /// The destinations of the file, by name: what targets may name besides AWS ARNs.
    known: HashSet<String>,
    /// Optional destinations left out: targets naming them are left out too.
    dropped: HashSet<String>,
}

/// An item read with serde; its problem, if any, reported under its key path.
fn typed<T: for<'de> Deserialize<'de>>(
    reader: &mut Reader<'_>,
    path: &str,
    value: &Value,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value.clone()) {
        Ok(item) => Some(item),
        Err(err) => {
            // The key inside the item, so a type error names the field, not only the item.
            let inner = err.path().to_string();
            let at = if inner == "." {
                path.to_owned()
            } else if path.is_empty() {
                inner
            } else {
                format!("{path}.{inner}")
            };
            reader.problem(&at, err.inner().message().trim().replace('\n', " "));
            None
        }
    }
}

impl Reader<'_> {
    fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems
            .push(FileProblem::new(self.file, key, message.into()));
    }

    fn array<T>(
        &mut self,
        table: &Table,
        key: &str,
        mut read: impl FnMut(&mut Self, &str, &Value) -> Option<T>,
    ) -> Vec<T> {
        let mut items = Vec::new();
        match table.get(key) {
            None => {}
            Some(Value::Array(values)) => {
                for (index, value) in values.iter().enumerate() {
                    if let Some(item) = read(self, &format!("{key}[{index}]"), value) {
                        items.push(item);
                    }
                }
            }
            Some(_) => self.problem(key, format!("expected an array of tables ([[{key}]])")),
        }
        items
    }

    fn service(&mut self, value: Option<&Value>) -> Option<ServiceSettings> {
        #[derive(Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            data_dir: Option<PathBuf>,
            listen: Option<String>,
            account: Option<String>,
            region: Option<String>,
            aws_endpoint_url: Option<String>,
            durability: Option<String>,
            metrics_listen: Option<String>,
            max_connections: Option<usize>,
            header_read_timeout: Option<String>,
            idle_timeout: Option<String>,
            shutdown_timeout: Option<String>,
            max_rules_per_bus: Option<usize>,
            max_combinations_per_bus: Option<u64>,
        }
        let raw: Raw = match value {
            None => Raw::default(),
            Some(value) => typed(self, "service", value)?,
        };
        let listen = match raw.listen {
            None => SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            Some(text) => match text.parse::<SocketAddr>() {
                Ok(address) => address,
                Err(_) => {
                    self.problem(
                        "service.listen",
                        format!("{text:?} is not an address such as \"127.0.0.1:9820\""),
                    );
                    return None;
                }
            },
        };
        let durability = match raw.durability.as_deref() {
            None | Some("process") => crate::store::Durability::Process,
            Some("machine") => crate::store::Durability::Machine,
            Some(other) => {
                self.problem(
                    "service.durability",
                    format!("{other:?}: expected \"process\" or \"machine\""),
                );
                crate::store::Durability::Process
            }
        };
        let metrics_listen = raw.metrics_listen.as_deref().and_then(|text| {
            let parsed = text.parse::<SocketAddr>().ok();
            if parsed.is_none() {
                self.problem(
                    "service.metrics_listen",
                    format!("{text:?} is not an address such as \"127.0.0.1:9821\""),
                );
            }
            parsed
        });
        let defaults = crate::api::HttpLimits::default();
        let mut duration = |key: &str, text: Option<&str>, default: Duration| match text {
            None => default,
            Some(text) => match humantime::parse_duration(text) {
                Ok(duration) if duration > Duration::ZERO => duration,
                _ => {
                    self.problem(
                        &format!("service.{key}"),
                        format!("{text:?} is not a positive duration such as \"10s\""),
                    );
                    default
                }
            },
        };
        let http = crate::api::HttpLimits {
            max_connections: raw.max_connections.unwrap_or(defaults.max_connections),
            header_read_timeout: duration(
                "header_read_timeout",
                raw.header_read_timeout.as_deref(),
                defaults.header_read_timeout,
            ),
            idle_timeout: duration(
                "idle_timeout",
                raw.idle_timeout.as_deref(),
                defaults.idle_timeout,
            ),
            shutdown_timeout: duration(
                "shutdown_timeout",
                raw.shutdown_timeout.as_deref(),
                defaults.shutdown_timeout,
            ),
        };
        let rule_defaults = crate::registry::RuleLimits::default();
        let rule_limits = crate::registry::RuleLimits {
            max_rules_per_bus: raw
                .max_rules_per_bus
                .unwrap_or(rule_defaults.max_rules_per_bus),
            max_combinations_per_bus: raw
                .max_combinations_per_bus
                .unwrap_or(rule_defaults.max_combinations_per_bus),
        };
        if http.max_connections == 0 {
            self.problem("service.max_connections", "must be at least 1");
        }
        let account = raw.account.unwrap_or_else(|| "000000000000".to_owned());
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            self.problem(
                "service.account",
                "must be 12 digits, like an AWS account id",
            );
        }
        let region = raw.region.unwrap_or_else(|| "us-east-1".to_owned());
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            self.problem("service.region", format!("{region:?} is not a region name"));
        }
        Some(ServiceSettings {
            data_dir: raw.data_dir,
            listen,
            account,
            region,
            aws_endpoint_url: raw.aws_endpoint_url,
            durability,
            metrics_listen,
            http,
            rule_limits,
        })
    }

    fn api(
        &mut self,
        value: Option<&Value>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<ApiSettings> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Key {
            access_key_id: String,
            secret_access_key: String,
        }
        #[derive(Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            authentication: Option<String>,
            #[serde(default)]
            access_keys: Vec<Key>,
        }
        let raw: Raw = match value {
            None => Raw::default(),
            Some(value) => typed(self, "api", value)?,
        };
        let authentication = match raw.authentication.as_deref() {
            None | Some("sigv4") => true,
            Some("disabled") => false,
            Some(other) => {
                self.problem(
                    "api.authentication",
                    format!("{other:?}: expected \"sigv4\" or \"disabled\""),
                );
                return None;
            }
        };
        let mut access_keys = Vec::new();
        for (index, key) in raw.access_keys.into_iter().enumerate() {
            match resolve_secret(&key.secret_access_key, env) {
                // A short secret can be guessed from one signed request; AWS's are 40 characters.
                Ok(secret) if secret.expose().chars().count() < MIN_SECRET_CHARS => {
                    self.problem(
                        &format!("api.access_keys[{index}].secret_access_key"),
                        format!(
                            "the secret is {} characters long: use at least {MIN_SECRET_CHARS} \
                             (AWS's are 40)",
                            secret.expose().chars().count()
                        ),
                    );
                }
                Ok(secret) => access_keys.push((key.access_key_id, secret)),
                Err(reason) => {
                    self.problem(
                        &format!("api.access_keys[{index}].secret_access_key"),
                        reason.to_string(),
                    );
                }
            }
        }
        if authentication && access_keys.is_empty() {
            self.problem(
                "api",
                "authentication is on but no access_keys are configured: add [[api.access_keys]] \
                 or set authentication = \"disabled\" (loopback only)",
            );
        }
        Some(ApiSettings {
            access_keys,
            authentication,
        })
    }

    /// `Some(None)`: an optional destination whose secret is not set, left out. The keys every
    /// destination has are read here; the kind's own, by its reader in `targets/<kind>/`.
    fn destination(
        &mut self,
        name: &str,
        value: &Value,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Option<Destination>> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Common {
            #[serde(rename = "type")]
            kind: String,
            #[serde(default)]
            optional: bool,
            rate_limit_per_second: Option<f64>,
            timeout: Option<String>,
            max_in_flight: Option<usize>,
        }
        const COMMON_KEYS: &[&str] = &[
            "type",
            "optional",
            "rate_limit_per_second",
            "timeout",
            "max_in_flight",
        ];
        let path = format!("destinations.{name}");
        let (common, own) = match value {
            Value::Table(table) => {
                let (mut common, mut own) = (Table::new(), Table::new());
                for (key, value) in table {
                    let part = if COMMON_KEYS.contains(&key.as_str()) {
                        &mut common
                    } else {
                        &mut own
                    };
                    part.insert(key.clone(), value.clone());
                }
                (Value::Table(common), Value::Table(own))
            }
            other => (other.clone(), Value::Table(Table::new())),
        };
        let raw: Common = typed(self, &path, &common)?;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            self.problem(
                &path,
                "destination names use letters, digits, '.', '-' and '_'",
            );
        }
        let before = self.problems.len();
        let mut kind_reader = KindReader {
            reader: self,
            path: &path,
            keys: own,
            env,
            optional: raw.optional,
            missing_secret: None,
        };
        let kind = match read_destination_kind(&raw.kind, &mut kind_reader) {
            Ok(kind) => kind,
            Err(message) => {
                kind_reader.reader.problem(&format!("{path}.type"), message);
                None
            }
        };
        if let Some(reason) = kind_reader.missing_secret {
            self.left_out.push(super::LeftOut {
                destination: name.to_owned(),
                reason: reason.to_string(),
            });
            return Some(None);
        }
        let timeout = match &raw.timeout {
            None => Duration::from_secs(10),
            Some(text) => match humantime::parse_duration(text) {
                Ok(timeout) if !timeout.is_zero() => timeout,
                _ => {
                    self.problem(
                        &format!("{path}.timeout"),
                        format!("{text:?} is not a duration such as \"10s\""),
                    );
                    Duration::ZERO
                }
            },
        };
        let rate_limit_per_second = match raw.rate_limit_per_second {
            Some(rate) if !(rate > 0.0 && rate.is_finite()) => {
                self.problem(
                    &format!("{path}.rate_limit_per_second"),
                    "must be a positive number",
                );
                None
            }
            Some(rate) => Some(rate),
            None => kind.as_ref().and_then(DestinationKind::default_rate_limit),
        };
        if let Some(count) = raw.max_in_flight
            && !(1..=MAX_IN_FLIGHT).contains(&count)
        {
            self.problem(
                &format!("{path}.max_in_flight"),
                format!("{count}: must be 1 to {MAX_IN_FLIGHT}"),
            );
        }
        if self.problems.len() > before {
            return None;
        }
        kind.map(|kind| {
            Some(Destination {
                name: name.to_owned(),
                kind,
                rate_limit_per_second,
                timeout,
                max_in_flight: raw.max_in_flight,
            })
        })
    }

    fn targets(&mut self, path: &str, raw: Vec<RawTarget>) -> Vec<TargetSpec> {
        let mut targets = Vec::new();
        let mut ids = HashSet::new();
        let count = raw.len();
        for (index, target) in raw.into_iter().enumerate() {
            let at = format!("{path}.Targets[{index}]");
            if !ids.insert(target.id.clone()) {
                self.problem(
                    &format!("{at}.Id"),
                    format!("{:?} is used twice", target.id),
                );
            }
            let default = RetryPolicy::default();
            let fields = TargetFields {
                id: target.id,
                arn: target.arn,
                input: target.input,
                input_path: target.input_path,
                input_transformer: target.input_transformer,
                retry_policy: Some(target.retry_policy.map_or(default, |policy| {
                    RetryPolicy {
                        maximum_retry_attempts: policy
                            .maximum_retry_attempts
                            .unwrap_or(default.maximum_retry_attempts),
                        maximum_event_age_seconds: policy
                            .maximum_event_age_in_seconds
                            .unwrap_or(default.maximum_event_age_seconds),
                    }
                })),
                dead_letter_arn: target.dead_letter_config.map(|d| d.arn),
                sqs_message_group_id: target.sqs_parameters.map(|p| p.message_group_id),
                ..TargetFields::default()
            };
            let arn = fields.arn.clone();
            if !self.known.contains(&arn)
                && !self.dropped.contains(&arn)
                && !crate::targets::is_topic_or_queue_arn(&arn)
            {
                self.problem(
                    &format!("{at}.Arn"),
                    format!(
                        "{arn:?} is neither a destination of this file nor an SNS topic or SQS queue ARN"
                    ),
                );
            }
            match TargetSpec::new(fields) {
                Ok(_) if self.dropped.contains(&arn) => {}
                Ok(target) => targets.push(target),
                Err(errors) => {
                    for error in errors {
                        let key = match error.path() {
                            field if field.is_empty() => at.clone(),
                            field => format!("{at}.{field}"),
                        };
                        self.problem(&key, error.to_string());
                    }
                }
            }
        }
        if count > MAX_TARGETS_PER_RULE {
            self.problem(
                &format!("{path}.Targets"),
                format!("a rule has at most {MAX_TARGETS_PER_RULE} targets, as in EventBridge"),
            );
        }
        targets
    }

    fn rule_pack(&mut self, path: &str, value: &Value) -> Option<RulePackSettings> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            path: String,
            #[serde(rename = "EventBusName")]
            event_bus_name: Option<String>,
            min_severity: Option<Severity>,
            #[serde(rename = "Targets", default)]
            targets: Vec<RawTarget>,
        }
        let raw: Raw = typed(self, path, value)?;
        let targets = self.targets(path, raw.targets);
        Some(RulePackSettings {
            path: raw.path,
            event_bus_name: raw.event_bus_name.unwrap_or_else(|| "default".to_owned()),
            min_severity: raw.min_severity.unwrap_or(Severity::Info),
            targets,
        })
    }

    /// The rule, unless refused (its problems reported), and its targets either way.
    fn rule(&mut self, path: &str, value: &Value) -> Option<(Option<RuleSpec>, Vec<TargetSpec>)> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(rename = "Name")]
            name: String,
            #[serde(rename = "EventBusName")]
            event_bus_name: Option<String>,
            #[serde(rename = "EventPattern")]
            event_pattern: Option<String>,
            /// A CloudWatch Logs filter pattern on the CloudTrail record, in place of EventPattern
            /// when it has an exact translation (decision 0028).
            #[serde(rename = "FilterPattern")]
            filter_pattern: Option<String>,
            #[serde(rename = "State")]
            state: Option<String>,
            #[serde(rename = "Description")]
            description: Option<String>,
            title: Option<String>,
            severity: Option<Severity>,
            threshold: Option<crate::noise::Threshold>,
            dedup: Option<crate::noise::Dedup>,
            #[serde(default)]
            exceptions: Vec<crate::noise::Exception>,
            #[serde(rename = "Targets", default)]
            targets: Vec<RawTarget>,
        }
        let raw: Raw = typed(self, path, value)?;
        let filter_beside = raw.event_pattern.is_some();
        let mut filter_failed = false;
        let event_pattern = match (raw.event_pattern, &raw.filter_pattern) {
            (Some(pattern), _) => Some(pattern),
            (None, Some(filter)) => match crate::rules::event_pattern_for_filter(filter.trim()) {
                Ok(pattern) => Some(pattern),
                Err(why) => {
                    self.problem(&format!("{path}.FilterPattern"), why.to_string());
                    filter_failed = true;
                    None
                }
            },
            (None, None) => None,
        };
        if let Some(filter) = &raw.filter_pattern
            && filter_beside
            && let Err(err) = trailbell_pattern::FilterPattern::parse(filter.trim())
        {
            self.problem(&format!("{path}.FilterPattern"), err.to_string());
        }
        let description = raw.description.unwrap_or_default();
        let rule = RuleSpec::new(RuleFields {
            extras: RuleExtras {
                title: Some(raw.title.unwrap_or_else(|| raw.name.clone())),
                severity: Some(raw.severity.unwrap_or(Severity::Medium)),
                description: Some(description.clone()),
                noise: NoiseSettings {
                    exceptions: raw.exceptions,
                    threshold: raw.threshold,
                    dedup: raw.dedup,
                },
            },
            name: raw.name,
            event_bus_name: raw.event_bus_name.unwrap_or_else(|| "default".to_owned()),
            event_pattern,
            state: raw.state,
            description: (!description.is_empty()).then_some(description),
        });
        let targets = self.targets(path, raw.targets);
        match rule {
            Ok(rule) => Some((Some(rule), targets)),
            Err(errors) => {
                for error in errors {
                    // A filter that did not translate was named already.
                    if !(filter_failed && error.field() == RuleField::EventPattern) {
                        self.problem(
                            &format!("{path}.{}", error.field().path()),
                            error.to_string(),
                        );
                    }
                }
                Some((None, targets))
            }
        }
    }

    fn source(&mut self, path: &str, value: &Value) -> Option<SourceSettings> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(rename = "type")]
            kind: String,
            path: Option<PathBuf>,
            queue_url: Option<String>,
            #[serde(default)]
            regions: Vec<String>,
            interval: Option<String>,
            #[serde(rename = "EventBusName")]
            event_bus_name: Option<String>,
        }
        let raw: Raw = typed(self, path, value)?;
        let event_bus_name = raw.event_bus_name.unwrap_or_else(|| "default".to_owned());
        let interval = match &raw.interval {
            None => Duration::from_secs(60),
            Some(text) => match humantime::parse_duration(text) {
                Ok(interval) if interval >= Duration::from_secs(1) => interval,
                _ => {
                    self.problem(
                        &format!("{path}.interval"),
                        format!("{text:?} is not a duration of at least 1s, such as \"1m\""),
                    );
                    return None;
                }
            },
        };
        match raw.kind.as_str() {
            "directory" => match raw.path {
                Some(dir) => Some(SourceSettings::Directory {
                    path: dir,
                    interval,
                    event_bus_name,
                }),
                None => {
                    self.problem(&format!("{path}.path"), "missing");
                    None
                }
            },
            "sqs" => match raw.queue_url {
                Some(queue_url) => Some(SourceSettings::Sqs {
                    queue_url,
                    event_bus_name,
                }),
                None => {
                    self.problem(&format!("{path}.queue_url"), "missing");
                    None
                }
            },
            "lookup-events" => Some(SourceSettings::LookupEvents {
                regions: if raw.regions.is_empty() {
                    vec!["us-east-1".to_owned()]
                } else {
                    raw.regions
                },
                interval,
                event_bus_name,
            }),
            other => {
                self.problem(
                    &format!("{path}.type"),
                    format!("{other:?}: expected one of directory, sqs, lookup-events"),
                );
                None
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Arn")]
    arn: String,
    #[serde(rename = "Input")]
    input: Option<String>,
    #[serde(rename = "InputPath")]
    input_path: Option<String>,
    #[serde(rename = "InputTransformer")]
    input_transformer: Option<InputTransformer>,
    #[serde(rename = "RetryPolicy")]
    retry_policy: Option<RawRetryPolicy>,
    #[serde(rename = "DeadLetterConfig")]
    dead_letter_config: Option<RawDeadLetter>,
    #[serde(rename = "SqsParameters")]
    sqs_parameters: Option<RawSqsParameters>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetryPolicy {
    #[serde(rename = "MaximumRetryAttempts")]
    maximum_retry_attempts: Option<u32>,
    #[serde(rename = "MaximumEventAgeInSeconds")]
    maximum_event_age_in_seconds: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeadLetter {
    #[serde(rename = "Arn")]
    arn: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSqsParameters {
    #[serde(rename = "MessageGroupId")]
    message_group_id: String,
}

/// What a destination kind's reader in `targets/<kind>/config.rs` reports through: the kind's
/// keys under `destinations.<name>`, and its secrets (a missing one leaves an optional
/// destination out instead of being a problem).
struct KindReader<'r, 'a> {
    reader: &'r mut Reader<'a>,
    path: &'r str,
    keys: Value,
    env: &'r dyn Fn(&str) -> Option<String>,
    optional: bool,
    missing_secret: Option<super::SecretRefError>,
}

impl SettingsReader for KindReader<'_, '_> {
    fn keys<T: serde::de::DeserializeOwned>(&mut self) -> Option<T> {
        typed(self.reader, self.path, &self.keys)
    }

    fn problem(&mut self, key: &str, message: String) {
        if key.is_empty() {
            self.reader.problem(self.path, message);
        } else {
            self.reader
                .problem(&format!("{}.{key}", self.path), message);
        }
    }

    fn secret(&mut self, key: &str, reference: &str) -> Option<Secret> {
        match resolve_secret(reference, self.env) {
            Ok(secret) => Some(secret),
            Err(reason) => {
                if self.optional {
                    self.missing_secret = Some(reason);
                } else {
                    self.problem(key, reason.to_string());
                }
                None
            }
        }
    }
}
