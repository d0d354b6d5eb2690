//! AWS regions: the syntax of a region name, the regions known per partition, and the ARN
//! partition a region belongs to. Pure data; the stack parser and the command line use it.

/// An ARN partition and the regions known in it. The lists are those of the AWS SDK for Rust's
/// partition data (aws-sdk-s3 1.157, `endpoint_lib.rs`); a region AWS opens later is accepted
/// with `--allow-unknown-region`, its partition then taken from its name.
pub struct Partition {
    pub id: &'static str,
    /// How every region name of this partition starts (the SDK's `regionRegex`, as a prefix).
    prefixes: &'static [&'static str],
    pub regions: &'static [&'static str],
}

pub const PARTITIONS: [Partition; 8] = [
    // The more specific prefixes first: `us-gov-`, `us-iso-` and `eu-isoe-` before `us-`/`eu-`.
    Partition {
        id: "aws-us-gov",
        prefixes: &["us-gov-"],
        regions: &["us-gov-east-1", "us-gov-west-1"],
    },
    Partition {
        id: "aws-iso",
        prefixes: &["us-iso-"],
        regions: &["us-iso-east-1", "us-iso-west-1"],
    },
    Partition {
        id: "aws-iso-b",
        prefixes: &["us-isob-"],
        regions: &["us-isob-east-1", "us-isob-west-1"],
    },
    Partition {
        id: "aws-iso-e",
        prefixes: &["eu-isoe-"],
        regions: &["eu-isoe-west-1"],
    },
    Partition {
        id: "aws-iso-f",
        prefixes: &["us-isof-"],
        regions: &["us-isof-east-1", "us-isof-south-1"],
    },
    Partition {
        id: "aws-eusc",
        prefixes: &["eusc-"],
        regions: &["eusc-de-east-1"],
    },
    Partition {
        id: "aws-cn",
        prefixes: &["cn-"],
        regions: &["cn-north-1", "cn-northwest-1"],
    },
    Partition {
        id: "aws",
        prefixes: &[
            "us-", "eu-", "ap-", "sa-", "ca-", "me-", "af-", "il-", "mx-",
        ],
        regions: &[
            "af-south-1",
            "ap-east-1",
            "ap-east-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-6",
            "ap-southeast-7",
            "ca-central-1",
            "ca-west-1",
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "il-central-1",
            "me-central-1",
            "me-south-1",
            "mx-central-1",
            "sa-east-1",
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
        ],
    },
];

