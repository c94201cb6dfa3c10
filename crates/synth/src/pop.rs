//! The fixed population of one account: principals, source IPs, resources and tags. Built once per
//! workload from the seed; events draw from it with Zipf-like skew, so the same names, keys and ids
//! recur the way they do in a real account's trail.

use crate::rng::{Rand, Zipf};

/// Programmatic user agents (SDKs, CLIs, tools).
pub(crate) const API_UAS: &[&str] = &[
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.167.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off",
    "aws-cli/2.13.25 Python/3.11.5 Darwin/23.1.0 exe/x86_64 prompt/off",
    "Boto3/1.26.90 Python/3.11.6 Linux/5.10.209-198.858.amzn2.x86_64 exec-env/AWS_Lambda_python3.11 Botocore/1.29.90",
    "Boto3/1.28.62 md/Botocore#1.31.62 ua/2.0 os/linux#6.2.0-1016-aws md/arch#x86_64 lang/python#3.10.12 Botocore/1.31.62",
    "aws-sdk-go/1.50.8 (go1.21.6; linux; amd64)",
    "aws-sdk-go-v2/1.24.1 os/linux lang/go#1.21.6 md/GOOS#linux md/GOARCH#amd64",
    "aws-sdk-java/1.12.638 Linux/5.10.205-195.804.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS java/17.0.10 vendor/Amazon.com_Inc. cfg/retry-mode/standard",
    "aws-sdk-js/3.515.0 ua/2.0 os/linux#5.10.209-198.858.amzn2.x86_64 lang/js md/nodejs#20.11.0",
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.38.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.0 os/linux lang/go#1.22.0",
    "aws-sdk-go/1.44.302 (go1.20.6; linux; amd64) amazon-ssm-agent/3.2.1630.0",
    "aws-cli/1.29.85 Python/3.9.16 Linux/5.10.205-195.807.amzn2.x86_64 botocore/1.31.85",
];
/// Index of the SSM agent's user agent in [`API_UAS`].
pub(crate) const UA_SSM_AGENT: u8 = 9;

/// User agents of AWS Management Console sessions.
pub(crate) const CONSOLE_UAS: &[&str] = &[
    "console.amazonaws.com",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.638 Linux/5.10.209-177.815.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.402-b08 java/1.8.0_402 vendor/Oracle_Corporation cfg/retry-mode/standard]",
    "AWS Internal",
];

const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dmitri", "elena", "farah", "george", "hana", "ivan", "julia", "kenji", "lars", "maria",
    "nikhil", "olivia", "pedro", "quentin", "rosa", "samir", "tanya", "umar", "vera", "wei", "xavier", "yuki", "zoe",
    "ana", "ben", "chloe", "diego",
];
const LAST: &[&str] = &[
    "smith",
    "garcia",
    "nguyen",
    "kowalski",
    "rossi",
    "tanaka",
    "okafor",
    "schmidt",
    "dubois",
    "silva",
    "johansson",
    "patel",
    "kim",
    "novak",
    "haddad",
    "oconnor",
    "fischer",
    "moreau",
    "yilmaz",
    "andersen",
    "costa",
    "ivanova",
    "chen",
    "lopez",
    "murphy",
    "ferrari",
    "weber",
    "khan",
    "sato",
    "berg",
];
const SERVICE_USERS: &[&str] = &[
    "svc-jenkins",
    "terraform-ci",
    "backup-agent",
    "datadog-integration",
    "github-deployer",
    "splunk-reader",
    "legacy-app",
    "monitoring-bot",
];
const COMPANIES: &[&str] = &[
    "acme",
    "globex",
    "initech",
    "umbrella",
    "stark",
    "wayne",
    "hooli",
    "vandelay",
    "cyberdyne",
    "tyrell",
];
pub(crate) const ENVS: &[&str] = &["prod", "staging", "dev", "qa", "sandbox"];
pub(crate) const APPS: &[&str] = &[
    "payments",
    "orders",
    "inventory",
    "identity",
    "search",
    "analytics",
    "billing",
    "checkout",
    "notifications",
    "catalog",
    "reporting",
    "ingest",
    "auth",
    "gateway",
    "ledger",
];
const TEAMS: &[&str] = &[
    "platform", "payments", "data", "identity", "sre", "security", "growth", "mobile", "web",
];
const FN_VERBS: &[&str] = &[
    "handler",
    "processor",
    "worker",
    "api",
    "consumer",
    "scheduler",
    "resizer",
    "webhook",
    "authorizer",
    "sync",
];
const TABLE_NOUNS: &[&str] = &[
    "events", "sessions", "users", "orders", "locks", "state", "items", "audit",
];
const BUCKET_SUFFIXES: &[&str] = &["logs", "assets", "backups", "data", "artifacts", "exports", "uploads"];
const PARAM_KEYS: &[&str] = &[
    "db/password",
    "db/host",
    "api-key",
    "feature-flags",
    "config",
    "endpoint",
    "queue-url",
    "jwt-secret",
];
const ALARM_METRICS: &[&str] = &[
    "HighCPU",
    "5xxErrors",
    "Latency-p99",
    "QueueDepth",
    "LowDiskSpace",
    "Throttles",
];
const LOGICAL_IDS: &[&str] = &[
    "AppServerInstance",
    "WebSecurityGroup",
    "DataBucket",
    "ProcessorFunction",
    "EventsTable",
    "DatabaseInstance",
    "LoadBalancer",
    "TaskRole",
];

