//! Trail management: CreateTrail, UpdateTrail, DeleteTrail, GetTrail, DescribeTrails, ListTrails,
//! GetTrailStatus, StartLogging, StopLogging, event and Insights selectors, tags, ListPublicKeys.
//!
//! Visibility follows CloudTrail: a caller sees its account's trails of the request's region, the
//! multi-region trails of its account from every region (shadow trails), and the organization
//! trails of its organization. Changes happen only in a trail's home region, by its account.

use std::sync::Arc;

use cairn_model::trail::{
    AdvancedEventSelector, EventSelector, InsightSelector, ReadWriteType, Tag, TrailConfig, parse_trail_arn, trail_arn,
};
use serde_json::{Map, Value, json};

use super::input::{Input, decode_token, encode_token};
use super::{Call, Done, trail_resource};
use crate::api::error::ApiError;
use crate::destinations::BucketCheck;
use crate::trails::store::StoreError;
use crate::trails::validate::{self, Invalid};

impl From<Invalid> for ApiError {
    fn from(i: Invalid) -> Self {
        ApiError::client(i.code, i.message)
    }
}

impl From<StoreError<ApiError>> for ApiError {
    fn from(e: StoreError<ApiError>) -> Self {
        match e {
            StoreError::Rejected(e) => e,
            StoreError::AlreadyExists => ApiError::client("TrailAlreadyExistsException", "The trail already exists."),
            StoreError::Catalog(e) => ApiError::from_log(&e),
        }
    }
}

/// Trails listed per ListTrails page.
const LIST_PAGE: usize = 50;

pub async fn dispatch(call: &Call<'_>, input: &Map<String, Value>) -> Result<Done, ApiError> {
    let input = Input(input);
    match call.op {
        "CreateTrail" => create_trail(call, &input).await,
        "UpdateTrail" => update_trail(call, &input).await,
        "DeleteTrail" => delete_trail(call, &input).await,
        "GetTrail" => get_trail(call, &input),
        "DescribeTrails" => describe_trails(call, &input),
        "ListTrails" => list_trails(call, &input),
        "GetTrailStatus" => get_trail_status(call, &input),
        "StartLogging" => set_logging(call, &input, true).await,
        "StopLogging" => set_logging(call, &input, false).await,
        "PutEventSelectors" => put_event_selectors(call, &input).await,
        "GetEventSelectors" => get_event_selectors(call, &input),
        "PutInsightSelectors" => put_insight_selectors(call, &input).await,
        "GetInsightSelectors" => get_insight_selectors(call, &input),
        "AddTags" => add_tags(call, &input).await,
        "RemoveTags" => remove_tags(call, &input).await,
        "ListTags" => list_tags(call, &input),
        "ListPublicKeys" => list_public_keys(call, &input).await,
        other => Err(ApiError::unsupported(other)),
    }
}

fn not_found(call: &Call<'_>, what: &str) -> ApiError {
    ApiError::client(
        "TrailNotFoundException",
        format!("Unknown trail: {what} for the user: {}", call.account()),
    )
}

/// Whether the caller can see `t` at all (from any region).
fn visible(call: &Call<'_>, t: &TrailConfig) -> bool {
    if t.account_id == call.account() {
        return true;
    }
    let Some(org) = call.state.directory().organization() else {
        return false;
    };
    t.is_organization_trail
        && t.account_id == org.management_account
        && org.member_accounts.iter().any(|a| a == call.account())
}

/// Whether `t` shows in the request's region (its home region, or everywhere when multi-region).
fn in_region(call: &Call<'_>, t: &TrailConfig) -> bool {
    t.home_region == call.region || t.is_multi_region_trail
}

