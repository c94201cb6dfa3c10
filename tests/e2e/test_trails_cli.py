"""Every trail operation through the aws CLI (v1), including error codes and messages."""

import base64
import hashlib
import json

import pytest

from conftest import ALPHA, cli_error, unique

REGION = "us-east-2"
WHO = "alpha_admin"


def aws(server, *args, who=WHO, region=REGION):
    return server.cli(who, "cloudtrail", *args, region=region)


def ok(server, *args, **kw):
    rc, out, err = aws(server, *args, **kw)
    assert rc == 0, f"aws cloudtrail {' '.join(args)} failed: {err}"
    return out


def fails(server, *args, **kw):
    rc, out, err = aws(server, *args, **kw)
    assert rc != 0, f"expected a failure, got {out!r}"
    code, message = cli_error(err)
    assert code is not None, f"not a service error: {err}"
    return code, message


def arn(name, region=REGION, account=ALPHA):
    return f"arn:aws:cloudtrail:{region}:{account}:trail/{name}"


@pytest.fixture
def trail(server, shared_bucket):
    name = unique("cli")
    ok(server, "create-trail", "--name", name, "--s3-bucket-name", shared_bucket)
    return name


def test_create_get_describe_list(server, shared_bucket):
    name = unique("cli")
    out = ok(server, "create-trail", "--name", name, "--s3-bucket-name", shared_bucket)
    assert out == {
        "Name": name,
        "S3BucketName": shared_bucket,
        "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": False,
        "TrailARN": arn(name),
        "LogFileValidationEnabled": False,
        "IsOrganizationTrail": False,
    }
    got = ok(server, "get-trail", "--name", name)["Trail"]
    assert got["Name"] == name
    assert got["TrailARN"] == arn(name)
    assert got["HomeRegion"] == REGION
    assert got["S3BucketName"] == shared_bucket
    assert got["HasCustomEventSelectors"] is False
    assert got["HasInsightSelectors"] is False
    # by ARN too
    assert ok(server, "get-trail", "--name", arn(name))["Trail"]["Name"] == name

    listed = ok(server, "describe-trails", "--trail-name-list", name)["trailList"]
    assert [t["Name"] for t in listed] == [name]
    assert listed[0]["HomeRegion"] == REGION
    listed = ok(server, "describe-trails", "--trail-name-list", arn(name))["trailList"]
    assert [t["TrailARN"] for t in listed] == [arn(name)]
    everything = ok(server, "describe-trails")["trailList"]
    assert name in [t["Name"] for t in everything]

    trails = ok(server, "list-trails")["Trails"]
    mine = [t for t in trails if t["Name"] == name]
    assert mine == [{"TrailARN": arn(name), "Name": name, "HomeRegion": REGION}]


def test_create_with_options(server, shared_bucket):
    name = unique("cli")
    out = ok(server, "create-trail", "--name", name, "--s3-bucket-name", shared_bucket,
             "--s3-key-prefix", "logs/x", "--is-multi-region-trail", "--enable-log-file-validation",
             "--tags-list", "Key=team,Value=sec")
    assert out["IsMultiRegionTrail"] is True
    assert out["LogFileValidationEnabled"] is True
    assert out["S3KeyPrefix"] == "logs/x"
    tags = ok(server, "list-tags", "--resource-id-list", arn(name))["ResourceTagList"]
    assert tags == [{"ResourceId": arn(name), "TagsList": [{"Key": "team", "Value": "sec"}]}]
    ok(server, "delete-trail", "--name", name)


def test_update_trail(server, shared_bucket, trail):
    out = ok(server, "update-trail", "--name", trail, "--s3-key-prefix", "p1", "--enable-log-file-validation",
             "--no-include-global-service-events")
    assert out["Name"] == trail
    assert out["TrailARN"] == arn(trail)
    assert out["S3KeyPrefix"] == "p1"
    assert out["LogFileValidationEnabled"] is True
    assert out["IncludeGlobalServiceEvents"] is False
    got = ok(server, "get-trail", "--name", trail)["Trail"]
    assert got["S3KeyPrefix"] == "p1"
    assert got["LogFileValidationEnabled"] is True
    assert got["IncludeGlobalServiceEvents"] is False
    # multi-region requires global service events
    code, msg = fails(server, "update-trail", "--name", trail, "--is-multi-region-trail")
    assert code == "InvalidParameterCombinationException"
    assert msg == "Multi-Region trail must include global service events."
    code, msg = fails(server, "update-trail", "--name", trail, "--s3-bucket-name", unique("missing"))
    assert code == "S3BucketDoesNotExistException"


