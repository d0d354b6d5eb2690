//! Parameter tags, many at a time: the Resource Groups Tagging API's GetResources serves up to
//! 100 resources a page, where SSM's ListTagsForResource costs one request per parameter.

use anyhow::Result;
use aws_sdk_resourcegroupstagging::error::ProvideErrorMetadata;
use std::collections::{BTreeMap, HashMap};

use super::aws::Aws;
use crate::core::region::partition;

/// A parameter's tags, by key.
pub type Tags = BTreeMap<String, String>;

/// AWS denied `tag:GetResources` in this region (a policy from before tags were backed up).
#[derive(Debug)]
pub struct TagsDenied(pub String);

impl std::fmt::Display for TagsDenied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AWS denied tag:GetResources in {}: the parameters' tags cannot be read",
            self.0
        )
    }
}

impl std::error::Error for TagsDenied {}

/// Parameters' tags by name (as ARNs spell them: with a leading `/`).
#[derive(Debug, Default)]
pub struct TagMap(HashMap<String, Tags>);

impl TagMap {
    /// The tags of `name` (none when it has none).
    pub fn of(&self, name: &str) -> Tags {
        self.0.get(&arn_name(name)).cloned().unwrap_or_default()
    }
}

/// `name` as it appears after `:parameter` in its ARN.
fn arn_name(name: &str) -> String {
    if name.starts_with('/') {
        name.to_string()
    } else {
        format!("/{name}")
    }
}

/// The tags of every tagged parameter of `region` (pages of 100).
pub async fn tagged_parameters(aws: &Aws, region: &str) -> Result<TagMap> {
    let request = aws
        .tagging(region)
        .get_resources()
        .resource_type_filters("ssm:parameter")
        .resources_per_page(100);
    collect(request, region).await
}

/// The tags of the named parameters of `region` (100 ARNs a request).
pub async fn tags_of(aws: &Aws, region: &str, account: &str, names: &[&str]) -> Result<TagMap> {
    let mut all = TagMap::default();
    for chunk in names.chunks(100) {
        let arns: Vec<String> = chunk
            .iter()
            .map(|n| {
                format!(
                    "arn:{}:ssm:{region}:{account}:parameter{}",
                    partition(region),
                    arn_name(n)
                )
            })
            .collect();
        let request = aws
            .tagging(region)
            .get_resources()
            .set_resource_arn_list(Some(arns));
        all.0.extend(collect(request, region).await?.0);
    }
    Ok(all)
}

async fn collect(
    request: aws_sdk_resourcegroupstagging::operation::get_resources::builders::GetResourcesFluentBuilder,
    region: &str,
) -> Result<TagMap> {
    let mut pages = request.into_paginator().send();
    let mut map = HashMap::new();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(e) if e.code().is_some_and(|c| c.starts_with("AccessDenied")) => {
                return Err(TagsDenied(region.to_string()).into());
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "reading the tags of parameters in {region} (Resource Groups Tagging API GetResources)"
                )));
            }
        };
        for mapping in page.resource_tag_mapping_list() {
            let Some(name) = mapping
                .resource_arn()
                .and_then(|arn| arn.split_once(":parameter"))
                .map(|(_, name)| name.to_string())
            else {
                continue;
            };
            // `aws:` tags are AWS's own (CloudFormation's, say): nobody may set them.
            let tags: Tags = mapping
                .tags()
                .iter()
                .filter(|t| !t.key().starts_with("aws:"))
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            map.insert(name, tags);
        }
    }
    Ok(TagMap(map))
}