/// The shape of a region name: `ap-northeast-1`, `us-gov-west-1`, `eusc-de-east-1`: lowercase
/// words joined by hyphens (the first of 2 to 4 letters), ending in a number.
pub fn check_region(value: &str) -> Result<(), String> {
    let parts: Vec<&str> = value.split('-').collect();
    let ok = parts.len() >= 3
        && (2..=4).contains(&parts[0].len())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{value}` is not a region name (expected something like `ap-northeast-1`)"
        ))
    }
}

/// The partition of a region name, known or not, from how the name starts (`aws` when nothing
/// else fits).
pub fn partition_of(region: &str) -> &'static Partition {
    PARTITIONS
        .iter()
        .find(|p| p.regions.contains(&region))
        .or_else(|| {
            PARTITIONS
                .iter()
                .find(|p| p.prefixes.iter().any(|prefix| region.starts_with(prefix)))
        })
        .unwrap_or(&PARTITIONS[PARTITIONS.len() - 1])
}

/// The ARN partition of a region (`aws`, `aws-cn`, `aws-us-gov`, ...).
pub fn partition(region: &str) -> &'static str {
    partition_of(region).id
}

pub fn is_known(region: &str) -> bool {
    PARTITIONS.iter().any(|p| p.regions.contains(&region))
}

/// A region name that is well formed and known, or, with `allow_unknown`, only well formed.
/// An unknown name gets the nearest known one as a suggestion.
pub fn check_known_region(value: &str, allow_unknown: bool) -> Result<(), String> {
    check_region(value).map_err(|m| match nearest(value) {
        Some(near) => format!("{m}; did you mean `{near}`?"),
        None => m,
    })?;
    if allow_unknown || is_known(value) {
        return Ok(());
    }
    let hint = match nearest(value) {
        Some(near) => format!("did you mean `{near}`? "),
        None => String::new(),
    };
    Err(format!(
        "`{value}` is not a region AWS has: {hint}(a region newer than this ssm-keeper is accepted with --allow-unknown-region)"
    ))
}

/// The known region closest to `value`, if close enough to be a typo of it.
fn nearest(value: &str) -> Option<&'static str> {
    let value = value.to_ascii_lowercase().replace('_', "-");
    PARTITIONS
        .iter()
        .flat_map(|p| p.regions.iter().copied())
        .map(|r| (strsim::damerau_levenshtein(&value, r), r))
        .filter(|(distance, _)| *distance <= 3)
        .min()
        .map(|(_, r)| r)
}

/// All regions of a stack share one partition (its ARNs are written in one); the message names
/// the first region of another partition.
pub fn check_one_partition<'a>(regions: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    let mut first: Option<&str> = None;
    for region in regions {
        match first {
            None => first = Some(region),
            Some(f) if partition(f) != partition(region) => {
                return Err(format!(
                    "`{region}` is in the {} partition and `{f}` in {}: a stack's regions share one partition (ARNs, credentials and S3 are separate between partitions), so use one stack per partition",
                    partition(region),
                    partition(f)
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_follows_region() {
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("us-isob-east-1"), "aws-iso-b");
        assert_eq!(partition("eusc-de-east-1"), "aws-eusc");
        assert_eq!(partition("eu-west-1"), "aws");
        // Unknown names: by how they start.
        assert_eq!(partition("cn-south-9"), "aws-cn");
        assert_eq!(partition("us-gov-north-9"), "aws-us-gov");
        assert_eq!(partition("ap-mars-1"), "aws");
    }

    #[test]
    fn every_known_region_is_well_formed_and_in_its_own_partition() {
        for p in &PARTITIONS {
            for r in p.regions {
                assert!(check_region(r).is_ok(), "{r}");
                assert_eq!(partition(r), p.id, "{r}");
                assert!(p.prefixes.iter().any(|x| r.starts_with(x)), "{r}");
            }
        }
    }

    #[test]
    fn a_typo_is_refused_with_the_region_it_was_meant_to_be() {
        assert_eq!(check_known_region("us-west-2", false), Ok(()));
        let e = check_known_region("us-wset-2", false).unwrap_err();
        assert!(e.contains("did you mean `us-west-2`?"), "{e}");
        assert!(e.contains("--allow-unknown-region"), "{e}");
        let e = check_known_region("ap-northeast-9", false).unwrap_err();
        assert!(e.contains("is not a region AWS has"), "{e}");
        let e = check_known_region("us_west_2", true).unwrap_err();
        assert!(e.contains("did you mean `us-west-2`?"), "{e}");
        let e = check_known_region("zz-nowhere-1", false).unwrap_err();
        assert!(!e.contains("did you mean"), "{e}");
        // A region newer than this build: accepted when asked.
        assert_eq!(check_known_region("ap-newplace-1", true), Ok(()));
        assert!(check_known_region("tokyo", true).is_err());
    }

    #[test]
    fn regions_of_two_partitions_do_not_mix() {
        assert_eq!(check_one_partition(["us-east-1", "eu-west-1"]), Ok(()));
        assert_eq!(
            check_one_partition(["cn-north-1", "cn-northwest-1"]),
            Ok(())
        );
        let e = check_one_partition(["us-east-1", "cn-north-1"]).unwrap_err();
        assert!(
            e.starts_with("`cn-north-1` is in the aws-cn partition and `us-east-1` in aws"),
            "{e}"
        );
    }

    #[test]
    fn region_names_have_their_shape() {
        for good in [
            "us-east-1",
            "us-gov-west-1",
            "eusc-de-east-1",
            "eu-isoe-west-1",
        ] {
            assert!(check_region(good).is_ok(), "{good}");
        }
        for bad in [
            "us_west_2",
            "uswest2",
            "US-WEST-2",
            "us-west-",
            "u-west-2",
            "us-west-2a",
            "toolong-west-2",
            "",
        ] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
    }
}