/// Finds the trail a `Name`/`TrailName` member names (a name in this region, or an ARN). The
/// caller's permission on the trail is checked here, before "not found" could tell anything.
fn resolve(call: &Call<'_>, name_or_arn: &str) -> Result<Arc<TrailConfig>, ApiError> {
    let store = &call.ready.trails;
    if name_or_arn.starts_with("arn:") {
        let parsed = parse_trail_arn(name_or_arn);
        // Permission comes first: a caller without it learns nothing, not even what is malformed.
        call.authorize(name_or_arn)?;
        let Some((_, _, name)) = parsed else {
            return Err(ApiError::client(
                "CloudTrailARNInvalidException",
                format!(
                    "Invalid trail ARN: {name_or_arn}. The ARN must look like arn:aws:cloudtrail:us-east-2:123456789012:trail/MyTrail."
                ),
            ));
        };
        validate::trail_name(name)?;
        let found = store.get(name_or_arn).filter(|t| visible(call, t));
        return found.ok_or_else(|| not_found(call, name_or_arn));
    }
    let home = trail_arn(call.region, call.account(), name_or_arn);
    if let Err(invalid) = validate::trail_name(name_or_arn) {
        call.authorize(&home)?;
        return Err(invalid.into());
    }
    let found = store.get(&home).or_else(|| {
        store
            .all()
            .into_iter()
            .find(|t| t.name == name_or_arn && visible(call, t) && in_region(call, t))
    });
    call.authorize(found.as_ref().map(|t| t.arn()).as_deref().unwrap_or(&home))?;
    found.ok_or_else(|| not_found(call, &home))
}

/// [`resolve`], for changes: only the owning account, only in the home region.
fn resolve_for_change(call: &Call<'_>, name_or_arn: &str) -> Result<Arc<TrailConfig>, ApiError> {
    let t = resolve(call, name_or_arn)?;
    if t.account_id != call.account() {
        return Err(ApiError::client(
            "NotOrganizationMasterAccountException",
            format!(
                "The trail {} belongs to the organization's management account {}; only that account can change it.",
                t.arn(),
                t.account_id
            ),
        ));
    }
    if t.home_region != call.region {
        return Err(ApiError::client(
            "InvalidHomeRegionException",
            format!(
                "The trail {} can only be changed in its home region {}, not in {}.",
                t.arn(),
                t.home_region,
                call.region
            ),
        ));
    }
    Ok(t)
}

