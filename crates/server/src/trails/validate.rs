//! Validation of trail settings, with CloudTrail's error codes and messages.

use cairn_model::trail::{AdvancedEventSelector, EventSelector, InsightSelector, Tag};

/// A rejected setting: the CloudTrail error code and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: &'static str,
    pub message: String,
}

fn invalid(code: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        code,
        message: message.into(),
    }
}

pub type Result<T = ()> = std::result::Result<T, Invalid>;

const NAME: &str = "InvalidTrailNameException";

/// CloudTrail's trail name rules: 3 to 128 of `[A-Za-z0-9._-]`, starting and ending with a letter
/// or digit, no adjacent punctuation, not shaped like an IP address.
pub fn trail_name(name: &str) -> Result {
    let len = name.chars().count();
    if len < 3 {
        return Err(invalid(
            NAME,
            format!(
                "Trail name too short. Minimum allowed length: 3 characters. Specified name length: {len} characters."
            ),
        ));
    }
    if len > 128 {
        return Err(invalid(
            NAME,
            format!(
                "Trail name too long. Maximum allowed length: 128 characters. Specified name length: {len} characters."
            ),
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(invalid(NAME, "Trail name must starts with a letter or number."));
    }
    if !name.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(invalid(NAME, "Trail name must ends with a letter or number."));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return Err(invalid(
            NAME,
            "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).",
        ));
    }
    let b = name.as_bytes();
    if b.windows(2).any(|w| b"._-".contains(&w[0]) && b"._-".contains(&w[1])) {
        return Err(invalid(
            NAME,
            "Trail name cannot contain '_.', '._', '..', '-_', '_-', '--', '.-' or '-.'.",
        ));
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(invalid(NAME, "Trail name must not have an IP address format."));
    }
    Ok(())
}

/// S3's bucket naming rules (the subset CloudTrail checks before looking the bucket up).
pub fn bucket_name(name: &str) -> Result {
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("..")
        && name.parse::<std::net::Ipv4Addr>().is_err();
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "InvalidS3BucketNameException",
            format!("Bucket name {name} is not valid."),
        ))
    }
}

pub fn key_prefix(prefix: &str) -> Result {
    if prefix.len() > 200 {
        return Err(invalid(
            "InvalidS3PrefixException",
            format!("Prefix {prefix} is too long; the maximum length is 200 characters."),
        ));
    }
    if prefix.chars().any(char::is_control) {
        return Err(invalid(
            "InvalidS3PrefixException",
            "Prefix contains control characters.",
        ));
    }
    Ok(())
}

const SELECTORS: &str = "InvalidEventSelectorsException";
/// Data resource types of basic selectors, with the ARN prefix their values must have.
const BASIC_DATA_TYPES: &[(&str, &str)] = &[
    ("AWS::S3::Object", "arn:aws:s3"),
    ("AWS::Lambda::Function", "arn:aws:lambda"),
    ("AWS::DynamoDB::Table", "arn:aws:dynamodb"),
];
const EXCLUDABLE_SOURCES: &[&str] = &["kms.amazonaws.com", "rdsdata.amazonaws.com"];

pub fn event_selectors(selectors: &[EventSelector]) -> Result {
    if selectors.len() > 5 {
        return Err(invalid(SELECTORS, "A trail can have at most 5 event selectors."));
    }
    let mut values = 0;
    for s in selectors {
        for r in s.data_resources.iter().flatten() {
            let ty = r.r#type.as_deref().unwrap_or_default();
            let Some((_, arn_prefix)) = BASIC_DATA_TYPES.iter().find(|(t, _)| *t == ty) else {
                return Err(invalid(
                    SELECTORS,
                    format!(
                        "Value {ty} for DataResources.Type is invalid. Use AdvancedEventSelectors for other resource types."
                    ),
                ));
            };
            for v in r.values.iter().flatten() {
                values += 1;
                let valid = v == arn_prefix || v.starts_with(&format!("{arn_prefix}:"));
                let s3_needs_object_path = ty == "AWS::S3::Object" && v.starts_with("arn:aws:s3:::") && {
                    let rest = &v["arn:aws:s3:::".len()..];
                    !rest.is_empty() && !rest.contains('/')
                };
                if !valid || s3_needs_object_path {
                    return Err(invalid(
                        SELECTORS,
                        format!("Value {v} for DataResources.Values is invalid."),
                    ));
                }
            }
        }
        for src in s.exclude_management_event_sources.iter().flatten() {
            if !EXCLUDABLE_SOURCES.contains(&src.as_str()) {
                return Err(invalid(
                    SELECTORS,
                    format!(
                        "Value {src} for ExcludeManagementEventSources is invalid; allowed are kms.amazonaws.com and rdsdata.amazonaws.com."
                    ),
                ));
            }
        }
    }
    if values > 250 {
        return Err(invalid(SELECTORS, "A trail can have at most 250 data resource values."));
    }
    Ok(())
}

