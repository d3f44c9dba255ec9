//! The desired state as one CloudFormation template, for teams that deploy with stacks: one
//! template for every region (a StackSet, or one stack per region), each resource conditioned on
//! `AWS::Region` so a stack creates only what its region needs.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::DeployError;
use super::apply::bucket_policy;
use super::plan::{
    self, MANAGED_TAG_KEY, MANAGED_TAG_VALUE, NAME_PREFIX, Options, PERMISSION_SID, TargetSpec,
};
use crate::rules::RulePack;

/// The template for `pack` deployed with `options`, as JSON.
pub fn template(pack: &RulePack, options: &Options) -> Result<Value, DeployError> {
    let desired = plan::desired(pack, options)?;
    let Some(target) = &options.target else {
        return Err(DeployError::Options("a target is needed".to_owned()));
    };
    let home = target.arn().region.clone();
    let mut conditions = Map::new();
    let mut resources = Map::new();
    let region_condition = |region: &str, conditions: &mut Map<String, Value>| {
        let id = format!("In{}", logical(region));
        conditions
            .entry(id.clone())
            .or_insert_with(|| json!({"Fn::Equals": [{"Ref": "AWS::Region"}, region]}));
        id
    };
    let home_condition = region_condition(&home, &mut conditions);

    let mut by_rule: BTreeMap<&str, Vec<&plan::DesiredRule>> = BTreeMap::new();
    for rule in &desired.rules {
        by_rule.entry(rule.name.as_str()).or_default().push(rule);
    }
    for (name, deployed) in by_rule {
        let regions: BTreeSet<&str> = deployed.iter().map(|r| r.region.as_str()).collect();
        let ids: Vec<String> = regions
            .iter()
            .map(|r| region_condition(r, &mut conditions))
            .collect();
        let id = logical(name);
        let condition = if ids.len() == 1 {
            ids[0].clone()
        } else {
            let cond = format!("{id}Regions");
            conditions.insert(cond.clone(), any_of(&ids));
            cond
        };
        let Some(first) = deployed.first() else {
            continue;
        };
        let pattern: Value = serde_json::from_str(&first.event_pattern)
            .map_err(|e| DeployError::Options(format!("rule {name}: {e}")))?;
        let target_in = |region: &str| {
            deployed
                .iter()
                .find(|r| r.region == region)
                .and_then(|r| r.targets.first())
        };
        let home_target = target_in(&home);
        let away_target = deployed
            .iter()
            .find(|r| r.region != home)
            .and_then(|r| r.targets.first());
        let target_json = |t: &plan::DesiredTarget| {
            let mut out = json!({
                "Id": t.id,
                "Arn": t.arn,
                "RetryPolicy": {
                    "MaximumRetryAttempts": t.retry_policy.maximum_retry_attempts,
                    "MaximumEventAgeInSeconds": t.retry_policy.maximum_event_age_seconds,
                },
            });
            if let Some(role) = &t.role_arn {
                out["RoleArn"] = json!(role);
            }
            if let Some(dlq) = &t.dead_letter_arn {
                out["DeadLetterConfig"] = json!({"Arn": dlq});
            }
            out
        };
        let target = match (home_target, away_target) {
            (Some(h), Some(a)) => {
                json!({"Fn::If": [home_condition, target_json(h), target_json(a)]})
            }
            (Some(t), None) | (None, Some(t)) => target_json(t),
            (None, None) => continue,
        };
        resources.insert(
            format!("{id}Rule"),
            json!({
                "Type": "AWS::Events::Rule",
                "Condition": condition,
                "Properties": {
                    "Name": first.name,
                    "EventBusName": first.bus,
                    "Description": first.description,
                    "EventPattern": pattern,
                    "State": first.state.as_str(),
                    "Targets": [target],
                },
            }),
        );
    }

    let source_arn = json!({"Fn::Sub": if options.bus() == "default" {
        format!("arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{NAME_PREFIX}*")
    } else {
        format!("arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{}/{NAME_PREFIX}*", options.bus())
    }});
    match target {
        TargetSpec::Lambda(arn) => {
            resources.insert(
                "TrailbellLambdaPermission".to_owned(),
                json!({
                    "Type": "AWS::Lambda::Permission",
                    "Condition": home_condition,
                    "Properties": {
                        "FunctionName": arn.text,
                        "Action": "lambda:InvokeFunction",
                        "Principal": "events.amazonaws.com",
                        "SourceArn": source_arn,
                    },
                }),
            );
        }
        TargetSpec::Sns(arn) => {
            resources.insert(
                "TrailbellTopicPolicy".to_owned(),
                json!({
                    "Type": "AWS::SNS::TopicPolicy",
                    "Condition": home_condition,
                    "Properties": {
                        "Topics": [arn.text],
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{
                                "Sid": PERMISSION_SID,
                                "Effect": "Allow",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Resource": arn.text,
                                "Condition": {"ArnLike": {"aws:SourceArn": source_arn}},
                            }],
                        },
                    },
                }),
            );
        }
        TargetSpec::Sqs(_) => {}
    }

    if let Some(trail) = &options.trail {
        let trail_region = options.regions.first().cloned().unwrap_or(home.clone());
        let trail_condition = region_condition(&trail_region, &mut conditions);
        let tags = json!([{"Key": MANAGED_TAG_KEY, "Value": MANAGED_TAG_VALUE}]);
        let mut policy = bucket_policy(&trail.bucket, "aws");
        // The partition of the stack's own account.
        for statement in policy["Statement"].as_array_mut().into_iter().flatten() {
            if let Some(resource) = statement["Resource"].as_str() {
                let sub = resource.replacen("arn:aws:", "arn:${AWS::Partition}:", 1);
                statement["Resource"] = json!({"Fn::Sub": sub});
            }
        }
        resources.insert(
            "TrailbellTrailBucket".to_owned(),
            json!({
                "Type": "AWS::S3::Bucket",
                "Condition": trail_condition,
                "DeletionPolicy": "Retain",
                "Properties": {"BucketName": trail.bucket, "Tags": tags},
            }),
        );
        resources.insert(
            "TrailbellTrailBucketPolicy".to_owned(),
            json!({
                "Type": "AWS::S3::BucketPolicy",
                "Condition": trail_condition,
                "Properties": {"Bucket": {"Ref": "TrailbellTrailBucket"}, "PolicyDocument": policy},
            }),
        );
        resources.insert(
            "TrailbellTrail".to_owned(),
            json!({
                "Type": "AWS::CloudTrail::Trail",
                "Condition": trail_condition,
                "DependsOn": "TrailbellTrailBucketPolicy",
                "Properties": {
                    "TrailName": trail.name,
                    "S3BucketName": {"Ref": "TrailbellTrailBucket"},
                    "IsLogging": true,
                    "IsMultiRegionTrail": true,
                    "IncludeGlobalServiceEvents": true,
                    "EnableLogFileValidation": true,
                    "Tags": tags,
                },
            }),
        );
    }

    Ok(json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "trailbell: {} rules as EventBridge rules in the regions where their events land. \
             Deploy in every region (a StackSet) with the stack tag {MANAGED_TAG_KEY}={MANAGED_TAG_VALUE}.",
            pack.rules().len()
        ),
        "Conditions": conditions,
        "Resources": resources,
    }))
}