def test_delete_trail(server, trail):
    assert ok(server, "delete-trail", "--name", trail) in (None, {})
    code, msg = fails(server, "get-trail", "--name", trail)
    assert code == "TrailNotFoundException"
    assert msg == f"Unknown trail: {arn(trail)} for the user: {ALPHA}"
    code, msg = fails(server, "delete-trail", "--name", trail)
    assert code == "TrailNotFoundException"
    assert ok(server, "describe-trails", "--trail-name-list", trail)["trailList"] == []


def test_logging_status(server, trail):
    status = ok(server, "get-trail-status", "--name", trail)
    assert status["IsLogging"] is False
    ok(server, "start-logging", "--name", trail)
    status = ok(server, "get-trail-status", "--name", trail)
    assert status["IsLogging"] is True
    assert "StartLoggingTime" in status
    assert "TimeLoggingStarted" in status
    ok(server, "stop-logging", "--name", trail)
    status = ok(server, "get-trail-status", "--name", trail)
    assert status["IsLogging"] is False
    assert "StopLoggingTime" in status
    assert "TimeLoggingStopped" in status
    assert status["StopLoggingTime"] >= status["StartLoggingTime"]
    code, _ = fails(server, "get-trail-status", "--name", unique("nope"))
    assert code == "TrailNotFoundException"
    code, _ = fails(server, "start-logging", "--name", unique("nope"))
    assert code == "TrailNotFoundException"


