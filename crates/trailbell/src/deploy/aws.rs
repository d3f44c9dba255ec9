//! AWS clients per region, all pointed at one endpoint when one is given (moto in tests).

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// A cache of each region's configuration; clients are cheap to make from it.
pub struct Aws {
    endpoint_url: Option<String>,
    profile: Option<String>,
    configs: Mutex<HashMap<String, SdkConfig>>,
}

impl Aws {
    /// Clients that use the default credential chain and, when given, `endpoint_url` for every
    /// service.
    pub fn new(endpoint_url: Option<String>) -> Aws {
        Aws {
            endpoint_url,
            profile: None,
            configs: Mutex::new(HashMap::new()),
        }
    }

    /// The same, with credentials and settings from the named profile of the AWS configuration
    /// files (`--profile`) when one is given.
    pub fn with_profile(mut self, profile: Option<String>) -> Aws {
        self.profile = profile;
        self
    }

    async fn config(&self, region: &str) -> SdkConfig {
        if let Some(config) = self
            .configs
            .lock()
            .ok()
            .and_then(|c| c.get(region).cloned())
        {
            return config;
        }
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).region(Region::new(region.to_owned()));
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        let config = loader.load().await;
        if let Ok(mut configs) = self.configs.lock() {
            configs.insert(region.to_owned(), config.clone());
        }
        config
    }

    /// EventBridge in `region`.
    pub async fn events(&self, region: &str) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.config(region).await)
    }

    /// CloudTrail in `region`.
    pub async fn cloudtrail(&self, region: &str) -> aws_sdk_cloudtrail::Client {
        aws_sdk_cloudtrail::Client::new(&self.config(region).await)
    }

    /// Lambda in `region`.
    pub async fn lambda(&self, region: &str) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.config(region).await)
    }

    /// CloudWatch Logs in `region`.
    pub async fn logs(&self, region: &str) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::new(&self.config(region).await)
    }

    /// CloudWatch (alarms) in `region`.
    pub async fn cloudwatch(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.config(region).await)
    }

    /// SNS in `region`.
    pub async fn sns(&self, region: &str) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.config(region).await)
    }

    /// SQS in `region`.
    pub async fn sqs(&self, region: &str) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.config(region).await)
    }

    /// S3 in `region`, path-style (moto has no virtual-host buckets).
    pub async fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.config(region).await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}