fn secs(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

/// The `Trail` shape of DescribeTrails and GetTrail.
fn trail_shape(t: &TrailConfig) -> Value {
    let mut v = json!({
        "Name": t.name,
        "S3BucketName": t.s3_bucket_name,
        "IncludeGlobalServiceEvents": t.include_global_service_events,
        "IsMultiRegionTrail": t.is_multi_region_trail,
        "HomeRegion": t.home_region,
        "TrailARN": t.arn(),
        "LogFileValidationEnabled": t.log_file_validation_enabled,
        "HasCustomEventSelectors": t.has_custom_event_selectors(),
        "HasInsightSelectors": !t.insight_selectors.is_empty(),
        "IsOrganizationTrail": t.is_organization_trail,
    });
    if let Some(p) = &t.s3_key_prefix {
        v["S3KeyPrefix"] = json!(p);
    }
    v
}

/// The response of CreateTrail and UpdateTrail.
fn trail_settings(t: &TrailConfig) -> Value {
    let mut v = json!({
        "Name": t.name,
        "S3BucketName": t.s3_bucket_name,
        "IncludeGlobalServiceEvents": t.include_global_service_events,
        "IsMultiRegionTrail": t.is_multi_region_trail,
        "TrailARN": t.arn(),
        "LogFileValidationEnabled": t.log_file_validation_enabled,
        "IsOrganizationTrail": t.is_organization_trail,
    });
    if let Some(p) = &t.s3_key_prefix {
        v["S3KeyPrefix"] = json!(p);
    }
    v
}

fn done_with(call: &Call<'_>, t: &TrailConfig, body: Value) -> Done {
    Done {
        resource: Some(trail_resource(call.account(), &t.arn())),
        ..Done::new(body)
    }
}

/// Members Cairn does not act on; accepting them silently would promise what is not done.
fn refuse_unsupported(input: &Input<'_>) -> Result<(), ApiError> {
    for (member, what) in [
        ("SnsTopicName", "SNS notifications"),
        ("CloudWatchLogsLogGroupArn", "CloudWatch Logs delivery"),
        ("CloudWatchLogsRoleArn", "CloudWatch Logs delivery"),
        ("KmsKeyId", "KMS encryption of log files"),
    ] {
        if input.str(member)?.is_some_and(|s| !s.is_empty()) {
            return Err(ApiError::client(
                "UnsupportedOperationException",
                format!("Cairn does not support {what} ({member})."),
            ));
        }
    }
    Ok(())
}

async fn check_bucket(call: &Call<'_>, bucket: &str) -> Result<(), ApiError> {
    validate::bucket_name(bucket)?;
    match call.state.destinations().check_bucket(bucket).await {
        BucketCheck::Exists => Ok(()),
        BucketCheck::Owned { account_id } if account_id == call.account() => Ok(()),
        // Another account's bucket: CloudTrail would need that bucket's policy to allow it, and
        // local buckets have no policies, so it never does.
        BucketCheck::Owned { .. } => Err(ApiError::client(
            "InsufficientS3BucketPolicyException",
            format!("Incorrect S3 bucket policy is detected for bucket: {bucket}"),
        )),
        BucketCheck::Missing => Err(ApiError::client(
            "S3BucketDoesNotExistException",
            format!("S3 bucket {bucket} does not exist!"),
        )),
        BucketCheck::Unreachable(detail) => Err(ApiError::internal(format!("checking bucket {bucket}: {detail}"))),
    }
}

fn check_organization(call: &Call<'_>) -> Result<(), ApiError> {
    let Some(org) = call.state.directory().organization() else {
        return Err(ApiError::client(
            "OrganizationsNotInUseException",
            "This account is not part of an organization; configure one to create organization trails.",
        ));
    };
    if org.management_account != call.account() {
        return Err(ApiError::client(
            "NotOrganizationMasterAccountException",
            format!(
                "The request was rejected because account {} is not the management account of organization {}.",
                call.account(),
                org.id
            ),
        ));
    }
    Ok(())
}

fn already_exists(name: &str, account: &str) -> ApiError {
    ApiError::client(
        "TrailAlreadyExistsException",
        format!("Trail {name} already exists for customer: {account}"),
    )
}

/// A trail named `name` of `account` that would be seen together with one in `region`.
fn name_taken(
    trails: &[Arc<TrailConfig>],
    account: &str,
    name: &str,
    region: &str,
    multi_region: bool,
    except: Option<&str>,
) -> bool {
    trails.iter().any(|t| {
        t.account_id == account
            && t.name == name
            && Some(t.arn().as_str()) != except
            && (t.home_region == region || t.is_multi_region_trail || multi_region)
    })
}

async fn create_trail(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    let name = input.required_str("Name", "InvalidTrailNameException")?.to_string();
    let arn = trail_arn(call.region, call.account(), &name);
    call.authorize(&arn)?;
    validate::trail_name(&name)?;
    let bucket = input
        .required_str("S3BucketName", "InvalidS3BucketNameException")?
        .to_string();
    let prefix = input.str("S3KeyPrefix")?.filter(|p| !p.is_empty()).map(str::to_string);
    if let Some(p) = &prefix {
        validate::key_prefix(p)?;
    }
    refuse_unsupported(input)?;
    let global = input.bool("IncludeGlobalServiceEvents")?.unwrap_or(true);
    let multi = input.bool("IsMultiRegionTrail")?.unwrap_or(false);
    let org = input.bool("IsOrganizationTrail")?.unwrap_or(false);
    if multi && !global {
        return Err(ApiError::client(
            "InvalidParameterCombinationException",
            "Multi-Region trail must include global service events.",
        ));
    }
    let tags: Vec<Tag> = input
        .typed("TagsList", "InvalidTagParameterException")?
        .unwrap_or_default();
    validate::tags(&tags)?;
    if tags.len() > validate::MAX_TAGS {
        return Err(tags_limit());
    }
    if org {
        check_organization(call)?;
    }
    check_bucket(call, &bucket).await?;
    let trail = TrailConfig {
        name: name.clone(),
        account_id: call.account().to_string(),
        home_region: call.region.to_string(),
        s3_bucket_name: bucket,
        s3_key_prefix: prefix,
        sns_topic_name: None,
        include_global_service_events: global,
        is_multi_region_trail: multi,
        log_file_validation_enabled: input.bool("EnableLogFileValidation")?.unwrap_or(false),
        cloud_watch_logs_log_group_arn: None,
        cloud_watch_logs_role_arn: None,
        kms_key_id: None,
        is_organization_trail: org,
        event_selectors: None,
        advanced_event_selectors: None,
        insight_selectors: Vec::new(),
        tags,
        logging: Default::default(),
        created_ms: jiff::Timestamp::now().as_millisecond(),
    };
    let max = call.state.options().max_trails_per_region;
    let account = call.account().to_string();
    let region = call.region.to_string();
    let created = call
        .ready
        .trails
        .create(trail, |all| {
            if name_taken(all, &account, &name, &region, multi, None) {
                return Err(already_exists(&name, &account));
            }
            let here = all
                .iter()
                .filter(|t| t.account_id == account && t.home_region == region)
                .count();
            if here >= max {
                return Err(ApiError::client(
                    "MaximumNumberOfTrailsExceededException",
                    format!("User: {account} already has {here} trails in {region}."),
                ));
            }
            Ok(())
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists => already_exists(&name, call.account()),
            other => other.into(),
        })?;
    Ok(done_with(call, &created, trail_settings(&created)))
}

async fn update_trail(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    let name = input.required_str("Name", "InvalidTrailNameException")?;
    let current = resolve_for_change(call, name)?;
    refuse_unsupported(input)?;
    let bucket = input.str("S3BucketName")?.map(str::to_string);
    if let Some(b) = bucket.as_deref().filter(|b| *b != current.s3_bucket_name) {
        check_bucket(call, b).await?;
    }
    let prefix = input.str("S3KeyPrefix")?.map(str::to_string);
    if let Some(p) = &prefix {
        validate::key_prefix(p)?;
    }
    let global = input.bool("IncludeGlobalServiceEvents")?;
    let multi = input.bool("IsMultiRegionTrail")?;
    let validation = input.bool("EnableLogFileValidation")?;
    let org = input.bool("IsOrganizationTrail")?;
    if org == Some(true) && !current.is_organization_trail {
        check_organization(call)?;
    }
    if multi == Some(true)
        && !current.is_multi_region_trail
        && name_taken(
            &call.ready.trails.all(),
            call.account(),
            &current.name,
            call.region,
            true,
            Some(&current.arn()),
        )
    {
        return Err(already_exists(&current.name, call.account()));
    }
    let updated = call
        .ready
        .trails
        .update(&current.arn(), |t| {
            if let Some(b) = bucket {
                t.s3_bucket_name = b;
            }
            if let Some(p) = prefix {
                t.s3_key_prefix = (!p.is_empty()).then_some(p);
            }
            if let Some(g) = global {
                t.include_global_service_events = g;
            }
            if let Some(m) = multi {
                t.is_multi_region_trail = m;
            }
            if let Some(v) = validation {
                t.log_file_validation_enabled = v;
            }
            if let Some(o) = org {
                t.is_organization_trail = o;
            }
            if t.is_multi_region_trail && !t.include_global_service_events {
                return Err(ApiError::client(
                    "InvalidParameterCombinationException",
                    "Multi-Region trail must include global service events.",
                ));
            }
            Ok(())
        })
        .await?
        .ok_or_else(|| not_found(call, &current.arn()))?;
    Ok(done_with(call, &updated, trail_settings(&updated)))
}

async fn delete_trail(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    let name = input.required_str("Name", "InvalidTrailNameException")?;
    let t = resolve_for_change(call, name)?;
    if !call
        .ready
        .trails
        .delete(&t.arn())
        .await
        .map_err(|e| ApiError::from_log(&e))?
    {
        return Err(not_found(call, &t.arn()));
    }
    Ok(done_with(call, &t, json!({})))
}

fn get_trail(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    let name = input.required_str("Name", "InvalidTrailNameException")?;
    let t = resolve(call, name)?;
    Ok(done_with(call, &t, json!({ "Trail": trail_shape(&t) })))
}

fn describe_trails(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    call.authorize("*")?;
    let names = input.str_list("trailNameList")?.unwrap_or_default();
    let shadows = input.bool("includeShadowTrails")?.unwrap_or(true);
    let all = call.ready.trails.all();
    let seen: Vec<&Arc<TrailConfig>> = all
        .iter()
        .filter(|t| visible(call, t) && in_region(call, t))
        .filter(|t| shadows || (t.home_region == call.region && t.account_id == call.account()))
        .collect();
    let list: Vec<Value> = if names.is_empty() {
        seen.iter().map(|t| trail_shape(t)).collect()
    } else {
        for n in &names {
            if n.starts_with("arn:") {
                if parse_trail_arn(n).is_none() {
                    return Err(ApiError::client(
                        "CloudTrailARNInvalidException",
                        format!("Invalid trail ARN: {n}."),
                    ));
                }
            } else {
                validate::trail_name(n)?;
            }
        }
        seen.iter()
            .filter(|t| {
                let arn = t.arn();
                // Names match trails of this region; other regions' trails need their ARN.
                names
                    .iter()
                    .any(|n| *n == arn || (*n == t.name && t.home_region == call.region))
            })
            .map(|t| trail_shape(t))
            .collect()
    };
    Ok(Done::new(json!({ "trailList": list })))
}

fn list_trails(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    call.authorize("*")?;
    let after = match input.str("NextToken")? {
        None | Some("") => None,
        Some(tok) => Some(
            decode_token(tok)
                .ok_or_else(|| ApiError::client("InvalidNextTokenException", "The NextToken is not valid."))?,
        ),
    };
    let visible_trails: Vec<Arc<TrailConfig>> = call
        .ready
        .trails
        .all()
        .into_iter()
        .filter(|t| visible(call, t))
        .filter(|t| after.as_deref().is_none_or(|a| t.arn().as_str() > a))
        .collect();
    let page: Vec<Value> = visible_trails
        .iter()
        .take(LIST_PAGE)
        .map(|t| json!({"TrailARN": t.arn(), "Name": t.name, "HomeRegion": t.home_region}))
        .collect();
    let mut body = json!({ "Trails": page });
    if visible_trails.len() > LIST_PAGE {
        body["NextToken"] = json!(encode_token(&visible_trails[LIST_PAGE - 1].arn()));
    }
    Ok(Done::new(body))
}

fn get_trail_status(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    let name = input.required_str("Name", "InvalidTrailNameException")?;
    let t = resolve(call, name)?;
    let mut body = json!({ "IsLogging": t.logging.is_logging });
    if let Some(ms) = t.logging.start_logging_ms {
        body["StartLoggingTime"] = secs(ms);
        body["TimeLoggingStarted"] = json!(iso(ms));
    }
    if let Some(ms) = t.logging.stop_logging_ms {
        body["StopLoggingTime"] = secs(ms);
        body["TimeLoggingStopped"] = json!(iso(ms));
    }
    if let Some(d) = call.ready.deliveries.get(&t.arn()) {
        if let Some(ms) = d.latest_delivery_ms {
            body["LatestDeliveryTime"] = secs(ms);
        }
        if let Some(ms) = d.latest_attempt_ms {
            body["LatestDeliveryAttemptTime"] = json!(iso(ms));
        }
        if let Some(ms) = d.latest_success_ms {
            body["LatestDeliveryAttemptSucceeded"] = json!(iso(ms));
        }
        if let Some(e) = d.latest_error {
            body["LatestDeliveryError"] = json!(e);
        }
        if let Some(ms) = d.latest_digest_delivery_ms {
            body["LatestDigestDeliveryTime"] = secs(ms);
        }
        if let Some(e) = d.latest_digest_error {
            body["LatestDigestDeliveryError"] = json!(e);
        }
    }
    Ok(done_with(call, &t, body))
}

fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

async fn set_logging(call: &Call<'_>, input: &Input<'_>, on: bool) -> Result<Done, ApiError> {
    let name = input.required_str("Name", "InvalidTrailNameException")?;
    let t = resolve_for_change(call, name)?;
    let now = jiff::Timestamp::now().as_millisecond();
    let log = &call.ready.log;
    let updated = call
        .ready
        .trails
        .update(&t.arn(), |t| {
            // The period's edge is the log position now: every event acknowledged before this
            // call answers is on its side of the edge. Starting a logging trail (or stopping a
            // stopped one) changes nothing, as in CloudTrail.
            let durable = log.durable_seq();
            if on {
                t.logging.start(now, durable);
            } else {
                t.logging.stop(now, durable);
            }
            Ok::<_, ApiError>(())
        })
        .await?
        .ok_or_else(|| not_found(call, &t.arn()))?;
    Ok(done_with(call, &updated, json!({})))
}

/// CloudTrail's answer for a trail without custom selectors: all management events.
fn default_selectors() -> Vec<EventSelector> {
    vec![EventSelector {
        read_write_type: Some(ReadWriteType::All),
        include_management_events: Some(true),
        data_resources: Some(Vec::new()),
        exclude_management_event_sources: Some(Vec::new()),
    }]
}

async fn put_event_selectors(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    let name = input.required_str("TrailName", "InvalidTrailNameException")?;
    let t = resolve_for_change(call, name)?;
    let basic: Option<Vec<EventSelector>> = input.typed("EventSelectors", "InvalidEventSelectorsException")?;
    let advanced: Option<Vec<AdvancedEventSelector>> =
        input.typed("AdvancedEventSelectors", "InvalidEventSelectorsException")?;
    match (&basic, &advanced) {
        (Some(_), Some(_)) => {
            return Err(ApiError::client(
                "InvalidParameterCombinationException",
                "EventSelectors and AdvancedEventSelectors cannot both be given; choose one.",
            ));
        }
        (None, None) => {
            return Err(ApiError::client(
                "InvalidParameterCombinationException",
                "Either EventSelectors or AdvancedEventSelectors is required.",
            ));
        }
        (Some(b), None) => validate::event_selectors(b)?,
        (None, Some(a)) => validate::advanced_event_selectors(a)?,
    }
    let updated = call
        .ready
        .trails
        .update(&t.arn(), |t| {
            // Applying one kind replaces the other.
            t.event_selectors = basic;
            t.advanced_event_selectors = advanced;
            Ok::<_, ApiError>(())
        })
        .await?
        .ok_or_else(|| not_found(call, &t.arn()))?;
    Ok(done_with(call, &updated, selectors_body(&updated)))
}

fn selectors_body(t: &TrailConfig) -> Value {
    let mut body = json!({ "TrailARN": t.arn() });
    if let Some(a) = &t.advanced_event_selectors {
        body["AdvancedEventSelectors"] = json!(a);
    } else {
        body["EventSelectors"] = json!(t.event_selectors.clone().unwrap_or_else(default_selectors));
    }
    body
}

fn get_event_selectors(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    let name = input.required_str("TrailName", "InvalidTrailNameException")?;
    let t = resolve(call, name)?;
    Ok(done_with(call, &t, selectors_body(&t)))
}

fn trail_name_for_insights<'a>(input: &'a Input<'_>) -> Result<&'a str, ApiError> {
    if input.str("EventDataStore")?.is_some() {
        return Err(ApiError::client(
            "UnsupportedOperationException",
            "Cairn has no event data stores; give TrailName instead of EventDataStore.",
        ));
    }
    input.required_str("TrailName", "InvalidTrailNameException")
}

async fn put_insight_selectors(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    let name = trail_name_for_insights(input)?;
    let t = resolve_for_change(call, name)?;
    let selectors: Vec<InsightSelector> = input
        .typed("InsightSelectors", "InvalidInsightSelectorsException")?
        .ok_or_else(|| ApiError::invalid_parameter("InsightSelectors is required."))?;
    validate::insight_selectors(&selectors)?;
    let updated = call
        .ready
        .trails
        .update(&t.arn(), |t| {
            t.insight_selectors = selectors;
            Ok::<_, ApiError>(())
        })
        .await?
        .ok_or_else(|| not_found(call, &t.arn()))?;
    Ok(done_with(
        call,
        &updated,
        json!({ "TrailARN": updated.arn(), "InsightSelectors": updated.insight_selectors }),
    ))
}

fn get_insight_selectors(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    let name = trail_name_for_insights(input)?;
    let t = resolve(call, name)?;
    if t.insight_selectors.is_empty() {
        return Err(ApiError::client(
            "InsightNotEnabledException",
            format!(
                "Trail {} does not have Insights enabled. Edit the trail settings to enable Insights, and then try the operation again.",
                t.arn()
            ),
        ));
    }
    Ok(done_with(
        call,
        &t,
        json!({ "TrailARN": t.arn(), "InsightSelectors": t.insight_selectors }),
    ))
}

/// The trail a tagging call names by ARN; only the owning account may see or change its tags.
fn tagged_trail(call: &Call<'_>, arn: &str) -> Result<Arc<TrailConfig>, ApiError> {
    if parse_trail_arn(arn).is_none() {
        return Err(ApiError::client(
            "CloudTrailARNInvalidException",
            format!("Invalid trail ARN: {arn}. Tags are supported on trails only."),
        ));
    }
    call.authorize(arn)?;
    call.ready
        .trails
        .get(arn)
        .filter(|t| t.account_id == call.account())
        .ok_or_else(|| ApiError::client("ResourceNotFoundException", format!("Resource {arn} not found.")))
}

fn tags_limit() -> ApiError {
    ApiError::client(
        "TagsLimitExceededException",
        format!("The number of tags on a trail cannot exceed {}.", validate::MAX_TAGS),
    )
}

async fn add_tags(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    let arn = input.required_str("ResourceId", "InvalidParameterException")?;
    tagged_trail(call, arn)?;
    let tags: Vec<Tag> = input
        .typed("TagsList", "InvalidTagParameterException")?
        .ok_or_else(|| ApiError::invalid_parameter("TagsList is required."))?;
    validate::tags(&tags)?;
    let updated = call
        .ready
        .trails
        .update(arn, |t| {
            for tag in tags {
                match t.tags.iter_mut().find(|x| x.key == tag.key) {
                    Some(existing) => existing.value = tag.value,
                    None => t.tags.push(tag),
                }
            }
            if t.tags.len() > validate::MAX_TAGS {
                return Err(tags_limit());
            }
            Ok(())
        })
        .await?
        .ok_or_else(|| not_found(call, arn))?;
    Ok(done_with(call, &updated, json!({})))
}

async fn remove_tags(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    let arn = input.required_str("ResourceId", "InvalidParameterException")?;
    let t = tagged_trail(call, arn)?;
    let tags: Vec<Tag> = input
        .typed("TagsList", "InvalidTagParameterException")?
        .ok_or_else(|| ApiError::invalid_parameter("TagsList is required."))?;
    call.ready
        .trails
        .update(arn, |t| {
            t.tags.retain(|x| {
                !tags
                    .iter()
                    .any(|r| r.key == x.key && (r.value.is_none() || r.value == x.value))
            });
            Ok::<_, ApiError>(())
        })
        .await?
        .ok_or_else(|| not_found(call, arn))?;
    Ok(done_with(call, &t, json!({})))
}

fn list_tags(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    let arns = input
        .str_list("ResourceIdList")?
        .filter(|l| !l.is_empty())
        .ok_or_else(|| ApiError::invalid_parameter("ResourceIdList is required."))?;
    if arns.len() > 20 {
        return Err(ApiError::invalid_parameter(
            "ResourceIdList can name at most 20 resources.",
        ));
    }
    let mut list = Vec::with_capacity(arns.len());
    for arn in &arns {
        let t = tagged_trail(call, arn)?;
        list.push(json!({ "ResourceId": arn, "TagsList": t.tags }));
    }
    Ok(Done::new(json!({ "ResourceTagList": list })))
}

/// The region's digest signing keys valid in [StartTime, EndTime] (both default to now, which
/// gives the current key). The current key is made on first use, so a region always has one.
async fn list_public_keys(call: &Call<'_>, input: &Input<'_>) -> Result<Done, ApiError> {
    call.authorize("*")?;
    let (start, end) = input.time_range()?;
    let now = jiff::Timestamp::now().as_second();
    let (start, end) = (start.map_or(now, |s| s as i64), end.map_or(now, |e| e.ceil() as i64));
    let (keys, region) = (call.ready.keys.clone(), call.region.to_string());
    // RSA key generation takes tens of milliseconds: not on an async worker.
    let listed = tokio::task::spawn_blocking(move || {
        keys.current(&region, now)?;
        keys.public_keys(&region, start, end)
    })
    .await
    .map_err(|e| ApiError::internal(format!("signing keys: {e}")))?
    .map_err(|e| ApiError::internal(format!("signing keys: {e}")))?;
    let list: Vec<Value> = listed
        .into_iter()
        .map(|k| {
            json!({
                "Value": crate::api::cloudtrail_data::base64(&k.der),
                "ValidityStartTime": k.validity_start,
                "ValidityEndTime": k.validity_end,
                "Fingerprint": k.fingerprint,
            })
        })
        .collect();
    Ok(Done::new(json!({ "PublicKeyList": list })))
}