def test_event_selectors(server, trail):
    default = ok(server, "get-event-selectors", "--trail-name", trail)
    assert default["TrailARN"] == arn(trail)
    assert len(default["EventSelectors"]) == 1
    assert default["EventSelectors"][0]["ReadWriteType"] == "All"
    assert default["EventSelectors"][0]["IncludeManagementEvents"] is True

    basic = [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True,
              "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::some-bucket/"]}]}]
    out = ok(server, "put-event-selectors", "--trail-name", trail, "--event-selectors", json.dumps(basic))
    assert out["TrailARN"] == arn(trail)
    assert out["EventSelectors"][0]["ReadWriteType"] == "ReadOnly"
    got = ok(server, "get-event-selectors", "--trail-name", trail)
    assert got["EventSelectors"][0]["DataResources"] == basic[0]["DataResources"]
    assert ok(server, "get-trail", "--name", trail)["Trail"]["HasCustomEventSelectors"] is True

    advanced = [{"Name": "mgmt", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
    out = ok(server, "put-event-selectors", "--trail-name", trail, "--advanced-event-selectors", json.dumps(advanced))
    assert out["AdvancedEventSelectors"] == advanced
    got = ok(server, "get-event-selectors", "--trail-name", trail)
    assert got["AdvancedEventSelectors"] == advanced
    assert "EventSelectors" not in got or not got["EventSelectors"]

    code, _ = fails(server, "put-event-selectors", "--trail-name", trail, "--event-selectors", json.dumps(basic),
                    "--advanced-event-selectors", json.dumps(advanced))
    assert code == "InvalidParameterCombinationException"
    bad = [{"ReadWriteType": "All", "DataResources": [{"Type": "AWS::Foo::Bar", "Values": ["x"]}]}]
    code, _ = fails(server, "put-event-selectors", "--trail-name", trail, "--event-selectors", json.dumps(bad))
    assert code == "InvalidEventSelectorsException"
    bad_adv = [{"Name": "x", "FieldSelectors": [{"Field": "noSuchField", "Equals": ["y"]}]}]
    code, _ = fails(server, "put-event-selectors", "--trail-name", trail, "--advanced-event-selectors",
                    json.dumps(bad_adv))
    assert code == "InvalidEventSelectorsException"


def test_insight_selectors(server, trail):
    code, msg = fails(server, "get-insight-selectors", "--trail-name", trail)
    assert code == "InsightNotEnabledException"
    assert msg.startswith(f"Trail {arn(trail)} does not have Insights enabled.")
    out = ok(server, "put-insight-selectors", "--trail-name", trail, "--insight-selectors",
             '[{"InsightType":"ApiCallRateInsight"}]')
    assert out["TrailARN"] == arn(trail)
    assert out["InsightSelectors"] == [{"InsightType": "ApiCallRateInsight"}]
    got = ok(server, "get-insight-selectors", "--trail-name", trail)
    assert got["InsightSelectors"] == [{"InsightType": "ApiCallRateInsight"}]
    assert ok(server, "get-trail", "--name", trail)["Trail"]["HasInsightSelectors"] is True


def test_tags(server, trail):
    ok(server, "add-tags", "--resource-id", arn(trail), "--tags-list", "Key=a,Value=1", "Key=b,Value=2")
    tags = ok(server, "list-tags", "--resource-id-list", arn(trail))["ResourceTagList"]
    assert len(tags) == 1 and tags[0]["ResourceId"] == arn(trail)
    assert sorted((t["Key"], t["Value"]) for t in tags[0]["TagsList"]) == [("a", "1"), ("b", "2")]
    ok(server, "remove-tags", "--resource-id", arn(trail), "--tags-list", "Key=a")
    tags = ok(server, "list-tags", "--resource-id-list", arn(trail))["ResourceTagList"]
    assert tags[0]["TagsList"] == [{"Key": "b", "Value": "2"}]
    missing = arn(unique("nope"))
    code, _ = fails(server, "add-tags", "--resource-id", missing, "--tags-list", "Key=a,Value=1")
    assert code == "ResourceNotFoundException"
    code, _ = fails(server, "list-tags", "--resource-id-list", missing)
    assert code == "ResourceNotFoundException"
    code, _ = fails(server, "remove-tags", "--resource-id", missing, "--tags-list", "Key=a")
    assert code == "ResourceNotFoundException"


def test_list_public_keys(server):
    # The region's current key: base64 of PKCS#1 DER (what validate-logs decodes), MD5 fingerprint.
    out = ok(server, "list-public-keys")
    [key] = out["PublicKeyList"]
    der = base64.b64decode(key["Value"])
    assert key["Value"].startswith("MIIBCgKCAQEA")
    assert key["Fingerprint"] == hashlib.md5(der).hexdigest()
    assert key["ValidityStartTime"] < key["ValidityEndTime"]
    # The same key again; none valid in 2024; another region has its own.
    assert ok(server, "list-public-keys")["PublicKeyList"] == [key]
    out = ok(server, "list-public-keys", "--start-time", "2024-01-01T00:00:00Z", "--end-time", "2024-01-02T00:00:00Z")
    assert out["PublicKeyList"] == []
    other = ok(server, "list-public-keys", region="eu-central-1")["PublicKeyList"]
    assert len(other) == 1 and other[0]["Fingerprint"] != key["Fingerprint"]
    code, _ = fails(server, "list-public-keys", "--start-time", "2024-01-02T00:00:00Z", "--end-time",
                    "2024-01-01T00:00:00Z")
    assert code == "InvalidTimeRangeException"


@pytest.mark.parametrize(
    "name, message",
    [
        ("ab", "Trail name too short. Minimum allowed length: 3 characters. Specified name length: 2 characters."),
        ("-abc", "Trail name must starts with a letter or number."),
        ("abc-", "Trail name must ends with a letter or number."),
        ("ab!cd", "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), "
                  "hyphens (-), and underscores (_)."),
    ],
)
def test_invalid_trail_names(server, shared_bucket, name, message):
    code, msg = fails(server, "create-trail", f"--name={name}", "--s3-bucket-name", shared_bucket)
    assert code == "InvalidTrailNameException"
    assert msg == message


def test_create_errors(server, shared_bucket, trail):
    missing = unique("nobucket")
    code, msg = fails(server, "create-trail", "--name", unique("cli"), "--s3-bucket-name", missing)
    assert code == "S3BucketDoesNotExistException"
    assert msg == f"S3 bucket {missing} does not exist!"
    code, _ = fails(server, "create-trail", "--name", trail, "--s3-bucket-name", shared_bucket)
    assert code == "TrailAlreadyExistsException"
    code, msg = fails(server, "create-trail", "--name", unique("cli"), "--s3-bucket-name", shared_bucket,
                      "--is-multi-region-trail", "--no-include-global-service-events")
    assert code == "InvalidParameterCombinationException"
    assert msg == "Multi-Region trail must include global service events."


def test_unknown_trail_messages(server):
    name = unique("nope")
    for op, flag in [("get-trail", "--name"), ("get-event-selectors", "--trail-name"), ("stop-logging", "--name"),
                     ("update-trail", "--name")]:
        code, msg = fails(server, op, flag, name)
        assert code == "TrailNotFoundException", op
        assert msg == f"Unknown trail: {arn(name)} for the user: {ALPHA}", op


def test_unsupported_operations(server):
    code, _ = fails(server, "list-imports")
    assert code == "UnsupportedOperationException"
    code, _ = fails(server, "create-event-data-store", "--name", "eds1")
    assert code == "UnsupportedOperationException"


def test_org_trail_cli(server, shared_bucket):
    name = unique("org")
    out = ok(server, "create-trail", "--name", name, "--s3-bucket-name", shared_bucket, "--is-organization-trail",
             "--is-multi-region-trail", who="alpha_root")
    assert out["IsOrganizationTrail"] is True
    beta_bucket = server.make_bucket("beta_admin")
    code, _ = fails(server, "create-trail", "--name", unique("org"), "--s3-bucket-name", beta_bucket,
                    "--is-organization-trail", who="beta_root")
    assert code == "NotOrganizationMasterAccountException"
    ok(server, "delete-trail", "--name", name, who="alpha_root")