/// A list of names with a Zipf-like popularity.
pub(crate) struct Pool {
    pub(crate) items: Vec<String>,
    z: Zipf,
}

impl Pool {
    fn new(items: Vec<String>, offset: f64) -> Self {
        let z = Zipf::new(items.len(), offset);
        Pool { items, z }
    }

    fn build(r: &mut Rand, n: usize, offset: f64, mut f: impl FnMut(&mut Rand, usize) -> String) -> Self {
        let items = (0..n).map(|i| f(r, i)).collect();
        Self::new(items, offset)
    }

    #[inline]
    pub(crate) fn pick(&self, r: &mut Rand) -> &str {
        &self.items[self.z.sample(r)]
    }

    #[inline]
    pub(crate) fn pick_idx(&self, r: &mut Rand) -> usize {
        self.z.sample(r)
    }
}

/// An IAM user.
pub(crate) struct User {
    pub(crate) name: String,
    pub(crate) arn: String,
    /// `userIdentity` for API calls with the user's long-term key, without its closing brace.
    pub(crate) ident: String,
    /// `userIdentity` for console calls up to and including `"creationDate":"`.
    pub(crate) console_head: String,
    /// Rest of the console `sessionContext` after the creation date, without the closing brace.
    pub(crate) console_tail: &'static str,
    /// Complete `userIdentity` of a ConsoleLogin event.
    pub(crate) signin_ident: String,
    pub(crate) human: bool,
    /// Offset of the user's console session renewals.
    pub(crate) phase: u32,
    pub(crate) ua: u8,
    pub(crate) ip: u16,
}

/// What a role is used for; decides its sessions and user agents.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoleKind {
    Sso,
    Ci,
    Ec2,
    Lambda,
    Ecs,
    Integration,
}

pub(crate) struct Session {
    pub(crate) name: String,
    pub(crate) key: String,
    /// `userIdentity` up to and including `"creationDate":"`.
    pub(crate) head: String,
    /// Rest of the `sessionContext` after the creation date, without the closing brace.
    pub(crate) tail: &'static str,
    pub(crate) arn: String,
    /// Offset of this session's credential renewals.
    pub(crate) phase: u32,
}

pub(crate) struct Role {
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) role_id: String,
    pub(crate) kind: RoleKind,
    pub(crate) sessions: Vec<Session>,
    sess_z: Zipf,
    pub(crate) ua: u8,
    pub(crate) ip: u16,
}

impl Role {
    #[inline]
    pub(crate) fn session(&self, r: &mut Rand) -> &Session {
        &self.sessions[self.sess_z.sample(r)]
    }
}

