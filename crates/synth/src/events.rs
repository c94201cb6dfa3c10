//! The catalogue of (eventSource, eventName) pairs and the writers of their `requestParameters`,
//! `responseElements`, `resources` and `additionalEventData`.

use crate::pop::{Account, RoleKind};
use crate::rng::Rand;
use crate::text::{human_time, inum, iso_time, num};

/// Appends string slices to a buffer.
macro_rules! w {
    ($buf:expr, $($e:expr),+ $(,)?) => {{
        let b: &mut String = $buf;
        $( b.push_str($e); )+
    }};
}

/// Who makes a call.
#[derive(Clone, Copy)]
pub(crate) enum Who {
    /// Any user or role of the account.
    Any,
    /// An EC2 instance role (SSM agent traffic).
    Ec2Role,
    /// Often an AWS service (`AWSService` identity with `invokedBy`), otherwise any principal.
    Svc(&'static [&'static str]),
    /// A console sign-in (IAM user or root).
    SignIn,
    /// An event AWS emits itself (`AwsServiceEvent`).
    ServiceEvent,
}

/// How `requestParameters` is grown to reach the target record size.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pad {
    None,
    /// `"filterSet":{"items":[{"name":..,"valueSet":{"items":[{"value":..}]}}]}`
    Ec2Filter,
    /// `"tagSpecificationSet":{"items":[{"resourceType":..,"tags":[{"key":..,"value":..}]}]}`
    Ec2TagSpec,
    /// `"tagSet":{"items":[{"key":..,"value":..}]}` (at least one tag)
    Ec2TagSet,
    /// `"tags":[{"key":..,"value":..}]`
    Tags,
    /// `"filters":[{"name":..,"values":[..]}]`
    Filters,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Op {
    // ec2
    DescribeInstances,
    DescribeInstanceStatus,
    DescribeSecurityGroups,
    DescribeVolumes,
    DescribeSubnets,
    DescribeVpcs,
    DescribeNetworkInterfaces,
    DescribeImages,
    DescribeSnapshots,
    DescribeTags,
    RunInstances,
    StartInstances,
    StopInstances,
    TerminateInstances,
    CreateTags,
    AuthorizeSecurityGroupIngress,
    CreateSnapshot,
    SharedSnapshotVolumeCreated,
    // s3
    ListBuckets,
    S3BucketGet(&'static str),
    PutBucketPolicy,
    CreateBucket,
    PutBucketTagging,
    // iam
    GetUser,
    ListUsers,
    ListRoles,
    GetRole,
    ListAttachedRolePolicies,
    ListRolePolicies,
    GetPolicyVersion,
    ListAccessKeys,
    CreateAccessKey,
    AttachRolePolicy,
    CreateRole,
    PutRolePolicy,
    TagRole,
    // sts
    AssumeRole,
    GetCallerIdentity,
    // kms
    Decrypt,
    GenerateDataKey,
    Encrypt,
    DescribeKey,
    ListAliases,
    RotateKey,
    // lambda
    ListFunctions,
    GetFunction,
    UpdateFunctionCode,
    UpdateFunctionConfiguration,
    // cloudtrail
    DescribeTrails,
    GetTrailStatus,
    LookupEvents,
    GetEventSelectors,
    StopLogging,
    // dynamodb
    DescribeTable,
    ListTables,
    DescribeContinuousBackups,
    CreateTable,
    UpdateTable,
    // rds
    DescribeDBInstances,
    DescribeDBClusters,
    CreateDBSnapshot,
    ModifyDBInstance,
    // ssm
    UpdateInstanceInformation,
    ListInstanceAssociations,
    GetParameter,
    GetParameters,
    DescribeInstanceInformation,
    PutParameter,
    // secretsmanager
    GetSecretValue,
    DescribeSecret,
    ListSecrets,
    PutSecretValue,
    // logs
    CreateLogStream,
    DescribeLogGroups,
    PutRetentionPolicy,
    // monitoring
    DescribeAlarms,
    PutMetricAlarm,
    // elasticloadbalancing, autoscaling, ecr
    DescribeLoadBalancers,
    DescribeTargetHealth,
    DescribeAutoScalingGroups,
    GetAuthorizationToken,
    // signin
    ConsoleLogin,
}

/// One catalogue entry.
pub(crate) struct Def {
    /// Service prefix: `ec2` in `ec2.amazonaws.com`.
    pub(crate) svc: &'static str,
    pub(crate) name: &'static str,
    pub(crate) read_only: bool,
    /// Relative frequency.
    pub(crate) weight: f64,
    pub(crate) op: Op,
    pub(crate) pad: Pad,
    pub(crate) who: Who,
    /// Service-specific "not found" error (code, message).
    pub(crate) not_found: Option<(&'static str, &'static str)>,
}

const KMS_CALLERS: &[&str] = &[
    "secretsmanager.amazonaws.com",
    "s3.amazonaws.com",
    "lambda.amazonaws.com",
    "ssm.amazonaws.com",
    "dynamodb.amazonaws.com",
    "ec2.amazonaws.com",
    "rds.amazonaws.com",
];
const STS_CALLERS: &[&str] = &[
    "lambda.amazonaws.com",
    "ecs-tasks.amazonaws.com",
    "ec2.amazonaws.com",
    "config.amazonaws.com",
    "autoscaling.amazonaws.com",
    "cloudformation.amazonaws.com",
    "inspector2.amazonaws.com",
    "access-analyzer.amazonaws.com",
];
const DESCRIBE_CALLERS: &[&str] = &[
    "autoscaling.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "config.amazonaws.com",
    "ssm.amazonaws.com",
];
/// Services that continuously inventory resources (AWS Config, Security Hub, Access Analyzer...).
const AUDIT_CALLERS: &[&str] = &[
    "config.amazonaws.com",
    "securityhub.amazonaws.com",
    "access-analyzer.amazonaws.com",
    "inspector2.amazonaws.com",
    "resource-explorer-2.amazonaws.com",
];

const fn d(svc: &'static str, name: &'static str, read_only: bool, weight: f64, op: Op, pad: Pad) -> Def {
    Def {
        svc,
        name,
        read_only,
        weight,
        op,
        pad,
        who: Who::Any,
        not_found: None,
    }
}

const fn who(mut def: Def, who: Who) -> Def {
    def.who = who;
    def
}

const fn nf(mut def: Def, code: &'static str, message: &'static str) -> Def {
    def.not_found = Some((code, message));
    def
}

use Op::*;
use Pad as P;

/// The catalogue. Weights give a heavy-tailed (Zipf-like) mix dominated by AssumeRole, KMS,
/// Describe* and SSM agent traffic, as in a typical account.
pub(crate) static CATALOGUE: &[Def] = &[
    who(
        d("sts", "AssumeRole", true, 30.0, AssumeRole, P::Tags),
        Who::Svc(STS_CALLERS),
    ),
    who(d("kms", "Decrypt", true, 80.0, Decrypt, P::None), Who::Svc(KMS_CALLERS)),
    who(
        d("ec2", "DescribeInstances", true, 60.0, DescribeInstances, P::Ec2Filter),
        Who::Svc(DESCRIBE_CALLERS),
    ),
    who(
        d("kms", "GenerateDataKey", true, 35.0, GenerateDataKey, P::None),
        Who::Svc(KMS_CALLERS),
    ),
    who(
        d(
            "ssm",
            "UpdateInstanceInformation",
            false,
            9.0,
            UpdateInstanceInformation,
            P::None,
        ),
        Who::Ec2Role,
    ),
    nf(
        who(
            d("s3", "GetBucketLocation", true, 16.0, S3BucketGet("location"), P::None),
            Who::Svc(AUDIT_CALLERS),
        ),
        "NoSuchBucket",
        "The specified bucket does not exist",
    ),
    d("sts", "GetCallerIdentity", true, 25.0, GetCallerIdentity, P::None),
    d("logs", "CreateLogStream", false, 25.0, CreateLogStream, P::None),
    nf(
        d("ssm", "GetParameter", true, 22.0, GetParameter, P::None),
        "ParameterNotFound",
        "Parameter not found",
    ),
    nf(
        d("secretsmanager", "GetSecretValue", true, 20.0, GetSecretValue, P::None),
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
    ),
    who(
        d(
            "ssm",
            "ListInstanceAssociations",
            true,
            7.0,
            ListInstanceAssociations,
            P::None,
        ),
        Who::Ec2Role,
    ),
    who(
        d(
            "ec2",
            "DescribeSecurityGroups",
            true,
            22.0,
            DescribeSecurityGroups,
            P::Ec2Filter,
        ),
        Who::Svc(AUDIT_CALLERS),
    ),
    d(
        "ec2",
        "DescribeInstanceStatus",
        true,
        14.0,
        DescribeInstanceStatus,
        P::Ec2Filter,
    ),
    who(
        d("s3", "ListBuckets", true, 12.0, ListBuckets, P::None),
        Who::Svc(AUDIT_CALLERS),
    ),
    who(
        d("ec2", "DescribeVolumes", true, 18.0, DescribeVolumes, P::Ec2Filter),
        Who::Svc(AUDIT_CALLERS),
    ),
    nf(
        d("iam", "GetRole", true, 12.0, GetRole, P::None),
        "NoSuchEntityException",
        "The role with name cannot be found.",
    ),
    nf(
        d("dynamodb", "DescribeTable", true, 12.0, DescribeTable, P::None),
        "ResourceNotFoundException",
        "Requested resource not found",
    ),
    who(
        d("s3", "GetBucketAcl", true, 10.0, S3BucketGet("acl"), P::None),
        Who::Svc(AUDIT_CALLERS),
    ),
    d("ssm", "GetParameters", true, 10.0, GetParameters, P::None),
    who(
        d(
            "ec2",
            "DescribeNetworkInterfaces",
            true,
            16.0,
            DescribeNetworkInterfaces,
            P::Ec2Filter,
        ),
        Who::Svc(AUDIT_CALLERS),
    ),
    who(
        d("kms", "DescribeKey", true, 10.0, DescribeKey, P::None),
        Who::Svc(KMS_CALLERS),
    ),
    who(
        d("ec2", "DescribeSubnets", true, 12.0, DescribeSubnets, P::Ec2Filter),
        Who::Svc(AUDIT_CALLERS),
    ),
    d("iam", "ListRoles", true, 8.0, ListRoles, P::None),
    d("ec2", "DescribeTags", true, 8.0, DescribeTags, P::Ec2Filter),
    d("logs", "DescribeLogGroups", true, 8.0, DescribeLogGroups, P::None),
    nf(
        who(
            d("s3", "GetBucketPolicy", true, 7.0, S3BucketGet("policy"), P::None),
            Who::Svc(AUDIT_CALLERS),
        ),
        "NoSuchBucketPolicy",
        "The bucket policy does not exist",
    ),
    who(
        d(
            "s3",
            "GetBucketVersioning",
            true,
            7.0,
            S3BucketGet("versioning"),
            P::None,
        ),
        Who::Svc(AUDIT_CALLERS),
    ),
    who(
        d("ec2", "DescribeVpcs", true, 10.0, DescribeVpcs, P::Ec2Filter),
        Who::Svc(AUDIT_CALLERS),
    ),
    who(
        d("ec2", "DescribeImages", true, 7.0, DescribeImages, P::Ec2Filter),
        Who::Svc(AUDIT_CALLERS),
    ),
    d(
        "iam",
        "ListAttachedRolePolicies",
        true,
        7.0,
        ListAttachedRolePolicies,
        P::None,
    ),
    d("rds", "DescribeDBInstances", true, 7.0, DescribeDBInstances, P::Filters),
    nf(
        who(
            d(
                "s3",
                "GetBucketEncryption",
                true,
                6.0,
                S3BucketGet("encryption"),
                P::None,
            ),
            Who::Svc(AUDIT_CALLERS),
        ),
        "ServerSideEncryptionConfigurationNotFoundError",
        "The server side encryption configuration was not found",
    ),
    d("kms", "Encrypt", true, 6.0, Encrypt, P::None),
    d("lambda", "ListFunctions20150331", true, 6.0, ListFunctions, P::None),
    nf(
        d("lambda", "GetFunction20150331v2", true, 6.0, GetFunction, P::None),
        "ResourceNotFoundException",
        "Function not found",
    ),
    d("monitoring", "DescribeAlarms", true, 6.0, DescribeAlarms, P::None),
    d(
        "ecr",
        "GetAuthorizationToken",
        true,
        6.0,
        GetAuthorizationToken,
        P::None,
    ),
    who(
        d("signin", "ConsoleLogin", false, 6.0, ConsoleLogin, P::None),
        Who::SignIn,
    ),
    nf(
        who(
            d("s3", "GetBucketTagging", true, 5.0, S3BucketGet("tagging"), P::None),
            Who::Svc(AUDIT_CALLERS),
        ),
        "NoSuchTagSet",
        "The TagSet does not exist",
    ),
    who(
        d("ec2", "DescribeSnapshots", true, 5.0, DescribeSnapshots, P::Ec2Filter),
        Who::Svc(AUDIT_CALLERS),
    ),
    d("iam", "ListRolePolicies", true, 5.0, ListRolePolicies, P::None),
    nf(
        d("iam", "GetUser", true, 5.0, GetUser, P::None),
        "NoSuchEntityException",
        "The user with name cannot be found.",
    ),
    d("iam", "GetPolicyVersion", true, 5.0, GetPolicyVersion, P::None),
    d("dynamodb", "ListTables", true, 5.0, ListTables, P::None),
    d("secretsmanager", "DescribeSecret", true, 5.0, DescribeSecret, P::None),
    d(
        "elasticloadbalancing",
        "DescribeLoadBalancers",
        true,
        5.0,
        DescribeLoadBalancers,
        P::None,
    ),
    d(
        "autoscaling",
        "DescribeAutoScalingGroups",
        true,
        5.0,
        DescribeAutoScalingGroups,
        P::None,
    ),
    d("ec2", "CreateTags", false, 5.0, CreateTags, P::Ec2TagSet),
    d("iam", "ListUsers", true, 4.0, ListUsers, P::None),
    d("iam", "ListAccessKeys", true, 4.0, ListAccessKeys, P::None),
    d("kms", "ListAliases", true, 4.0, ListAliases, P::None),
    d("cloudtrail", "DescribeTrails", true, 4.0, DescribeTrails, P::None),
    nf(
        d("cloudtrail", "GetTrailStatus", true, 4.0, GetTrailStatus, P::None),
        "TrailNotFoundException",
        "Unknown trail for the user",
    ),
    d(
        "elasticloadbalancing",
        "DescribeTargetHealth",
        true,
        4.0,
        DescribeTargetHealth,
        P::None,
    ),
    d(
        "ssm",
        "DescribeInstanceInformation",
        true,
        4.0,
        DescribeInstanceInformation,
        P::Filters,
    ),
    d("cloudtrail", "LookupEvents", true, 3.0, LookupEvents, P::None),
    d(
        "dynamodb",
        "DescribeContinuousBackups",
        true,
        3.0,
        DescribeContinuousBackups,
        P::None,
    ),
    d("rds", "DescribeDBClusters", true, 3.0, DescribeDBClusters, P::Filters),
    d("secretsmanager", "ListSecrets", true, 3.0, ListSecrets, P::Filters),
    d("ec2", "StartInstances", false, 3.0, StartInstances, P::None),
    d("ec2", "StopInstances", false, 3.0, StopInstances, P::None),
    d("cloudtrail", "GetEventSelectors", true, 2.0, GetEventSelectors, P::None),
    d("ec2", "RunInstances", false, 2.0, RunInstances, P::Ec2TagSpec),
    d("ec2", "CreateSnapshot", false, 2.0, CreateSnapshot, P::Ec2TagSpec),
    who(d("kms", "RotateKey", false, 1.5, RotateKey, P::None), Who::ServiceEvent),
    d("ec2", "TerminateInstances", false, 1.5, TerminateInstances, P::None),
    d(
        "ec2",
        "AuthorizeSecurityGroupIngress",
        false,
        1.5,
        AuthorizeSecurityGroupIngress,
        P::None,
    ),
    d(
        "lambda",
        "UpdateFunctionCode20150331v2",
        false,
        1.5,
        UpdateFunctionCode,
        P::None,
    ),
    d("ssm", "PutParameter", false, 1.5, PutParameter, P::Tags),
    who(
        d(
            "ec2",
            "SharedSnapshotVolumeCreated",
            false,
            1.0,
            SharedSnapshotVolumeCreated,
            P::None,
        ),
        Who::ServiceEvent,
    ),
    d(
        "lambda",
        "UpdateFunctionConfiguration20150331v2",
        false,
        1.0,
        UpdateFunctionConfiguration,
        P::None,
    ),
    d("logs", "PutRetentionPolicy", false, 1.0, PutRetentionPolicy, P::None),
    d("monitoring", "PutMetricAlarm", false, 1.0, PutMetricAlarm, P::Tags),
    d("s3", "PutBucketPolicy", false, 0.8, PutBucketPolicy, P::None),
    d("s3", "PutBucketTagging", false, 0.8, PutBucketTagging, P::None),
    d("iam", "AttachRolePolicy", false, 0.8, AttachRolePolicy, P::None),
    d("iam", "TagRole", false, 0.8, TagRole, P::Tags),
    d("dynamodb", "UpdateTable", false, 0.8, UpdateTable, P::None),
    d("rds", "CreateDBSnapshot", false, 0.8, CreateDBSnapshot, P::Tags),
    d("secretsmanager", "PutSecretValue", false, 0.8, PutSecretValue, P::None),
    d("s3", "CreateBucket", false, 0.6, CreateBucket, P::None),
    d("iam", "CreateAccessKey", false, 0.6, CreateAccessKey, P::None),
    d("iam", "CreateRole", false, 0.6, CreateRole, P::Tags),
    d("iam", "PutRolePolicy", false, 0.6, PutRolePolicy, P::None),
    d("dynamodb", "CreateTable", false, 0.5, CreateTable, P::Tags),
    d("rds", "ModifyDBInstance", false, 0.5, ModifyDBInstance, P::None),
    d("cloudtrail", "StopLogging", false, 0.2, StopLogging, P::None),
];

/// Global services, recorded in us-east-1.
pub(crate) fn is_global(svc: &str) -> bool {
    matches!(svc, "iam" | "sts" | "signin")
}

/// `eventVersion` by service (services move to new versions at different times).
pub(crate) fn event_version(svc: &str) -> &'static str {
    match svc {
        "ec2" | "s3" | "ssm" | "secretsmanager" | "signin" => "1.09",
        _ => "1.08",
    }
}