/// Fields allowed in advanced selectors of trails, per eventCategory, and the ones required.
fn advanced_fields(category: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    match category {
        "Management" => Some((&["eventCategory", "eventSource", "readOnly"], &[])),
        "Data" => Some((
            &[
                "eventCategory",
                "resources.type",
                "eventName",
                "eventSource",
                "eventType",
                "readOnly",
                "resources.ARN",
                "sessionCredentialFromConsole",
                "userIdentity.arn",
            ],
            &["resources.type"],
        )),
        "NetworkActivity" => Some((
            &[
                "eventCategory",
                "eventSource",
                "eventName",
                "errorCode",
                "vpcEndpointId",
                "userIdentity.arn",
            ],
            &["eventSource"],
        )),
        _ => None,
    }
}

pub fn advanced_event_selectors(selectors: &[AdvancedEventSelector]) -> Result {
    if selectors.is_empty() {
        return Err(invalid(
            SELECTORS,
            "AdvancedEventSelectors must contain at least one selector.",
        ));
    }
    let mut conditions = 0usize;
    for (i, s) in selectors.iter().enumerate() {
        let label = s.name.clone().unwrap_or_else(|| format!("selector {}", i + 1));
        if s.name.as_ref().is_some_and(|n| n.len() > 1000) {
            return Err(invalid(
                SELECTORS,
                "Advanced event selector names are at most 1000 characters.",
            ));
        }
        if s.field_selectors.is_empty() {
            return Err(invalid(
                SELECTORS,
                format!("{label}: FieldSelectors must not be empty."),
            ));
        }
        let category = s
            .field_selectors
            .iter()
            .find(|f| f.field == "eventCategory")
            .and_then(|f| f.equals.as_deref())
            .filter(|eq| eq.len() == 1)
            .map(|eq| eq[0].as_str());
        let Some(category) = category else {
            return Err(invalid(
                SELECTORS,
                format!("{label}: an eventCategory field selector with exactly one Equals value is required."),
            ));
        };
        let Some((allowed, required)) = advanced_fields(category) else {
            return Err(invalid(
                SELECTORS,
                format!(
                    "{label}: eventCategory {category} is not valid for a trail; use Management, Data or NetworkActivity."
                ),
            ));
        };
        let mut seen = Vec::new();
        for f in &s.field_selectors {
            if !allowed.contains(&f.field.as_str()) {
                return Err(invalid(
                    SELECTORS,
                    format!(
                        "{label}: field {} is not supported for eventCategory {category}.",
                        f.field
                    ),
                ));
            }
            if seen.contains(&f.field.as_str()) {
                return Err(invalid(
                    SELECTORS,
                    format!("{label}: field {} appears more than once.", f.field),
                ));
            }
            seen.push(f.field.as_str());
            let operators = [
                &f.equals,
                &f.starts_with,
                &f.ends_with,
                &f.not_equals,
                &f.not_starts_with,
                &f.not_ends_with,
            ];
            if operators.iter().all(|o| o.is_none()) {
                return Err(invalid(
                    SELECTORS,
                    format!("{label}: field {} has no operator.", f.field),
                ));
            }
            for values in operators.into_iter().flatten() {
                if values.is_empty() {
                    return Err(invalid(
                        SELECTORS,
                        format!("{label}: field {} has an operator with no values.", f.field),
                    ));
                }
                for v in values {
                    if v.is_empty() || v.len() > 2048 {
                        return Err(invalid(
                            SELECTORS,
                            format!("{label}: values of field {} must be 1 to 2048 characters.", f.field),
                        ));
                    }
                    if f.field == "readOnly" && v != "true" && v != "false" {
                        return Err(invalid(
                            SELECTORS,
                            format!("{label}: readOnly values must be true or false, not {v}."),
                        ));
                    }
                }
                conditions += values.len();
            }
        }
        for r in required {
            if !seen.contains(r) {
                return Err(invalid(
                    SELECTORS,
                    format!("{label}: a {r} field selector is required for eventCategory {category}."),
                ));
            }
        }
    }
    if conditions > 500 {
        return Err(invalid(
            SELECTORS,
            "A trail can have at most 500 conditions across its advanced event selectors.",
        ));
    }
    Ok(())
}

