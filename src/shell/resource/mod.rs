//! Each resource kind's SDK calls in a module of its own: how it is observed, created, updated
//! and deleted. The dispatch here matches every kind, so a new kind fails to compile until it
//! has all four (docs/architecture.md).

pub mod alarm;
pub mod bucket;
pub mod dashboard;
pub mod journal;
pub mod key;
pub mod parameter;

use anyhow::{Result, anyhow, ensure};

use super::aws::Aws;
use crate::core::resource::{Attribute, FieldChange, Kind, Resource, ResourceId};

pub use alarm::Listing;

/// The live state of `ids` (all of `kind`). A listed kind also reports every resource the
/// listing finds; without a listing (a second wave) it reads nothing.
pub async fn observe(
    aws: &Aws,
    kind: Kind,
    ids: &[&ResourceId],
    listing: Option<&Listing<'_>>,
) -> Result<Vec<(ResourceId, Option<Resource>)>> {
    match kind {
        Kind::Key => key::observe(aws, ids).await,
        Kind::Bucket => bucket::observe(aws, ids).await,
        Kind::Parameter => parameter::observe(aws, ids).await,
        Kind::Alarm => match listing {
            Some(listing) => alarm::observe(aws, ids, listing).await,
            None => Ok(Vec::new()),
        },
        Kind::LogGroup => journal::observe_log_groups(aws, ids).await,
        Kind::LogsPolicy => journal::observe_policies(aws, ids).await,
        Kind::EventRule => journal::observe_rules(aws, ids).await,
        Kind::Dashboard => dashboard::observe(aws, ids).await,
    }
}

/// Creates the resource `id` as `desired`.
pub async fn create(aws: &Aws, id: &ResourceId, desired: &Resource) -> Result<()> {
    same_kind(id, desired)?;
    let ResourceId { region, name, .. } = id;
    match desired {
        Resource::Key(k) => key::create(aws, region, name, k).await,
        Resource::Bucket(settings) => {
            let settings = key::resolve_alias(aws, region, settings).await?;
            bucket::create(aws, region, name, &settings).await
        }
        Resource::Parameter(p) => parameter::put(aws, region, name, p).await,
        Resource::Alarm(a) => alarm::put(aws, region, name, a).await,
        Resource::LogGroup(g) => journal::create_log_group(aws, region, name, g).await,
        Resource::LogsPolicy(p) => journal::put_policy(aws, region, name, p).await,
        Resource::EventRule(r) => journal::put_rule(aws, region, name, r).await,
        Resource::Dashboard(d) => dashboard::put(aws, region, name, d).await,
    }
}

/// Sets the `fields` of the existing resource `id` to their values in `desired`.
pub async fn update(
    aws: &Aws,
    id: &ResourceId,
    fields: &[FieldChange],
    desired: &Resource,
) -> Result<()> {
    same_kind(id, desired)?;
    let ResourceId { region, name, .. } = id;
    match desired {
        Resource::Bucket(settings) => {
            let attributes = fields
                .iter()
                .map(|f| match f.attribute {
                    Attribute::Bucket(a) => Ok(a),
                    Attribute::Parameter(_)
                    | Attribute::Alarm(_)
                    | Attribute::Key(_)
                    | Attribute::Journal(_)
                    | Attribute::Dashboard(_) => Err(anyhow!(
                        "{id}: the plan asks to change `{}`, which is not a bucket setting",
                        f.attribute
                    )),
                })
                .collect::<Result<Vec<_>>>()?;
            let settings = key::resolve_alias(aws, region, settings).await?;
            bucket::update(aws, region, name, &settings, &attributes).await
        }
        Resource::Key(k) => {
            let attributes = fields
                .iter()
                .map(|f| match f.attribute {
                    Attribute::Key(a) => Ok(a),
                    Attribute::Bucket(_)
                    | Attribute::Parameter(_)
                    | Attribute::Alarm(_)
                    | Attribute::Journal(_)
                    | Attribute::Dashboard(_) => Err(anyhow!(
                        "{id}: the plan asks to change `{}`, which is not a key setting",
                        f.attribute
                    )),
                })
                .collect::<Result<Vec<_>>>()?;
            key::update(aws, region, name, k, &attributes).await
        }
        // One call writes the whole parameter, or the whole alarm.
        Resource::Parameter(p) => parameter::put(aws, region, name, p).await,
        Resource::Alarm(a) => alarm::put(aws, region, name, a).await,
        Resource::LogGroup(g) => journal::set_retention(aws, region, name, g).await,
        // The policy and the rule are written whole.
        Resource::LogsPolicy(p) => journal::put_policy(aws, region, name, p).await,
        Resource::EventRule(r) => journal::put_rule(aws, region, name, r).await,
        // The body is written whole.
        Resource::Dashboard(d) => dashboard::put(aws, region, name, d).await,
    }
}

/// Deletes the resource `id`; one already gone counts as deleted. A bucket's `objects` are
/// destroyed with it when there are some.
pub async fn delete(aws: &Aws, id: &ResourceId, objects: Option<u64>) -> Result<()> {
    let ResourceId { kind, region, name } = id;
    match kind {
        Kind::Key => key::delete(aws, region, name).await,
        Kind::Bucket => bucket::delete(aws, region, name, objects.unwrap_or(0) > 0).await,
        Kind::Parameter => parameter::delete(aws, region, name).await,
        Kind::Alarm => alarm::delete(aws, region, name).await,
        Kind::LogGroup => journal::delete_log_group(aws, region, name).await,
        Kind::LogsPolicy => journal::delete_policy(aws, region, name).await,
        Kind::EventRule => journal::delete_rule(aws, region, name).await,
        Kind::Dashboard => dashboard::delete(aws, region, name).await,
    }
}

fn same_kind(id: &ResourceId, desired: &Resource) -> Result<()> {
    ensure!(
        id.kind == desired.kind(),
        "{id}: the plan pairs it with a resource of another type"
    );
    Ok(())
}