pub(crate) struct Secret {
    pub(crate) name: String,
    pub(crate) arn_suffix: String,
}

pub(crate) struct Account {
    pub(crate) id: String,
    pub(crate) users: Vec<User>,
    user_z: Zipf,
    pub(crate) roles: Vec<Role>,
    role_z: Zipf,
    /// Root `userIdentity` (console session) up to `"creationDate":"`.
    pub(crate) root_head: String,
    pub(crate) root_signin: String,
    pub(crate) root_arn: String,
    /// Source IPs, private (10.x) and public interleaved; see [`private_ip_index`] and
    /// [`public_ip_index`].
    pub(crate) ips: Pool,
    pub(crate) instances: Pool,
    /// Private IP of each instance in `instances`.
    pub(crate) instance_ips: Vec<String>,
    pub(crate) volumes: Pool,
    pub(crate) sgs: Pool,
    pub(crate) subnets: Pool,
    pub(crate) vpcs: Pool,
    pub(crate) amis: Pool,
    pub(crate) snapshots: Pool,
    pub(crate) enis: Pool,
    pub(crate) vpces: Pool,
    pub(crate) buckets: Pool,
    pub(crate) kms_keys: Pool,
    pub(crate) kms_aliases: Pool,
    pub(crate) functions: Pool,
    pub(crate) tables: Pool,
    pub(crate) dbs: Pool,
    pub(crate) params: Pool,
    pub(crate) secrets: Vec<Secret>,
    secret_z: Zipf,
    pub(crate) log_groups: Pool,
    pub(crate) alarms: Pool,
    pub(crate) lbs: Pool,
    pub(crate) asgs: Pool,
    pub(crate) trails: Pool,
    pub(crate) policies: Pool,
    pub(crate) tags: Vec<(String, String)>,
    tag_z: Zipf,
    pub(crate) filters: Vec<(String, String)>,
    filter_z: Zipf,
}

/// How many of an account's IPs are private (10.x) addresses.
pub(crate) const PRIVATE_IPS: usize = 80;
const IPS: usize = 200;
const PUBLIC_IPS: usize = IPS - PRIVATE_IPS;

/// Position in `Account::ips` of the `i`-th private address (`i < PRIVATE_IPS`).
pub(crate) fn private_ip_index(i: usize) -> usize {
    2 * i
}

/// Position in `Account::ips` of the `j`-th public address (`j < IPS - PRIVATE_IPS`).
pub(crate) fn public_ip_index(j: usize) -> usize {
    if j < PRIVATE_IPS { 2 * j + 1 } else { PRIVATE_IPS + j }
}

const PUBLIC_FIRST_OCTETS: &[u8] = &[
    3, 13, 15, 18, 34, 35, 44, 52, 54, 63, 73, 81, 86, 91, 94, 104, 109, 145, 176, 185, 188, 195, 203, 212, 217,
];

const AWS_POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess",
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess",
];

fn hex_id(r: &mut Rand, prefix: &str) -> String {
    r.string(|r, s| {
        s.push_str(prefix);
        s.push('0');
        r.hex(s, 16);
    })
}

fn key_id(r: &mut Rand, prefix: &str, n: usize) -> String {
    r.string(|r, s| {
        s.push_str(prefix);
        r.upper_alnum(s, n);
    })
}