pub fn insight_selectors(selectors: &[InsightSelector]) -> Result {
    let mut seen = Vec::new();
    for s in selectors {
        let ty = s.insight_type.as_deref().unwrap_or_default();
        if ty != "ApiCallRateInsight" && ty != "ApiErrorRateInsight" {
            return Err(invalid(
                "InvalidInsightSelectorsException",
                format!("InsightType {ty:?} is not valid; use ApiCallRateInsight or ApiErrorRateInsight."),
            ));
        }
        if seen.contains(&ty) {
            return Err(invalid(
                "InvalidInsightSelectorsException",
                format!("InsightType {ty} is given twice."),
            ));
        }
        seen.push(ty);
        for c in s.event_categories.iter().flatten() {
            if c != "Management" && c != "Data" {
                return Err(invalid(
                    "InvalidInsightSelectorsException",
                    format!("EventCategories value {c:?} is not valid; use Management or Data."),
                ));
            }
        }
    }
    Ok(())
}

/// Most tags a trail can carry.
pub const MAX_TAGS: usize = 50;

pub fn tags(tags: &[Tag]) -> Result {
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 {
            return Err(invalid(
                "InvalidTagParameterException",
                "Tag keys must be 1 to 128 characters.",
            ));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid(
                "InvalidTagParameterException",
                "Tag keys may not start with aws:.",
            ));
        }
        if t.value.as_ref().is_some_and(|v| v.chars().count() > 256) {
            return Err(invalid(
                "InvalidTagParameterException",
                "Tag values must be at most 256 characters.",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::trail::{AdvancedFieldSelector, DataResource};

    #[test]
    fn trail_names() {
        assert!(trail_name("management-events").is_ok());
        assert!(trail_name("a.b_c-d").is_ok());
        for (bad, msg) in [
            ("aa", "too short"),
            ("-trail", "must starts"),
            ("trail!", "must ends"),
            ("my#trail", "can only contain"),
            ("a..b", "cannot contain"),
            ("a-_b", "cannot contain"),
            ("10.0.0.1", "IP address"),
        ] {
            let e = trail_name(bad).unwrap_err();
            assert_eq!(e.code, NAME);
            assert!(e.message.contains(msg), "{bad}: {}", e.message);
        }
        assert!(
            trail_name(&"a".repeat(129))
                .unwrap_err()
                .message
                .contains("129 characters")
        );
    }

    #[test]
    fn basic_selectors() {
        let sel = |ty: &str, v: &str| EventSelector {
            data_resources: Some(vec![DataResource {
                r#type: Some(ty.into()),
                values: Some(vec![v.into()]),
            }]),
            ..EventSelector::default()
        };
        assert!(event_selectors(&[sel("AWS::S3::Object", "arn:aws:s3")]).is_ok());
        assert!(event_selectors(&[sel("AWS::S3::Object", "arn:aws:s3:::bucket/")]).is_ok());
        assert!(event_selectors(&[sel("AWS::S3::Object", "arn:aws:s3:::bucket")]).is_err());
        assert!(event_selectors(&[sel("AWS::Lambda::Function", "arn:aws:lambda")]).is_ok());
        assert!(event_selectors(&[sel("AWS::S3::Object", "arn:aws:lambda")]).is_err());
        assert!(event_selectors(&[sel("AWS::EC2::Instance", "arn:aws:ec2")]).is_err());
        assert!(event_selectors(&vec![EventSelector::default(); 6]).is_err());
    }

    #[test]
    fn advanced_selectors() {
        let field = |f: &str, eq: &[&str]| AdvancedFieldSelector {
            field: f.into(),
            equals: Some(eq.iter().map(|s| s.to_string()).collect()),
            ..AdvancedFieldSelector::default()
        };
        let sel = |fields: Vec<AdvancedFieldSelector>| AdvancedEventSelector {
            name: None,
            field_selectors: fields,
        };
        assert!(advanced_event_selectors(&[sel(vec![field("eventCategory", &["Management"])])]).is_ok());
        assert!(
            advanced_event_selectors(&[sel(vec![
                field("eventCategory", &["Data"]),
                field("resources.type", &["AWS::S3::Object"])
            ])])
            .is_ok()
        );
        // Data needs resources.type; Management does not allow eventName; eventCategory required.
        assert!(advanced_event_selectors(&[sel(vec![field("eventCategory", &["Data"])])]).is_err());
        assert!(
            advanced_event_selectors(&[sel(vec![
                field("eventCategory", &["Management"]),
                field("eventName", &["CreateTrail"])
            ])])
            .is_err()
        );
        assert!(advanced_event_selectors(&[sel(vec![field("readOnly", &["true"])])]).is_err());
        assert!(
            advanced_event_selectors(&[sel(vec![
                field("eventCategory", &["Management"]),
                field("readOnly", &["yes"])
            ])])
            .is_err()
        );
        assert!(advanced_event_selectors(&[]).is_err());
    }
}