/// Output buffers of one event.
#[derive(Default)]
pub(crate) struct Parts {
    /// `requestParameters`: empty for `null`, else an object *without* its closing brace.
    pub(crate) req: String,
    /// `responseElements`: empty for `null`.
    pub(crate) resp: String,
    /// `resources` array items (comma-separated objects), empty for none.
    pub(crate) res: String,
    /// `additionalEventData` value, empty for none.
    pub(crate) extra: String,
    /// `serviceEventDetails` value, empty for none.
    pub(crate) details: String,
    /// True when the event carries a `sharedEventID`.
    pub(crate) shared_id: bool,
}

impl Parts {
    pub(crate) fn clear(&mut self) {
        self.req.clear();
        self.resp.clear();
        self.res.clear();
        self.extra.clear();
        self.details.clear();
        self.shared_id = false;
    }
}

/// Everything a writer needs.
pub(crate) struct Ctx<'a> {
    pub(crate) r: &'a mut Rand,
    pub(crate) a: &'a Account,
    pub(crate) region: &'a str,
    /// Event time, seconds since the epoch.
    pub(crate) now: i64,
    pub(crate) p: &'a mut Parts,
}

impl Ctx<'_> {
    /// Adds a `resources` entry whose ARN is the concatenation of `arn`.
    fn resource(&mut self, ty: &str, arn: &[&str]) {
        let res = &mut self.p.res;
        if !res.is_empty() {
            res.push(',');
        }
        w!(
            res,
            r#"{"accountId":""#,
            &self.a.id,
            r#"","type":""#,
            ty,
            r#"","ARN":""#
        );
        for part in arn {
            res.push_str(part);
        }
        res.push_str("\"}");
    }

    fn s3_extra(&mut self, bytes_out: u64) {
        let e = &mut self.p.extra;
        w!(
            e,
            r#"{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":""#
        );
        self.r.base64(e, 75);
        w!(e, r#"=","bytesTransferredOut":"#);
        num(e, bytes_out);
        e.push('}');
    }
}