impl Account {
    pub(crate) fn new(r: &mut Rand, id: &str) -> Self {
        let company = *r.pick(COMPANIES);
        let acct = id.to_string();

        // Principals.
        let mut users = Vec::new();
        let mut humans = Vec::new();
        for i in 0..20 {
            let human = i < 14;
            let name = if human {
                let n = format!("{}.{}", r.pick(FIRST), r.pick(LAST));
                humans.push(n.clone());
                n
            } else {
                SERVICE_USERS[(i - 14) % SERVICE_USERS.len()].to_string()
            };
            users.push(make_user(r, &acct, name, human));
        }
        let mut roles = Vec::new();
        // Most popular first.
        let templates: [(RoleKind, String); 10] = [
            (
                RoleKind::Lambda,
                format!("{}-{}-lambda-role", r.pick(APPS), r.pick(ENVS)),
            ),
            (RoleKind::Ecs, format!("ecs-task-{}-role", r.pick(APPS))),
            (RoleKind::Ec2, format!("{}-app-server-role", r.pick(APPS))),
            (RoleKind::Ci, "github-actions-deploy".to_string()),
            (
                RoleKind::Lambda,
                format!("{}-{}-lambda-role", r.pick(APPS), r.pick(ENVS)),
            ),
            (RoleKind::Sso, {
                let s = r.string(|r, s| r.hex(s, 16));
                format!("AWSReservedSSO_AdministratorAccess_{s}")
            }),
            (RoleKind::Ec2, "eks-node-group-role".to_string()),
            (RoleKind::Integration, "DatadogIntegrationRole".to_string()),
            (RoleKind::Ci, "terraform-apply".to_string()),
            (RoleKind::Sso, {
                let s = r.string(|r, s| r.hex(s, 16));
                format!("AWSReservedSSO_ReadOnlyAccess_{s}")
            }),
        ];

        // Resources (needed for role session names).
        let instances = Pool::build(r, 150, 2.0, |r, _| hex_id(r, "i-"));
        let functions = Pool::build(r, 30, 1.0, |r, _| {
            format!("{}-{}-{}", r.pick(APPS), r.pick(ENVS), r.pick(FN_VERBS))
        });

        for (kind, name) in templates {
            roles.push(make_role(
                r, &acct, kind, name, &humans, company, &instances, &functions,
            ));
        }

        let root_arn = format!("arn:aws:iam::{acct}:root");
        let root_key = key_id(r, "ASIA", 16);
        let root_head = format!(
            r#"{{"type":"Root","principalId":"{acct}","arn":"{root_arn}","accountId":"{acct}","accessKeyId":"{root_key}","sessionContext":{{"sessionIssuer":{{}},"webIdFederationData":{{}},"attributes":{{"creationDate":""#
        );
        let root_signin = format!(
            r#"{{"type":"Root","principalId":"{acct}","arn":"{root_arn}","accountId":"{acct}","accessKeyId":""}}"#
        );

        let ips = Pool::build(r, IPS, 3.0, |r, i| {
            if i < PRIVATE_IPS {
                format!("10.{}.{}.{}", r.below(4), r.range(0, 255), r.range(4, 254))
            } else {
                format!(
                    "{}.{}.{}.{}",
                    r.pick(PUBLIC_FIRST_OCTETS),
                    r.range(0, 255),
                    r.range(0, 255),
                    r.range(1, 254)
                )
            }
        });
        // Rotate so that private and public addresses are interleaved in popularity.
        let ips = {
            let mut items = ips.items;
            let mut mixed = Vec::with_capacity(items.len());
            let public = items.split_off(PRIVATE_IPS);
            let mut pi = items.into_iter();
            let mut qi = public.into_iter();
            loop {
                match (pi.next(), qi.next()) {
                    (None, None) => break,
                    (a, b) => {
                        mixed.extend(a);
                        mixed.extend(b);
                    }
                }
            }
            Pool::new(mixed, 3.0)
        };

        let volumes = Pool::build(r, 150, 2.0, |r, _| hex_id(r, "vol-"));
        let sgs = Pool::build(r, 40, 1.0, |r, _| hex_id(r, "sg-"));
        let subnets = Pool::build(r, 24, 1.0, |r, _| hex_id(r, "subnet-"));
        let vpcs = Pool::build(r, 6, 0.5, |r, _| hex_id(r, "vpc-"));
        let amis = Pool::build(r, 20, 0.5, |r, _| hex_id(r, "ami-"));
        let snapshots = Pool::build(r, 60, 2.0, |r, _| hex_id(r, "snap-"));
        let enis = Pool::build(r, 80, 2.0, |r, _| hex_id(r, "eni-"));
        let vpces = Pool::build(r, 3, 0.0, |r, _| hex_id(r, "vpce-"));
        let buckets = Pool::build(r, 40, 1.0, |r, i| match i % 8 {
            5 => format!("cf-templates-{}-us-east-1", r.string(|r, s| r.lower_alnum(s, 12))),
            6 => format!("aws-cloudtrail-logs-{acct}-{}", r.string(|r, s| r.hex(s, 8))),
            7 => format!("terraform-state-{acct}-{}", r.pick(ENVS)),
            _ => format!(
                "{company}-{}-{}-{}",
                r.pick(APPS),
                r.pick(ENVS),
                r.pick(BUCKET_SUFFIXES)
            ),
        });
        let kms_keys = Pool::build(r, 15, 0.5, |r, _| r.string(|r, s| r.uuid(s)));
        let kms_aliases = Pool::build(r, 12, 1.0, |r, _| format!("alias/{}-{}", r.pick(APPS), r.pick(ENVS)));
        let tables = Pool::build(r, 15, 1.0, |r, _| {
            format!("{}-{}-{}", r.pick(APPS), r.pick(ENVS), r.pick(TABLE_NOUNS))
        });
        let dbs = Pool::build(r, 8, 1.0, |r, i| {
            format!("{}-{}-db-{}", r.pick(APPS), r.pick(ENVS), i % 3 + 1)
        });
        let params = Pool::build(r, 40, 2.0, |r, _| {
            format!("/{}/{}/{}", r.pick(ENVS), r.pick(APPS), r.pick(PARAM_KEYS))
        });
        let secrets: Vec<Secret> = (0..20)
            .map(|_| Secret {
                name: format!(
                    "{}/{}/{}",
                    r.pick(ENVS),
                    r.pick(APPS),
                    r.pick(PARAM_KEYS).replace('/', "-")
                ),
                arn_suffix: r.string(|r, s| r.mixed_alnum(s, 6)),
            })
            .collect();
        let secret_z = Zipf::new(secrets.len(), 1.0);
        let log_groups = Pool::build(r, 30, 2.0, |r, i| match i % 3 {
            0 => format!("/aws/lambda/{}", functions.items[i % functions.items.len()]),
            1 => format!("/ecs/{}-{}", r.pick(APPS), r.pick(ENVS)),
            _ => format!("/aws/rds/instance/{}-{}-db-1/postgresql", r.pick(APPS), r.pick(ENVS)),
        });
        let alarms = Pool::build(r, 20, 1.0, |r, _| {
            format!("{}-{}-{}", r.pick(APPS), r.pick(ENVS), r.pick(ALARM_METRICS))
        });
        let lbs = Pool::build(r, 8, 1.0, |r, _| {
            format!(
                "app/{}-{}-alb/{}",
                r.pick(APPS),
                r.pick(ENVS),
                r.string(|r, s| r.hex(s, 16))
            )
        });
        let asgs = Pool::build(r, 8, 1.0, |r, _| format!("{}-{}-asg", r.pick(APPS), r.pick(ENVS)));
        let trails = Pool::new(
            vec!["management-events".to_string(), format!("{company}-org-trail")],
            0.0,
        );
        let mut policy_items: Vec<String> = AWS_POLICIES.iter().map(|s| s.to_string()).collect();
        for _ in 0..6 {
            policy_items.push(format!(
                "arn:aws:iam::{acct}:policy/{}-{}-access",
                r.pick(APPS),
                r.pick(ENVS)
            ));
        }
        let policies = Pool::new(policy_items, 1.0);

        let mut acc = Account {
            id: acct,
            user_z: Zipf::new(users.len(), 1.0),
            users,
            role_z: Zipf::new(roles.len(), 1.0),
            roles,
            root_head,
            root_signin,
            root_arn,
            ips,
            instance_ips: (0..instances.items.len())
                .map(|_| format!("10.{}.{}.{}", r.below(4), r.range(0, 255), r.range(4, 254)))
                .collect(),
            instances,
            volumes,
            sgs,
            subnets,
            vpcs,
            amis,
            snapshots,
            enis,
            vpces,
            buckets,
            kms_keys,
            kms_aliases,
            functions,
            tables,
            dbs,
            params,
            secrets,
            secret_z,
            log_groups,
            alarms,
            lbs,
            asgs,
            trails,
            policies,
            tags: Vec::new(),
            tag_z: Zipf::new(1, 0.0),
            filters: Vec::new(),
            filter_z: Zipf::new(1, 0.0),
        };
        acc.tags = (0..300).map(|_| make_tag(r, &acc, company, &humans)).collect();
        acc.tag_z = Zipf::new(acc.tags.len(), 4.0);
        acc.filters = (0..150).map(|_| make_filter(r, &acc)).collect();
        acc.filter_z = Zipf::new(acc.filters.len(), 4.0);
        acc
    }