/// `Fn::Or` of conditions, nested to keep CloudFormation's ten-per-`Fn::Or` limit.
fn any_of(ids: &[String]) -> Value {
    let refs: Vec<Value> = ids.iter().map(|id| json!({"Condition": id})).collect();
    let mut level = refs;
    while level.len() > 10 {
        level = level
            .chunks(10)
            .map(|chunk| {
                if chunk.len() == 1 {
                    chunk[0].clone()
                } else {
                    json!({"Fn::Or": chunk})
                }
            })
            .collect();
    }
    json!({"Fn::Or": level})
}

/// A CloudFormation logical id: letters and digits, each word capitalised.
fn logical(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::plan::Arn;

    #[test]
    fn every_rule_is_conditioned_on_its_regions_and_the_permission_on_the_target_region() {
        let options = Options {
            regions: vec!["eu-west-1".to_owned()],
            target: Some(TargetSpec::Lambda(
                Arn::parse("arn:aws:lambda:eu-west-1:123456789012:function:tb").expect("an ARN"),
            )),
            forward_role_arn: Some("arn:aws:iam::123456789012:role/fwd".to_owned()),
            ..Options::default()
        };
        let pack = RulePack::builtin();
        let template = template(&pack, &options).expect("a template");
        let resources = template["Resources"].as_object().expect("resources");
        let rules = resources
            .values()
            .filter(|r| r["Type"] == "AWS::Events::Rule")
            .count();
        assert_eq!(rules, pack.rules().len());
        let root = &resources["TrailbellRootConsoleSignInRule"];
        // us-east-1, and eu-west-1 where the target is.
        assert_eq!(root["Condition"], "TrailbellRootConsoleSignInRegions");
        assert_eq!(
            resources["TrailbellLambdaPermission"]["Condition"],
            "InEuWest1"
        );
        assert_eq!(logical("trailbell-a.b_c"), "TrailbellABC");
    }
}