/// Appends a VPC-internal address.
fn private_ip(r: &mut Rand, out: &mut String) {
    w!(out, "10.");
    num(out, r.below(4) as u64);
    out.push('.');
    num(out, r.below(256) as u64);
    out.push('.');
    num(out, r.range(4, 254));
}

/// Writes the action-specific parts of one event into `c.p`.
pub(crate) fn write(op: Op, c: &mut Ctx<'_>) {
    let a = c.a;
    let acct = a.id.as_str();
    let region = c.region;
    match op {
        // ---- ec2 --------------------------------------------------------------------------------
        DescribeInstances => {
            if c.r.chance(0.5) {
                let i = a.instances.pick(c.r);
                w!(
                    &mut c.p.req,
                    r#"{"instancesSet":{"items":[{"instanceId":""#,
                    i,
                    r#""}]}"#
                );
            } else {
                w!(&mut c.p.req, r#"{"instancesSet":{},"maxResults":1000"#);
            }
        }
        DescribeInstanceStatus => {
            let i = a.instances.pick(c.r);
            w!(
                &mut c.p.req,
                r#"{"instancesSet":{"items":[{"instanceId":""#,
                i,
                r#""}]},"includeAllInstances":true"#
            );
        }
        DescribeSecurityGroups => {
            let sg = a.sgs.pick(c.r);
            w!(
                &mut c.p.req,
                r#"{"securityGroupSet":{},"securityGroupIdSet":{"items":[{"groupId":""#,
                sg,
                r#""}]}"#
            );
        }
        DescribeVolumes => {
            let v = a.volumes.pick(c.r);
            w!(&mut c.p.req, r#"{"volumeSet":{"items":[{"volumeId":""#, v, r#""}]}"#);
        }
        DescribeSubnets => w!(&mut c.p.req, r#"{"subnetSet":{}"#),
        DescribeVpcs => {
            let v = a.vpcs.pick(c.r);
            w!(&mut c.p.req, r#"{"vpcSet":{"items":[{"vpcId":""#, v, r#""}]}"#);
        }
        DescribeNetworkInterfaces => {
            let e = a.enis.pick(c.r);
            w!(
                &mut c.p.req,
                r#"{"networkInterfaceIdSet":{"items":[{"networkInterfaceId":""#,
                e,
                r#""}]}"#
            );
        }
        DescribeImages => {
            let i = a.amis.pick(c.r);
            w!(
                &mut c.p.req,
                r#"{"executableBySet":{},"imagesSet":{"items":[{"imageId":""#,
                i,
                r#""}]},"ownersSet":{},"includeDeprecated":false"#
            );
        }
        DescribeSnapshots => w!(
            &mut c.p.req,
            r#"{"snapshotSet":{},"ownersSet":{"items":[{"owner":"self"}]},"sharedUsers":{},"maxResults":1000"#
        ),
        DescribeTags => w!(&mut c.p.req, r#"{"maxResults":1000"#),
        RunInstances => {
            let ami = a.amis.pick(c.r);
            let subnet = a.subnets.pick(c.r);
            let vpc = a.vpcs.pick(c.r);
            let sg = a.sgs.pick(c.r);
            let itype =
                *c.r.pick(&["t3.micro", "t3.large", "m6i.xlarge", "c7g.2xlarge", "r6i.large"]);
            let role = a.role_of(c.r, RoleKind::Ec2);
            let req = &mut c.p.req;
            w!(
                req,
                r#"{"instancesSet":{"items":[{"imageId":""#,
                ami,
                r#"","minCount":1,"maxCount":1}]},"instanceType":""#
            );
            w!(
                req,
                itype,
                r#"","blockDeviceMapping":{},"monitoring":{"enabled":false},"disableApiTermination":false,"disableApiStop":false,"clientToken":""#
            );
            c.r.uuid_upper(req);
            w!(
                req,
                r#"","subnetId":""#,
                subnet,
                r#"","iamInstanceProfile":{"name":""#,
                &role.name,
                r#""},"ebsOptimized":false"#
            );
            let inst = a.instances.pick(c.r);
            let resp = &mut c.p.resp;
            w!(resp, r#"{"requestId":""#);
            c.r.uuid(resp);
            w!(resp, r#"","reservationId":"r-0"#);
            c.r.hex(resp, 16);
            w!(
                resp,
                r#"","ownerId":""#,
                acct,
                r#"","groupSet":{},"instancesSet":{"items":[{"instanceId":""#,
                inst
            );
            w!(
                resp,
                r#"","imageId":""#,
                ami,
                r#"","instanceState":{"code":0,"name":"pending"},"privateDnsName":"ip-10-"#
            );
            let mut ip = String::with_capacity(16);
            private_ip(c.r, &mut ip);
            resp.push_str(&ip[3..].replace('.', "-"));
            w!(
                resp,
                r#".ec2.internal","amiLaunchIndex":0,"productCodes":{},"instanceType":""#,
                itype,
                r#"","launchTime":"#
            );
            inum(resp, c.now * 1000);
            w!(
                resp,
                r#","placement":{"availabilityZone":""#,
                region,
                ["a", "b", "c"][c.r.below(3)]
            );
            w!(
                resp,
                r#"","tenancy":"default"},"monitoring":{"state":"disabled"},"subnetId":""#,
                subnet,
                r#"","vpcId":""#,
                vpc
            );
            w!(
                resp,
                r#"","privateIpAddress":""#,
                &ip,
                r#"","stateReason":{"code":"pending","message":"pending"},"architecture":"x86_64","rootDeviceType":"ebs","rootDeviceName":"/dev/xvda","blockDeviceMapping":{},"virtualizationType":"hvm","hypervisor":"xen","groupSet":{"items":[{"groupId":""#,
                sg
            );
            w!(
                resp,
                r#"","groupName":"default"}]},"sourceDestCheck":true,"ebsOptimized":false,"enaSupport":true,"cpuOptions":{"coreCount":1,"threadsPerCore":2},"metadataOptions":{"state":"pending","httpTokens":"required","httpPutResponseHopLimit":2,"httpEndpoint":"enabled"}}]}}"#
            );
            c.resource(
                "AWS::EC2::Instance",
                &["arn:aws:ec2:", region, ":", acct, ":instance/", inst],
            );
        }
        StartInstances | StopInstances | TerminateInstances => {
            let n = 1 + usize::from(c.r.chance(0.2)) + usize::from(c.r.chance(0.1));
            let (cur, prev) = match op {
                StartInstances => (r#"{"code":0,"name":"pending"}"#, r#"{"code":80,"name":"stopped"}"#),
                StopInstances => (r#"{"code":64,"name":"stopping"}"#, r#"{"code":16,"name":"running"}"#),
                _ => (
                    r#"{"code":32,"name":"shutting-down"}"#,
                    r#"{"code":16,"name":"running"}"#,
                ),
            };
            w!(&mut c.p.req, r#"{"instancesSet":{"items":["#);
            w!(&mut c.p.resp, r#"{"requestId":""#);
            c.r.uuid(&mut c.p.resp);
            w!(&mut c.p.resp, r#"","instancesSet":{"items":["#);
            for k in 0..n {
                let i = a.instances.pick(c.r);
                if k > 0 {
                    c.p.req.push(',');
                    c.p.resp.push(',');
                }
                w!(&mut c.p.req, r#"{"instanceId":""#, i, r#""}"#);
                w!(
                    &mut c.p.resp,
                    r#"{"instanceId":""#,
                    i,
                    r#"","currentState":"#,
                    cur,
                    r#","previousState":"#,
                    prev,
                    "}"
                );
                c.resource(
                    "AWS::EC2::Instance",
                    &["arn:aws:ec2:", region, ":", acct, ":instance/", i],
                );
            }
            w!(&mut c.p.req, "]}");
            if op == StopInstances {
                w!(&mut c.p.req, r#","force":false"#);
            }
            w!(&mut c.p.resp, "]}}");
        }
        CreateTags => {
            let i = a.instances.pick(c.r);
            w!(
                &mut c.p.req,
                r#"{"resourcesSet":{"items":[{"resourceId":""#,
                i,
                r#""}]}"#
            );
            w!(&mut c.p.resp, r#"{"requestId":""#);
            c.r.uuid(&mut c.p.resp);
            w!(&mut c.p.resp, r#"","_return":true}"#);
        }
        AuthorizeSecurityGroupIngress => {
            let sg = a.sgs.pick(c.r);
            let port = *c.r.pick(&["443", "22", "5432", "6379", "8080", "3306"]);
            let cidr = *c.r.pick(&["10.0.0.0/16", "10.1.0.0/16", "0.0.0.0/0", "172.16.0.0/12"]);
            w!(
                &mut c.p.req,
                r#"{"groupId":""#,
                sg,
                r#"","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":"#,
                port
            );
            w!(
                &mut c.p.req,
                r#","toPort":"#,
                port,
                r#","groups":{},"ipRanges":{"items":[{"cidrIp":""#,
                cidr
            );
            w!(&mut c.p.req, r#""}]},"ipv6Ranges":{},"prefixListIds":{}}]}"#);
            let resp = &mut c.p.resp;
            w!(resp, r#"{"requestId":""#);
            c.r.uuid(resp);
            w!(
                resp,
                r#"","_return":true,"securityGroupRuleSet":{"items":[{"groupOwnerId":""#,
                acct,
                r#"","groupId":""#,
                sg
            );
            w!(resp, r#"","securityGroupRuleId":"sgr-0"#);
            c.r.hex(resp, 16);
            w!(
                resp,
                r#"","isEgress":false,"ipProtocol":"tcp","fromPort":"#,
                port,
                r#","toPort":"#,
                port
            );
            w!(resp, r#","cidrIpv4":""#, cidr, r#""}]}}"#);
            c.resource(
                "AWS::EC2::SecurityGroup",
                &["arn:aws:ec2:", region, ":", acct, ":security-group/", sg],
            );
        }
        CreateSnapshot => {
            let v = a.volumes.pick(c.r);
            let desc =
                *c.r.pick(&["Created by AWS Backup", "nightly snapshot", "pre-upgrade backup", ""]);
            w!(&mut c.p.req, r#"{"volumeId":""#, v, r#"","description":""#, desc, "\"");
            let resp = &mut c.p.resp;
            w!(resp, r#"{"requestId":""#);
            c.r.uuid(resp);
            w!(resp, r#"","snapshotId":"snap-0"#);
            c.r.hex(resp, 16);
            w!(resp, r#"","volumeId":""#, v, r#"","status":"pending","startTime":"#);
            inum(resp, c.now * 1000);
            w!(
                resp,
                r#","progress":"","ownerId":""#,
                acct,
                r#"","description":""#,
                desc,
                r#"","volumeSize":"#
            );
            num(resp, [8, 20, 50, 100, 500][c.r.below(5)]);
            w!(resp, r#","encrypted":true}"#);
        }
        SharedSnapshotVolumeCreated => {
            let s = a.snapshots.pick(c.r);
            w!(&mut c.p.details, r#"{"snapshotId":""#, s, r#""}"#);
            c.p.shared_id = true;
        }

        // ---- s3 ---------------------------------------------------------------------------------
        ListBuckets => {
            w!(&mut c.p.req, r#"{"Host":"s3.amazonaws.com""#);
            let out = 400 + 180 * a.buckets.items.len() as u64;
            c.s3_extra(out);
        }
        S3BucketGet(sub) => {
            let b = a.buckets.pick(c.r);
            w!(
                &mut c.p.req,
                r#"{"bucketName":""#,
                b,
                r#"","Host":""#,
                b,
                ".s3.",
                region,
                r#".amazonaws.com",""#,
                sub,
                r#"":"""#
            );
            let out = c.r.range(120, 2400);
            c.s3_extra(out);
            c.resource("AWS::S3::Bucket", &["arn:aws:s3:::", b]);
        }
        PutBucketPolicy => {
            let b = a.buckets.pick(c.r);
            let req = &mut c.p.req;
            w!(
                req,
                r#"{"bucketPolicy":{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::"#,
                b
            );
            w!(
                req,
                r#"","arn:aws:s3:::"#,
                b,
                r#"/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]},"bucketName":""#,
                b
            );
            w!(
                req,
                r#"","Host":""#,
                b,
                ".s3.",
                region,
                r#".amazonaws.com","policy":"""#
            );
            c.s3_extra(0);
            c.resource("AWS::S3::Bucket", &["arn:aws:s3:::", b]);
        }
        CreateBucket => {
            let b = a.buckets.pick(c.r);
            w!(
                &mut c.p.req,
                r#"{"CreateBucketConfiguration":{"LocationConstraint":""#,
                region
            );
            w!(
                &mut c.p.req,
                r#"","xmlns":"http://s3.amazonaws.com/doc/2006-03-01/"},"bucketName":""#,
                b,
                r#"","Host":""#,
                b
            );
            w!(&mut c.p.req, ".s3.", region, r#".amazonaws.com""#);
            c.s3_extra(0);
            c.resource("AWS::S3::Bucket", &["arn:aws:s3:::", b]);
        }
        PutBucketTagging => {
            let b = a.buckets.pick(c.r);
            w!(&mut c.p.req, r#"{"Tagging":{"TagSet":{"Tag":["#);
            let n = c.r.range(1, 6);
            for k in 0..n {
                let (key, v) = a.tag(c.r);
                if k > 0 {
                    c.p.req.push(',');
                }
                w!(&mut c.p.req, r#"{"Key":""#, key, r#"","Value":""#, v, r#""}"#);
            }
            w!(
                &mut c.p.req,
                r#"]},"xmlns":"http://s3.amazonaws.com/doc/2006-03-01/"},"bucketName":""#,
                b
            );
            w!(
                &mut c.p.req,
                r#"","Host":""#,
                b,
                ".s3.",
                region,
                r#".amazonaws.com","tagging":"""#
            );
            c.s3_extra(0);
            c.resource("AWS::S3::Bucket", &["arn:aws:s3:::", b]);
        }

        // ---- iam --------------------------------------------------------------------------------
        GetUser => {
            let u = a.user(c.r);
            w!(&mut c.p.req, r#"{"userName":""#, &u.name, "\"");
        }
        ListUsers => w!(&mut c.p.req, r#"{"maxItems":100"#),
        ListRoles => {
            if c.r.chance(0.5) {
                w!(&mut c.p.req, r#"{"maxItems":1000"#);
            } else {
                w!(&mut c.p.req, r#"{"pathPrefix":"/","maxItems":100"#);
            }
        }
        GetRole | ListAttachedRolePolicies | ListRolePolicies => {
            let role = a.role(c.r);
            w!(&mut c.p.req, r#"{"roleName":""#, &role.name, "\"");
        }
        GetPolicyVersion => {
            let p = a.policies.pick(c.r);
            w!(&mut c.p.req, r#"{"policyArn":""#, p, r#"","versionId":"v"#);
            num(&mut c.p.req, c.r.range(1, 9));
            c.p.req.push('"');
        }
        ListAccessKeys => {
            let u = a.user(c.r);
            w!(&mut c.p.req, r#"{"userName":""#, &u.name, "\"");
        }
        CreateAccessKey => {
            let u = a.user(c.r);
            w!(&mut c.p.req, r#"{"userName":""#, &u.name, "\"");
            let resp = &mut c.p.resp;
            w!(
                resp,
                r#"{"accessKey":{"userName":""#,
                &u.name,
                r#"","accessKeyId":"AKIA"#
            );
            c.r.upper_alnum(resp, 16);
            w!(resp, r#"","status":"Active","createDate":""#);
            human_time(resp, c.now);
            w!(resp, r#""}}"#);
        }
        AttachRolePolicy => {
            let role = a.role(c.r);
            let p = a.policies.pick(c.r);
            w!(
                &mut c.p.req,
                r#"{"roleName":""#,
                &role.name,
                r#"","policyArn":""#,
                p,
                "\""
            );
        }
        CreateRole => {
            let app = *c.r.pick(crate::pop::APPS);
            let env = *c.r.pick(crate::pop::ENVS);
            let svc = *c.r.pick(&["lambda", "ec2", "ecs-tasks", "states", "events"]);
            let req = &mut c.p.req;
            w!(
                req,
                r#"{"roleName":""#,
                app,
                "-",
                env,
                "-",
                svc,
                r#"-role","assumeRolePolicyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\""#
            );
            w!(
                req,
                svc,
                r#".amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}","description":"Execution role for "#,
                app,
                r#" "#,
                env,
                "\""
            );
            let resp = &mut c.p.resp;
            w!(
                resp,
                r#"{"role":{"path":"/","roleName":""#,
                app,
                "-",
                env,
                "-",
                svc,
                r#"-role","roleId":"AROA"#
            );
            c.r.upper_alnum(resp, 17);
            w!(
                resp,
                r#"","arn":"arn:aws:iam::"#,
                acct,
                ":role/",
                app,
                "-",
                env,
                "-",
                svc,
                r#"-role","createDate":""#
            );
            human_time(resp, c.now);
            w!(
                resp,
                r#"","assumeRolePolicyDocument":"%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22"#
            );
            w!(
                resp,
                svc,
                r#".amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D"}}"#
            );
        }
        PutRolePolicy => {
            let role = a.role(c.r);
            let b = a.buckets.pick(c.r);
            let req = &mut c.p.req;
            w!(
                req,
                r#"{"roleName":""#,
                &role.name,
                r#"","policyName":""#,
                &role.name,
                r#"-inline","policyDocument":"{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Action\": [\"s3:GetObject\", \"s3:PutObject\"],\n      \"Resource\": \"arn:aws:s3:::"#
            );
            w!(req, b, r#"/*\"\n    }\n  ]\n}""#);
        }
        TagRole => {
            let role = a.role(c.r);
            w!(&mut c.p.req, r#"{"roleName":""#, &role.name, "\"");
        }

        // ---- sts --------------------------------------------------------------------------------
        AssumeRole => {
            let role = a.role(c.r);
            let s = role.session(c.r);
            let req = &mut c.p.req;
            w!(
                req,
                r#"{"roleArn":""#,
                &role.arn,
                r#"","roleSessionName":""#,
                &s.name,
                r#"","durationSeconds":"#
            );
            req.push_str(["3600", "3600", "900", "43200"][c.r.below(4)]);
            let resp = &mut c.p.resp;
            w!(
                resp,
                r#"{"credentials":{"accessKeyId":""#,
                &s.key,
                r#"","sessionToken":"IQoJb3JpZ2luX2VjE"#
            );
            c.r.base64(resp, 150);
            w!(resp, r#"","expiration":""#);
            human_time(resp, c.now + 3600);
            w!(
                resp,
                r#""},"assumedRoleUser":{"assumedRoleId":""#,
                &role.role_id,
                ":",
                &s.name,
                r#"","arn":""#,
                &s.arn,
                r#""}}"#
            );
            c.resource("AWS::IAM::Role", &[&role.arn]);
        }
        GetCallerIdentity => {}

        // ---- kms --------------------------------------------------------------------------------
        Decrypt | GenerateDataKey => {
            let key = a.kms_keys.pick(c.r);
            let req = &mut c.p.req;
            if op == GenerateDataKey {
                w!(
                    req,
                    r#"{"keyId":"arn:aws:kms:"#,
                    region,
                    ":",
                    acct,
                    ":key/",
                    key,
                    r#"","keySpec":"AES_256","#
                );
            } else {
                w!(req, r#"{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","#);
            }
            w!(req, r#""encryptionContext":{"#);
            match c.r.below(6) {
                0 => {
                    let f = a.functions.pick(c.r);
                    w!(
                        req,
                        r#""aws:lambda:FunctionArn":"arn:aws:lambda:"#,
                        region,
                        ":",
                        acct,
                        ":function:",
                        f,
                        "\""
                    );
                }
                1 => {
                    let s = a.secret(c.r);
                    w!(
                        req,
                        r#""SecretARN":"arn:aws:secretsmanager:"#,
                        region,
                        ":",
                        acct,
                        ":secret:",
                        &s.name,
                        "-"
                    );
                    w!(req, &s.arn_suffix, r#"","SecretVersionId":""#);
                    c.r.uuid_upper(req);
                    req.push('"');
                }
                2 => {
                    let b = a.buckets.pick(c.r);
                    w!(req, r#""aws:s3:arn":"arn:aws:s3:::"#, b, "/");
                    iso_time(req, c.now - c.r.range(0, 86_400 * 30) as i64);
                    req.truncate(req.len() - 10); // keep the date
                    w!(req, "/part-");
                    c.r.digits(req, 5);
                    w!(req, r#".json.gz""#);
                }
                3 => {
                    let v = a.volumes.pick(c.r);
                    w!(req, r#""aws:ebs:id":""#, v, "\"");
                }
                4 => {
                    let p = a.params.pick(c.r);
                    w!(
                        req,
                        r#""PARAMETER_ARN":"arn:aws:ssm:"#,
                        region,
                        ":",
                        acct,
                        ":parameter",
                        p,
                        "\""
                    );
                }
                _ => {
                    let t = a.tables.pick(c.r);
                    w!(
                        req,
                        r#""aws:dynamodb:tableName":""#,
                        t,
                        r#"","aws:dynamodb:subscriberId":""#,
                        acct,
                        "\""
                    );
                }
            }
            req.push('}');
            c.resource("AWS::KMS::Key", &["arn:aws:kms:", region, ":", acct, ":key/", key]);
        }
        Encrypt => {
            let al = a.kms_aliases.pick(c.r);
            let key = a.kms_keys.pick(c.r);
            w!(
                &mut c.p.req,
                r#"{"keyId":""#,
                al,
                r#"","encryptionAlgorithm":"SYMMETRIC_DEFAULT""#
            );
            c.resource("AWS::KMS::Key", &["arn:aws:kms:", region, ":", acct, ":key/", key]);
        }
        DescribeKey => {
            let key = a.kms_keys.pick(c.r);
            if c.r.chance(0.5) {
                let al = a.kms_aliases.pick(c.r);
                w!(&mut c.p.req, r#"{"keyId":""#, al, "\"");
            } else {
                w!(&mut c.p.req, r#"{"keyId":""#, key, "\"");
            }
            c.resource("AWS::KMS::Key", &["arn:aws:kms:", region, ":", acct, ":key/", key]);
        }
        ListAliases => {
            if c.r.chance(0.5) {
                w!(&mut c.p.req, r#"{"limit":100"#);
            }
        }
        RotateKey => {
            let key = a.kms_keys.pick(c.r);
            w!(&mut c.p.extra, r#"{"keyId":""#, key, r#""}"#);
            c.resource("AWS::KMS::Key", &["arn:aws:kms:", region, ":", acct, ":key/", key]);
        }

        // ---- lambda -----------------------------------------------------------------------------
        ListFunctions => {
            if c.r.chance(0.5) {
                w!(&mut c.p.req, r#"{"maxItems":50"#);
            }
        }
        GetFunction => {
            let f = a.functions.pick(c.r);
            w!(&mut c.p.req, r#"{"functionName":""#, f, "\"");
        }
        UpdateFunctionCode | UpdateFunctionConfiguration => {
            let f = a.functions.pick(c.r);
            let b = a.buckets.pick(c.r);
            let role = a.role_of(c.r, RoleKind::Lambda);
            let req = &mut c.p.req;
            w!(req, r#"{"functionName":""#, f);
            if op == UpdateFunctionCode {
                w!(req, r#"","s3Bucket":""#, b, r#"","s3Key":"builds/"#, f, "/");
                c.r.hex(req, 40);
                w!(req, r#".zip","publish":true,"dryRun":false"#);
            } else {
                w!(
                    req,
                    r#"","memorySize":"#,
                    ["256", "512", "1024", "2048"][c.r.below(4)],
                    r#","timeout":"#
                );
                w!(req, ["15", "30", "60", "300"][c.r.below(4)], r#","environment":{}"#);
            }
            let resp = &mut c.p.resp;
            w!(
                resp,
                r#"{"functionName":""#,
                f,
                r#"","functionArn":"arn:aws:lambda:"#,
                region,
                ":",
                acct,
                ":function:",
                f
            );
            w!(
                resp,
                r#"","runtime":""#,
                ["python3.12", "nodejs20.x", "java21", "provided.al2023"][c.r.below(4)]
            );
            w!(
                resp,
                r#"","role":""#,
                &role.arn,
                r#"","handler":"app.handler","codeSize":"#
            );
            num(resp, c.r.range(2_000, 40_000_000));
            w!(
                resp,
                r#","description":"","timeout":30,"memorySize":512,"lastModified":""#
            );
            iso_time(resp, c.now);
            resp.truncate(resp.len() - 1);
            w!(resp, r#".000+0000","codeSha256":""#);
            c.r.base64(resp, 43);
            w!(
                resp,
                r#"=","version":"$LATEST","tracingConfig":{"mode":"PassThrough"},"revisionId":""#
            );
            c.r.uuid(resp);
            w!(
                resp,
                r#"","state":"Active","lastUpdateStatus":"InProgress","packageType":"Zip","architectures":["arm64"],"ephemeralStorage":{"size":512}}"#
            );
            c.resource(
                "AWS::Lambda::Function",
                &["arn:aws:lambda:", region, ":", acct, ":function:", f],
            );
        }

        // ---- cloudtrail -------------------------------------------------------------------------
        DescribeTrails => w!(&mut c.p.req, r#"{"trailNameList":[],"includeShadowTrails":true"#),
        GetTrailStatus | StopLogging | GetEventSelectors => {
            let t = a.trails.pick(c.r);
            let key = if op == GetEventSelectors { "trailName" } else { "name" };
            w!(
                &mut c.p.req,
                "{\"",
                key,
                r#"":"arn:aws:cloudtrail:"#,
                region,
                ":",
                acct,
                ":trail/",
                t,
                "\""
            );
            c.resource(
                "AWS::CloudTrail::Trail",
                &["arn:aws:cloudtrail:", region, ":", acct, ":trail/", t],
            );
        }
        LookupEvents => {
            let attr = *c.r.pick(&[
                ("EventName", "ConsoleLogin"),
                ("EventName", "StopLogging"),
                ("EventSource", "iam.amazonaws.com"),
                ("ReadOnly", "false"),
            ]);
            let req = &mut c.p.req;
            w!(
                req,
                r#"{"maxResults":50,"lookupAttributes":[{"attributeKey":""#,
                attr.0,
                r#"","attributeValue":""#,
                attr.1
            );
            w!(req, r#""}],"startTime":""#);
            human_time(req, c.now - 86_400);
            w!(req, r#"","endTime":""#);
            human_time(req, c.now);
            req.push('"');
        }

        // ---- dynamodb ---------------------------------------------------------------------------
        DescribeTable | DescribeContinuousBackups => {
            let t = a.tables.pick(c.r);
            w!(&mut c.p.req, r#"{"tableName":""#, t, "\"");
            c.resource(
                "AWS::DynamoDB::Table",
                &["arn:aws:dynamodb:", region, ":", acct, ":table/", t],
            );
        }
        ListTables => {
            if c.r.chance(0.3) {
                w!(&mut c.p.req, r#"{"limit":100"#);
            }
        }
        CreateTable => {
            let t = a.tables.pick(c.r);
            let req = &mut c.p.req;
            w!(
                req,
                r#"{"tableName":""#,
                t,
                r#"","attributeDefinitions":[{"attributeName":"pk","attributeType":"S"},{"attributeName":"sk","attributeType":"S"}],"keySchema":[{"attributeName":"pk","keyType":"HASH"},{"attributeName":"sk","keyType":"RANGE"}],"billingMode":"PAY_PER_REQUEST","sSESpecification":{"enabled":true}"#
            );
            let resp = &mut c.p.resp;
            w!(
                resp,
                r#"{"tableDescription":{"attributeDefinitions":[{"attributeName":"pk","attributeType":"S"},{"attributeName":"sk","attributeType":"S"}],"tableName":""#,
                t
            );
            w!(
                resp,
                r#"","keySchema":[{"attributeName":"pk","keyType":"HASH"},{"attributeName":"sk","keyType":"RANGE"}],"tableStatus":"CREATING","creationDateTime":""#
            );
            human_time(resp, c.now);
            w!(
                resp,
                r#"","provisionedThroughput":{"numberOfDecreasesToday":0,"readCapacityUnits":0,"writeCapacityUnits":0},"tableSizeBytes":0,"itemCount":0,"tableArn":"arn:aws:dynamodb:"#
            );
            w!(resp, region, ":", acct, ":table/", t, r#"","tableId":""#);
            c.r.uuid(resp);
            w!(
                resp,
                r#"","billingModeSummary":{"billingMode":"PAY_PER_REQUEST"},"deletionProtectionEnabled":false}}"#
            );
            c.resource(
                "AWS::DynamoDB::Table",
                &["arn:aws:dynamodb:", region, ":", acct, ":table/", t],
            );
        }
        UpdateTable => {
            let t = a.tables.pick(c.r);
            w!(
                &mut c.p.req,
                r#"{"tableName":""#,
                t,
                r#"","billingMode":"PAY_PER_REQUEST""#
            );
            w!(
                &mut c.p.resp,
                r#"{"tableDescription":{"tableName":""#,
                t,
                r#"","tableStatus":"UPDATING","tableArn":"arn:aws:dynamodb:"#
            );
            w!(&mut c.p.resp, region, ":", acct, ":table/", t, r#""}}"#);
            c.resource(
                "AWS::DynamoDB::Table",
                &["arn:aws:dynamodb:", region, ":", acct, ":table/", t],
            );
        }

        // ---- rds --------------------------------------------------------------------------------
        DescribeDBInstances => {
            if c.r.chance(0.5) {
                let db = a.dbs.pick(c.r);
                w!(&mut c.p.req, r#"{"dBInstanceIdentifier":""#, db, "\"");
            } else {
                w!(&mut c.p.req, r#"{"maxRecords":100"#);
            }
        }
        DescribeDBClusters => w!(&mut c.p.req, r#"{"includeShared":false"#),
        CreateDBSnapshot => {
            let db = a.dbs.pick(c.r);
            let req = &mut c.p.req;
            w!(req, r#"{"dBSnapshotIdentifier":""#, db, "-manual-");
            iso_time(req, c.now);
            req.truncate(req.len() - 10);
            w!(req, r#"","dBInstanceIdentifier":""#, db, "\"");
            let key = a.kms_keys.pick(c.r);
            let resp = &mut c.p.resp;
            w!(
                resp,
                r#"{"dBSnapshotIdentifier":""#,
                db,
                r#"-manual","dBInstanceIdentifier":""#,
                db
            );
            w!(
                resp,
                r#"","engine":"postgres","allocatedStorage":100,"status":"creating","port":5432,"availabilityZone":""#,
                region,
                "a"
            );
            w!(
                resp,
                r#"","masterUsername":"postgres","engineVersion":"15.5","licenseModel":"postgresql-license","snapshotType":"manual","percentProgress":0,"storageType":"gp3","encrypted":true,"kmsKeyId":"arn:aws:kms:"#
            );
            w!(
                resp,
                region,
                ":",
                acct,
                ":key/",
                key,
                r#"","dBSnapshotArn":"arn:aws:rds:"#,
                region,
                ":",
                acct,
                ":snapshot:",
                db
            );
            w!(
                resp,
                r#"-manual","iAMDatabaseAuthenticationEnabled":false,"dbiResourceId":"db-"#
            );
            c.r.upper_alnum(resp, 26);
            w!(resp, r#""}"#);
            c.resource("AWS::RDS::DBInstance", &["arn:aws:rds:", region, ":", acct, ":db:", db]);
        }
        ModifyDBInstance => {
            let db = a.dbs.pick(c.r);
            let class =
                *c.r.pick(&["db.r6g.large", "db.r6g.xlarge", "db.t4g.medium", "db.m6i.large"]);
            w!(
                &mut c.p.req,
                r#"{"dBInstanceIdentifier":""#,
                db,
                r#"","dBInstanceClass":""#,
                class,
                r#"","applyImmediately":false"#
            );
            w!(
                &mut c.p.resp,
                r#"{"dBInstanceIdentifier":""#,
                db,
                r#"","dBInstanceClass":""#,
                class
            );
            w!(
                &mut c.p.resp,
                r#"","engine":"postgres","dBInstanceStatus":"available","pendingModifiedValues":{"dBInstanceClass":""#,
                class,
                r#""}}"#
            );
            c.resource("AWS::RDS::DBInstance", &["arn:aws:rds:", region, ":", acct, ":db:", db]);
        }

        // ---- ssm --------------------------------------------------------------------------------
        UpdateInstanceInformation => {
            let k = a.instances.pick_idx(c.r);
            let i = a.instances.items[k].as_str();
            let ip = a.instance_ips[k].as_str();
            let req = &mut c.p.req;
            w!(
                req,
                r#"{"instanceId":""#,
                i,
                r#"","agentVersion":"3.2.1630.0","agentStatus":"Active","platformType":"Linux","platformName":"Amazon Linux","platformVersion":"2023","iPAddress":""#,
                ip
            );
            w!(
                req,
                r#"","computerName":"ip-"#,
                &ip.replace('.', "-"),
                r#".ec2.internal","agentName":"amazon-ssm-agent","availabilityZone":""#
            );
            w!(
                req,
                region,
                ["a", "b", "c"][c.r.below(3)],
                r#"","sSMConnectionChannel":"ssmmessages""#
            );
        }
        ListInstanceAssociations => {
            let i = a.instances.pick(c.r);
            w!(&mut c.p.req, r#"{"instanceId":""#, i, r#"","maxResults":20"#);
        }
        GetParameter => {
            let p = a.params.pick(c.r);
            w!(
                &mut c.p.req,
                r#"{"name":""#,
                p,
                r#"","withDecryption":"#,
                ["true", "false"][c.r.below(2)]
            );
        }
        GetParameters => {
            w!(&mut c.p.req, r#"{"names":["#);
            let n = c.r.range(2, 5);
            for k in 0..n {
                let p = a.params.pick(c.r);
                if k > 0 {
                    c.p.req.push(',');
                }
                w!(&mut c.p.req, "\"", p, "\"");
            }
            w!(&mut c.p.req, r#"],"withDecryption":true"#);
        }
        DescribeInstanceInformation => w!(&mut c.p.req, r#"{"maxResults":50"#),
        PutParameter => {
            let p = a.params.pick(c.r);
            let al = a.kms_aliases.pick(c.r);
            w!(
                &mut c.p.req,
                r#"{"name":""#,
                p,
                r#"","type":"SecureString","overwrite":true,"keyId":""#,
                al,
                "\""
            );
            w!(&mut c.p.resp, r#"{"version":"#);
            num(&mut c.p.resp, c.r.range(1, 40));
            w!(&mut c.p.resp, r#","tier":"Standard"}"#);
        }

        // ---- secretsmanager ---------------------------------------------------------------------
        GetSecretValue | DescribeSecret | PutSecretValue => {
            let s = a.secret(c.r);
            if c.r.chance(0.5) {
                w!(&mut c.p.req, r#"{"secretId":""#, &s.name, "\"");
            } else {
                w!(
                    &mut c.p.req,
                    r#"{"secretId":"arn:aws:secretsmanager:"#,
                    region,
                    ":",
                    acct,
                    ":secret:",
                    &s.name
                );
                w!(&mut c.p.req, "-", &s.arn_suffix, "\"");
            }
            if op == PutSecretValue {
                w!(&mut c.p.req, r#","clientRequestToken":""#);
                c.r.uuid(&mut c.p.req);
                c.p.req.push('"');
                let resp = &mut c.p.resp;
                w!(
                    resp,
                    r#"{"arn":"arn:aws:secretsmanager:"#,
                    region,
                    ":",
                    acct,
                    ":secret:",
                    &s.name,
                    "-",
                    &s.arn_suffix
                );
                w!(resp, r#"","name":""#, &s.name, r#"","versionId":""#);
                c.r.uuid(resp);
                w!(resp, r#"","versionStages":["AWSCURRENT"]}"#);
            }
        }
        ListSecrets => w!(&mut c.p.req, r#"{"maxResults":100"#),

        // ---- logs -------------------------------------------------------------------------------
        CreateLogStream => {
            let g = a.log_groups.pick(c.r);
            let req = &mut c.p.req;
            w!(req, r#"{"logGroupName":""#, g, r#"","logStreamName":""#);
            if g.starts_with("/aws/lambda/") {
                iso_time(req, c.now);
                req.truncate(req.len() - 10);
                // 2024-05-01 -> 2024/05/01
                let n = req.len();
                let date = req[n - 10..].replace('-', "/");
                req.replace_range(n - 10.., &date);
                w!(req, "/[$LATEST]");
                c.r.hex(req, 32);
            } else {
                w!(req, "ecs/app/");
                c.r.hex(req, 32);
            }
            req.push('"');
        }
        DescribeLogGroups => {
            let p = *c.r.pick(&["/aws/lambda/", "/ecs/", "/aws/rds/"]);
            w!(&mut c.p.req, r#"{"logGroupNamePrefix":""#, p, "\"");
        }
        PutRetentionPolicy => {
            let g = a.log_groups.pick(c.r);
            let days = *c.r.pick(&["7", "14", "30", "90", "365"]);
            w!(&mut c.p.req, r#"{"logGroupName":""#, g, r#"","retentionInDays":"#, days);
        }

        // ---- monitoring -------------------------------------------------------------------------
        DescribeAlarms => {
            if c.r.chance(0.5) {
                let al = a.alarms.pick(c.r);
                w!(&mut c.p.req, r#"{"alarmNames":[""#, al, r#""],"maxRecords":100"#);
            } else {
                w!(&mut c.p.req, r#"{"stateValue":"ALARM","maxRecords":100"#);
            }
        }
        PutMetricAlarm => {
            let al = a.alarms.pick(c.r);
            let i = a.instances.pick(c.r);
            let req = &mut c.p.req;
            w!(
                req,
                r#"{"alarmName":""#,
                al,
                r#"","metricName":"CPUUtilization","namespace":"AWS/EC2","statistic":"Average","dimensions":[{"name":"InstanceId","value":""#,
                i
            );
            w!(
                req,
                r#""}],"period":300,"evaluationPeriods":3,"threshold":80.0,"comparisonOperator":"GreaterThanThreshold","alarmActions":["arn:aws:sns:"#,
                region,
                ":",
                acct,
                r#":ops-alerts"]"#
            );
        }

        // ---- elb, autoscaling, ecr --------------------------------------------------------------
        DescribeLoadBalancers => {
            if c.r.chance(0.5) {
                let lb = a.lbs.pick(c.r);
                w!(
                    &mut c.p.req,
                    r#"{"loadBalancerArns":["arn:aws:elasticloadbalancing:"#,
                    region,
                    ":",
                    acct,
                    ":loadbalancer/",
                    lb,
                    r#""]"#
                );
            } else {
                w!(&mut c.p.req, r#"{"pageSize":400"#);
            }
        }
        DescribeTargetHealth => {
            let lb = a.lbs.pick(c.r);
            let name = lb.split('/').nth(1).unwrap_or(lb);
            w!(
                &mut c.p.req,
                r#"{"targetGroupArn":"arn:aws:elasticloadbalancing:"#,
                region,
                ":",
                acct,
                ":targetgroup/",
                name,
                "-tg/"
            );
            c.r.hex(&mut c.p.req, 16);
            c.p.req.push('"');
        }
        DescribeAutoScalingGroups => {
            if c.r.chance(0.5) {
                let g = a.asgs.pick(c.r);
                w!(&mut c.p.req, r#"{"autoScalingGroupNames":[""#, g, r#""]"#);
            } else {
                w!(&mut c.p.req, r#"{"maxRecords":100"#);
            }
        }
        GetAuthorizationToken => {
            if c.r.chance(0.3) {
                w!(&mut c.p.req, r#"{"registryIds":[""#, acct, r#""]"#);
            }
        }

        // ---- signin -----------------------------------------------------------------------------
        ConsoleLogin => {
            w!(&mut c.p.resp, r#"{"ConsoleLogin":"Success"}"#);
            w!(
                &mut c.p.extra,
                r#"{"LoginTo":"https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true","MobileVersion":"No","MFAUsed":""#
            );
            w!(&mut c.p.extra, ["Yes", "No"][c.r.below(2)], r#""}"#);
        }
    }
}

/// Appends padding to `req` (an open object) in the style `pad` until it is `budget` bytes longer.
pub(crate) fn pad(kind: Pad, budget: usize, r: &mut Rand, a: &Account, req: &mut String) {
    let min_items = usize::from(kind == Pad::Ec2TagSet);
    if kind == Pad::None || req.is_empty() || (budget < 40 && min_items == 0) {
        return;
    }
    let start = req.len();
    if req.len() > 1 {
        req.push(',');
    }
    match kind {
        Pad::Ec2Filter => w!(req, r#""filterSet":{"items":["#),
        Pad::Ec2TagSpec => {
            let ty = *r.pick(&["instance", "volume", "network-interface"]);
            w!(
                req,
                r#""tagSpecificationSet":{"items":[{"resourceType":""#,
                ty,
                r#"","tags":["#
            );
        }
        Pad::Ec2TagSet => w!(req, r#""tagSet":{"items":["#),
        Pad::Tags => w!(req, r#""tags":["#),
        Pad::Filters => w!(req, r#""filters":["#),
        Pad::None => {}
    }
    let mut n = 0;
    while n < min_items || (req.len() - start + 4 < budget && n < 200) {
        if n > 0 {
            req.push(',');
        }
        match kind {
            Pad::Ec2Filter => {
                let (k, v) = a.filter(r);
                w!(
                    req,
                    r#"{"name":""#,
                    k,
                    r#"","valueSet":{"items":[{"value":""#,
                    v,
                    r#""}]}}"#
                );
            }
            Pad::Filters => {
                let (k, v) = a.filter(r);
                w!(req, r#"{"name":""#, k, r#"","values":[""#, v, r#""]}"#);
            }
            _ => {
                w!(req, r#"{"key":""#);
                if r.chance(0.08) {
                    // A one-off value: ticket numbers, build revisions, timestamps.
                    match r.below(3) {
                        0 => {
                            w!(req, r#"ticket","value":"OPS-"#);
                            num(req, r.range(100, 99_999));
                        }
                        1 => {
                            w!(req, r#"BuildRevision","value":""#);
                            r.hex(req, 40);
                        }
                        _ => {
                            w!(req, r#"LastDeployed","value":""#);
                            iso_time(req, 1_700_000_000 + r.range(0, 30_000_000) as i64);
                        }
                    }
                } else {
                    let (k, v) = a.tag(r);
                    w!(req, k, r#"","value":""#, v);
                }
                w!(req, r#""}"#);
            }
        }
        n += 1;
    }
    match kind {
        Pad::Ec2Filter | Pad::Ec2TagSet => w!(req, "]}"),
        Pad::Ec2TagSpec => w!(req, "]}]}"),
        _ => w!(req, "]"),
    }
}