    #[inline]
    pub(crate) fn user(&self, r: &mut Rand) -> &User {
        &self.users[self.user_z.sample(r)]
    }

    #[inline]
    pub(crate) fn role(&self, r: &mut Rand) -> &Role {
        &self.roles[self.role_z.sample(r)]
    }

    /// A role of the given kind (falls back to any role).
    pub(crate) fn role_of(&self, r: &mut Rand, kind: RoleKind) -> &Role {
        let n = self.roles.iter().filter(|x| x.kind == kind).count();
        if n == 0 {
            return self.role(r);
        }
        let k = r.below(n);
        self.roles
            .iter()
            .filter(|x| x.kind == kind)
            .nth(k)
            .unwrap_or(&self.roles[0])
    }

    #[inline]
    pub(crate) fn secret(&self, r: &mut Rand) -> &Secret {
        &self.secrets[self.secret_z.sample(r)]
    }

    #[inline]
    pub(crate) fn tag(&self, r: &mut Rand) -> (&str, &str) {
        let (k, v) = &self.tags[self.tag_z.sample(r)];
        (k, v)
    }

    #[inline]
    pub(crate) fn filter(&self, r: &mut Rand) -> (&str, &str) {
        let (k, v) = &self.filters[self.filter_z.sample(r)];
        (k, v)
    }
}

