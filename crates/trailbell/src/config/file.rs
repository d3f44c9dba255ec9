//! Reading `trailbell.toml`: each item (the service, each destination, each rule, each pack, each
//! source) is read on its own with serde, so that one pass reports every problem, each with the
//! item's key path; then the references between items are checked.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::{Table, Value};
use trailbell_pattern::Pattern;

use super::secret_ref::resolve_secret;
use super::{
    ApiSettings, Config, ConfigError, ConfigRule, ConfigTarget, DEFAULT_PORT, RulePackSettings,
    ServiceSettings, SourceSettings,
};
use crate::model;
use crate::noise::NoiseSettings;
use crate::rules::{FileProblem, Severity};
use crate::targets::eventbridge::EventBridgeDestination;
use crate::targets::securityhub::SecurityHubDestination;
use crate::targets::{
    Destination, DestinationKind, FileDestination, LineFormat, MAX_IN_FLIGHT, RetryPolicy,
    SlackDestination, SnsDestination, SqsDestination, StdoutDestination, WebhookAuth,
    WebhookDestination,
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

const RULE_STATES: &[&str] = &[
    "ENABLED",
    "DISABLED",
    "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
];

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
/// assert_eq!(config.rules[0].event_bus_name, "default");
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
    let rule_packs = reader.array(&table, "rule_packs", |reader, path, item| {
        reader.rule_pack(path, item)
    });
    let mut rules = reader.array(&table, "rules", |reader, path, item| {
        reader.rule(path, item)
    });
    let sources = reader.array(&table, "sources", |reader, path, item| {
        reader.source(path, item)
    });

    // Targets must name a destination or an AWS ARN; those naming a dropped optional destination
    // are left out.
    let known: HashSet<&str> = destinations.iter().map(|d| d.name.as_str()).collect();
    let check_targets = |reader: &mut Reader<'_>, path: &str, targets: &mut Vec<ConfigTarget>| {
        targets.retain(|target| !dropped.contains(&target.arn));
        for (index, target) in targets.iter().enumerate() {
            if !known.contains(target.arn.as_str())
                && !crate::targets::is_topic_or_queue_arn(&target.arn)
            {
                reader.problem(
                    &format!("{path}.Targets[{index}].Arn"),
                    format!(
                        "{:?} is neither a destination of this file nor an SNS topic or SQS queue ARN",
                        target.arn
                    ),
                );
            }
        }
    };
    let mut rule_packs = rule_packs;
    for (index, pack) in rule_packs.iter_mut().enumerate() {
        check_targets(
            &mut reader,
            &format!("rule_packs[{index}]"),
            &mut pack.targets,
        );
    }
    let mut names = HashSet::new();
    for (index, rule) in rules.iter_mut().enumerate() {
        check_targets(&mut reader, &format!("rules[{index}]"), &mut rule.targets);
        if !names.insert((rule.event_bus_name.clone(), rule.name.clone())) {
            reader.problem(
                &format!("rules[{index}].Name"),
                format!(
                    "a rule named {:?} is already on the bus {:?}",
                    rule.name, rule.event_bus_name
                ),
            );
        }
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

    /// `Some(None)`: an optional destination whose secret is not set, left out.
    fn destination(
        &mut self,
        name: &str,
        value: &Value,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Option<Destination>> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(rename = "type")]
            kind: String,
            #[serde(default)]
            optional: bool,
            rate_limit_per_second: Option<f64>,
            timeout: Option<String>,
            max_in_flight: Option<usize>,
            // slack
            webhook_url: Option<String>,
            token: Option<String>,
            channel: Option<String>,
            api_base_url: Option<String>,
            // sns
            topic_arn: Option<String>,
            #[serde(default)]
            chatbot_format: bool,
            // sqs
            queue_url: Option<String>,
            message_group_id: Option<String>,
            // eventbridge
            event_bus_arn: Option<String>,
            // securityhub
            region: Option<String>,
            // sns, sqs, eventbridge, securityhub
            endpoint_url: Option<String>,
            // webhook
            endpoint: Option<String>,
            #[serde(default)]
            headers: BTreeMap<String, String>,
            api_key: Option<ApiKey>,
            basic: Option<Basic>,
            // stdout, file
            format: Option<String>,
            path: Option<PathBuf>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ApiKey {
            header: String,
            value: String,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Basic {
            username: String,
            password: String,
        }
        let path = format!("destinations.{name}");
        let raw: Raw = typed(self, &path, value)?;
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
        let mut missing_secret = None;
        let mut secret =
            |reader: &mut Self, key: &str, reference: &str| match resolve_secret(reference, env) {
                Ok(secret) => Some(secret),
                Err(reason) => {
                    if raw.optional {
                        missing_secret = Some(reason);
                    } else {
                        reader.problem(&format!("{path}.{key}"), reason.to_string());
                    }
                    None
                }
            };
        let required = |reader: &mut Self, key: &str, value: &Option<String>| {
            if value.is_none() {
                reader.problem(&format!("{path}.{key}"), "missing");
            }
            value.clone()
        };
        let kind = match raw.kind.as_str() {
            "slack" => match (&raw.webhook_url, &raw.token) {
                (Some(url), None) => secret(self, "webhook_url", url)
                    .map(|url| DestinationKind::Slack(SlackDestination::Webhook { url })),
                (None, Some(token)) => {
                    let token = secret(self, "token", token);
                    let channel = required(self, "channel", &raw.channel);
                    token.zip(channel).map(|(token, channel)| {
                        DestinationKind::Slack(SlackDestination::Api {
                            token,
                            channel,
                            api_base_url: raw
                                .api_base_url
                                .clone()
                                .unwrap_or_else(|| "https://slack.com/api".to_owned()),
                        })
                    })
                }
                _ => {
                    self.problem(
                        &path,
                        "a slack destination has webhook_url, or token and channel",
                    );
                    None
                }
            },
            "sns" => required(self, "topic_arn", &raw.topic_arn).map(|topic_arn| {
                DestinationKind::Sns(SnsDestination {
                    topic_arn,
                    chatbot_format: raw.chatbot_format,
                    endpoint_url: raw.endpoint_url.clone(),
                })
            }),
            "sqs" => required(self, "queue_url", &raw.queue_url).map(|queue_url| {
                DestinationKind::Sqs(SqsDestination {
                    queue_url,
                    message_group_id: raw.message_group_id.clone(),
                    endpoint_url: raw.endpoint_url.clone(),
                })
            }),
            "securityhub" => Some(DestinationKind::SecurityHub(SecurityHubDestination {
                region: raw.region.clone(),
                endpoint_url: raw.endpoint_url.clone(),
            })),
            "eventbridge" => required(self, "event_bus_arn", &raw.event_bus_arn)
                .and_then(|arn| match crate::targets::eventbridge::bus_region(&arn) {
                    Ok(_) => Some(arn),
                    Err(reason) => {
                        self.problem(&format!("{path}.event_bus_arn"), reason);
                        None
                    }
                })
                .map(|arn| {
                    DestinationKind::EventBridge(EventBridgeDestination {
                        event_bus_arn: arn,
                        endpoint_url: raw.endpoint_url.clone(),
                    })
                }),
            "webhook" => {
                let endpoint = required(self, "endpoint", &raw.endpoint)
                    .and_then(|endpoint| secret(self, "endpoint", &endpoint));
                let mut headers = Vec::new();
                for (header, value) in &raw.headers {
                    if let Some(value) = secret(self, &format!("headers.{header}"), value) {
                        headers.push((header.clone(), value));
                    }
                }
                let auth = match (&raw.api_key, &raw.basic) {
                    (Some(_), Some(_)) => {
                        self.problem(&path, "api_key and basic cannot both be set");
                        None
                    }
                    (Some(key), None) => {
                        secret(self, "api_key.value", &key.value).map(|value| WebhookAuth::ApiKey {
                            header: key.header.clone(),
                            value,
                        })
                    }
                    (None, Some(basic)) => {
                        secret(self, "basic.password", &basic.password).map(|password| {
                            WebhookAuth::Basic {
                                username: basic.username.clone(),
                                password,
                            }
                        })
                    }
                    (None, None) => None,
                };
                endpoint.map(|endpoint| {
                    DestinationKind::Webhook(WebhookDestination {
                        endpoint,
                        headers,
                        auth,
                    })
                })
            }
            "stdout" => match raw.format.as_deref() {
                None | Some("text") => Some(LineFormat::Text),
                Some("json") => Some(LineFormat::Json),
                Some(other) => {
                    self.problem(
                        &format!("{path}.format"),
                        format!("{other:?}: expected \"text\" or \"json\""),
                    );
                    None
                }
            }
            .map(|format| DestinationKind::Stdout(StdoutDestination { format })),
            "file" => match &raw.path {
                Some(file) => Some(DestinationKind::File(FileDestination {
                    path: file.clone(),
                })),
                None => {
                    self.problem(&format!("{path}.path"), "missing");
                    None
                }
            },
            other => {
                self.problem(
                    &format!("{path}.type"),
                    format!("{other:?}: expected one of slack, sns, sqs, webhook, stdout, file, securityhub, eventbridge"),
                );
                None
            }
        };
        if let Some(reason) = missing_secret {
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
            // Slack accepts about one message per second per webhook or channel.
            None if raw.kind == "slack" => Some(1.0),
            None => None,
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

    fn targets(&mut self, path: &str, raw: Vec<RawTarget>) -> Vec<ConfigTarget> {
        let mut targets = Vec::new();
        let mut ids = HashSet::new();
        for (index, target) in raw.into_iter().enumerate() {
            let at = format!("{path}.Targets[{index}]");
            if !valid_name(&target.id) {
                self.problem(
                    &format!("{at}.Id"),
                    format!(
                        "{:?}: use 1 to 64 letters, digits, '.', '-' or '_'",
                        target.id
                    ),
                );
            }
            if !ids.insert(target.id.clone()) {
                self.problem(
                    &format!("{at}.Id"),
                    format!("{:?} is used twice", target.id),
                );
            }
            let retry_policy = match target.retry_policy {
                None => RetryPolicy::default(),
                Some(policy) => RetryPolicy::new(
                    policy.maximum_retry_attempts.map(i64::from),
                    policy.maximum_event_age_in_seconds.map(i64::from),
                )
                .unwrap_or_else(|errors| {
                    for error in errors {
                        self.problem(
                            &format!("{at}.RetryPolicy.{}", error.field.name()),
                            error.to_string(),
                        );
                    }
                    RetryPolicy::default()
                }),
            };
            if let Some(dead_letter) = &target.dead_letter_config
                && !dead_letter.arn.starts_with("arn:aws:sqs:")
            {
                self.problem(
                    &format!("{at}.DeadLetterConfig.Arn"),
                    "must be an SQS queue ARN (arn:aws:sqs:region:account:name)",
                );
            }
            if !model::at_most_one_input(
                target.input.is_some(),
                target.input_path.is_some(),
                target.input_transformer.is_some(),
            ) {
                self.problem(&at, model::ONLY_ONE_INPUT);
            }
            targets.push(ConfigTarget {
                id: target.id,
                arn: target.arn,
                input: target.input,
                input_path: target.input_path,
                input_transformer: target.input_transformer,
                retry_policy,
                dead_letter_arn: target.dead_letter_config.map(|d| d.arn),
                message_group_id: target.sqs_parameters.map(|p| p.message_group_id),
            });
        }
        if targets.len() > 5 {
            self.problem(
                &format!("{path}.Targets"),
                "a rule has at most 5 targets, as in EventBridge",
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

    fn rule(&mut self, path: &str, value: &Value) -> Option<ConfigRule> {
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
        if !valid_name(&raw.name) {
            self.problem(
                &format!("{path}.Name"),
                format!(
                    "{:?}: use 1 to 64 letters, digits, '.', '-' or '_'",
                    raw.name
                ),
            );
        }
        let filter_beside = raw.event_pattern.is_some();
        let event_pattern = match (raw.event_pattern, &raw.filter_pattern) {
            (Some(pattern), _) => {
                if let Err(err) = Pattern::parse(&pattern) {
                    self.problem(&format!("{path}.EventPattern"), err.to_string());
                }
                pattern
            }
            (None, Some(filter)) => match crate::rules::event_pattern_for_filter(filter.trim()) {
                Ok(pattern) => pattern,
                Err(why) => {
                    self.problem(&format!("{path}.FilterPattern"), why);
                    String::new()
                }
            },
            (None, None) => {
                self.problem(
                    &format!("{path}.EventPattern"),
                    "missing: a rule needs EventPattern or FilterPattern",
                );
                String::new()
            }
        };
        if let Some(filter) = &raw.filter_pattern
            && filter_beside
            && let Err(err) = trailbell_pattern::FilterPattern::parse(filter.trim())
        {
            self.problem(&format!("{path}.FilterPattern"), err.to_string());
        }
        for (index, exception) in raw.exceptions.iter().enumerate() {
            if let Err(err) = Pattern::parse(&exception.event_pattern) {
                self.problem(
                    &format!("{path}.exceptions[{index}].event_pattern"),
                    err.to_string(),
                );
            }
        }
        let state = raw.state.unwrap_or_else(|| "ENABLED".to_owned());
        if !RULE_STATES.contains(&state.as_str()) {
            self.problem(
                &format!("{path}.State"),
                format!("{state:?}: expected one of {}", RULE_STATES.join(", ")),
            );
        }
        let targets = self.targets(path, raw.targets);
        Some(ConfigRule {
            title: raw.title.unwrap_or_else(|| raw.name.clone()),
            name: raw.name,
            event_bus_name: raw.event_bus_name.unwrap_or_else(|| "default".to_owned()),
            event_pattern,
            state,
            description: raw.description.unwrap_or_default(),
            severity: raw.severity.unwrap_or(Severity::Medium),
            noise: NoiseSettings {
                exceptions: raw.exceptions,
                threshold: raw.threshold,
                dedup: raw.dedup,
            },
            targets,
        })
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

/// EventBridge's names for rules and target ids: 1 to 64 of letters, digits, `.`, `-`, `_`.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}