fn pick_ua(r: &mut Rand, choices: &[u8]) -> u8 {
    *r.pick(choices)
}

fn make_user(r: &mut Rand, acct: &str, name: String, human: bool) -> User {
    let pid = key_id(r, "AIDA", 17);
    let akia = key_id(r, "AKIA", 16);
    let asia = key_id(r, "ASIA", 16);
    let arn = format!("arn:aws:iam::{acct}:user/{name}");
    let ident = format!(
        r#"{{"type":"IAMUser","principalId":"{pid}","arn":"{arn}","accountId":"{acct}","accessKeyId":"{akia}","userName":"{name}""#
    );
    let console_head = format!(
        r#"{{"type":"IAMUser","principalId":"{pid}","arn":"{arn}","accountId":"{acct}","accessKeyId":"{asia}","userName":"{name}","sessionContext":{{"sessionIssuer":{{}},"webIdFederationData":{{}},"attributes":{{"creationDate":""#
    );
    let mfa = human && r.chance(0.7);
    let console_tail = if mfa {
        r#"","mfaAuthenticated":"true"}}"#
    } else {
        r#"","mfaAuthenticated":"false"}}"#
    };
    let signin_ident =
        format!(r#"{{"type":"IAMUser","principalId":"{pid}","arn":"{arn}","accountId":"{acct}","userName":"{name}"}}"#);
    let ua = if human {
        pick_ua(r, &[0, 0, 1, 1, 3, 4, 10])
    } else {
        pick_ua(r, &[2, 4, 5, 6, 7, 8])
    };
    let ip = if human {
        public_ip_index(r.below(PUBLIC_IPS))
    } else {
        r.below(IPS)
    } as u16;
    User {
        name,
        arn,
        ident,
        console_head,
        console_tail,
        signin_ident,
        human,
        phase: r.below(86_400) as u32,
        ua,
        ip,
    }
}

#[allow(clippy::too_many_arguments)]
fn make_role(
    r: &mut Rand,
    acct: &str,
    kind: RoleKind,
    name: String,
    humans: &[String],
    company: &str,
    instances: &Pool,
    functions: &Pool,
) -> Role {
    let role_id = key_id(r, "AROA", 17);
    let path = if kind == RoleKind::Sso {
        "aws-reserved/sso.amazonaws.com/"
    } else {
        ""
    };
    let arn = format!("arn:aws:iam::{acct}:role/{path}{name}");
    let n_sessions = match kind {
        RoleKind::Sso => 6,
        RoleKind::Ec2 | RoleKind::Ecs => 12,
        RoleKind::Lambda => 3,
        RoleKind::Ci => 5,
        RoleKind::Integration => 1,
    };
    let tail: &'static str = match kind {
        RoleKind::Ec2 => r#"","mfaAuthenticated":"false"},"ec2RoleDelivery":"2.0"}"#,
        _ => r#"","mfaAuthenticated":"false"}}"#,
    };
    let sessions = (0..n_sessions)
        .map(|i| {
            let sname = match kind {
                RoleKind::Sso => format!("{}@{company}.com", humans[r.below(humans.len())]),
                RoleKind::Ec2 => instances.items[r.below(instances.items.len())].clone(),
                RoleKind::Lambda => functions.items[(i * 7 + r.below(3)) % functions.items.len()].clone(),
                RoleKind::Ecs => r.string(|r, s| r.hex(s, 32)),
                RoleKind::Ci if name.starts_with("github") => {
                    if i == 0 { "GitHubActions".to_string() } else { format!("gha-{}", r.string(|r, s| r.digits(s, 10))) }
                }
                RoleKind::Ci => format!("aws-go-sdk-{}", r.string(|r, s| r.digits(s, 19))),
                RoleKind::Integration => "DatadogAWSIntegration".to_string(),
            };
            let key = key_id(r, "ASIA", 16);
            let sarn = format!("arn:aws:sts::{acct}:assumed-role/{name}/{sname}");
            let mut head = String::new();
            head.push_str(r#"{"type":"AssumedRole","principalId":""#);
            head.push_str(&role_id);
            head.push(':');
            crate::text::esc(&mut head, &sname);
            head.push_str(r#"","arn":""#);
            crate::text::esc(&mut head, &sarn);
            head.push_str(&format!(
                r#"","accountId":"{acct}","accessKeyId":"{key}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"{role_id}","arn":"{arn}","accountId":"{acct}","userName":"{name}"}},"webIdFederationData":{{}},"attributes":{{"creationDate":""#
            ));
            Session { name: sname, key, head, tail, arn: sarn, phase: r.below(86_400) as u32 }
        })
        .collect::<Vec<_>>();
    let ua = match kind {
        RoleKind::Sso => pick_ua(r, &[0, 1, 3]),
        RoleKind::Ci => pick_ua(r, &[8, 0, 4]),
        RoleKind::Ec2 => pick_ua(r, &[4, 5, 6]),
        RoleKind::Lambda => pick_ua(r, &[2, 7]),
        RoleKind::Ecs => pick_ua(r, &[6, 7, 5]),
        RoleKind::Integration => 5,
    };
    let ip = match kind {
        RoleKind::Ec2 | RoleKind::Ecs => private_ip_index(r.below(PRIVATE_IPS)),
        _ => public_ip_index(r.below(PUBLIC_IPS)),
    } as u16;
    let sess_z = Zipf::new(sessions.len(), 1.0);
    Role {
        name,
        arn,
        role_id,
        kind,
        sessions,
        sess_z,
        ua,
        ip,
    }
}

fn make_tag(r: &mut Rand, a: &Account, company: &str, humans: &[String]) -> (String, String) {
    let app = *r.pick(APPS);
    let env = *r.pick(ENVS);
    let (k, v): (&str, String) = match r.below(20) {
        0 | 1 => ("Environment", env.to_string()),
        2 => ("Team", r.pick(TEAMS).to_string()),
        3 => ("Owner", format!("{}@{company}.com", r.pick(humans))),
        4 => ("CostCenter", format!("CC-{}", r.range(1000, 9999))),
        5 => ("Project", app.to_string()),
        6 => ("Application", format!("{app}-{}", r.pick(FN_VERBS))),
        7 | 8 => (
            "Name",
            format!(
                "{app}-{env}-{}-{}",
                r.pick(&["web", "worker", "db", "cache", "bastion"]),
                r.range(1, 12)
            ),
        ),
        9 => ("aws:cloudformation:stack-name", format!("{app}-{env}-stack")),
        10 => ("aws:cloudformation:stack-id", {
            let u = r.string(|r, s| r.uuid(s));
            format!("arn:aws:cloudformation:us-east-1:{}:stack/{app}-{env}-stack/{u}", a.id)
        }),
        11 => ("aws:cloudformation:logical-id", r.pick(LOGICAL_IDS).to_string()),
        12 => (
            "ManagedBy",
            r.pick(&["terraform", "cloudformation", "cdk", "pulumi"]).to_string(),
        ),
        13 => ("Repository", format!("github.com/{company}/{app}-{}", r.pick(FN_VERBS))),
        14 => ("Revision", r.string(|r, s| r.hex(s, 40))),
        15 => (
            "DataClassification",
            r.pick(&["confidential", "internal", "public", "restricted"])
                .to_string(),
        ),
        16 => ("Backup", r.pick(&["daily", "weekly", "none"]).to_string()),
        17 => ("Compliance", r.pick(&["pci", "hipaa", "soc2", "none"]).to_string()),
        18 => ("CreatedBy", a.users[r.below(a.users.len())].arn.clone()),
        _ => (
            "Version",
            format!("v{}.{}.{}", r.range(1, 4), r.range(0, 30), r.range(0, 99)),
        ),
    };
    (k.to_string(), v)
}

fn make_filter(r: &mut Rand, a: &Account) -> (String, String) {
    let (k, v): (&str, String) = match r.below(14) {
        0 | 1 => (
            "instance-state-name",
            r.pick(&["running", "stopped", "pending"]).to_string(),
        ),
        2 => ("tag:Environment", r.pick(ENVS).to_string()),
        3 => (
            "tag:Name",
            format!("{}-{}-web-{}", r.pick(APPS), r.pick(ENVS), r.range(1, 12)),
        ),
        4 => ("tag:Team", r.pick(TEAMS).to_string()),
        5 => ("vpc-id", a.vpcs.items[r.below(a.vpcs.items.len())].clone()),
        6 => ("subnet-id", a.subnets.items[r.below(a.subnets.items.len())].clone()),
        7 => (
            "instance-id",
            a.instances.items[r.below(a.instances.items.len())].clone(),
        ),
        8 => ("group-id", a.sgs.items[r.below(a.sgs.items.len())].clone()),
        9 => ("owner-id", a.id.clone()),
        10 => ("image-id", a.amis.items[r.below(a.amis.items.len())].clone()),
        11 => (
            "attachment.instance-id",
            a.instances.items[r.below(a.instances.items.len())].clone(),
        ),
        12 => ("status", r.pick(&["available", "in-use"]).to_string()),
        _ => ("volume-type", r.pick(&["gp3", "gp2", "io2"]).to_string()),
    };
    (k.to_string(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_indices_point_at_the_right_kind() {
        let mut r = Rand::new(1);
        let a = Account::new(&mut r, "123456789012");
        assert_eq!(a.ips.items.len(), IPS);
        for i in 0..PRIVATE_IPS {
            assert!(a.ips.items[private_ip_index(i)].starts_with("10."));
        }
        let mut public: Vec<usize> = (0..PUBLIC_IPS).map(public_ip_index).collect();
        for &j in &public {
            assert!(!a.ips.items[j].starts_with("10."));
        }
        public.extend((0..PRIVATE_IPS).map(private_ip_index));
        public.sort_unstable();
        assert_eq!(public, (0..IPS).collect::<Vec<_>>());
        for u in &a.users {
            if u.human {
                assert!(!a.ips.items[usize::from(u.ip)].starts_with("10."));
            }
        }
    }
}
