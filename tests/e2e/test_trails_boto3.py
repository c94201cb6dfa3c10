"""Trail operations through boto3: CRUD, pagination, shadow trails, home-region and organization rules."""

import datetime
import hashlib

import pytest
from botocore.exceptions import ClientError

from conftest import ALPHA, BETA, error_code, error_message, unique

REGION = "us-west-1"


def arn(name, region=REGION, account=ALPHA):
    return f"arn:aws:cloudtrail:{region}:{account}:trail/{name}"


def expect_error(code, fn, *args, **kwargs):
    with pytest.raises(ClientError) as exc:
        fn(*args, **kwargs)
    assert error_code(exc.value) == code, exc.value.response
    status = exc.value.response["ResponseMetadata"]["HTTPStatusCode"]
    assert 400 <= status < 500, status
    return error_message(exc.value)


def test_crud_roundtrip(server, shared_bucket):
    ct = server.ct("alpha_admin", REGION)
    name = unique("b3")
    created = ct.create_trail(Name=name, S3BucketName=shared_bucket, S3KeyPrefix="k",
                              TagsList=[{"Key": "env", "Value": "test"}])
    assert created["TrailARN"] == arn(name)
    assert created["S3KeyPrefix"] == "k"
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert created["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == created["ResponseMetadata"]["RequestId"]

    trail = ct.get_trail(Name=name)["Trail"]
    assert trail["HomeRegion"] == REGION and trail["IsMultiRegionTrail"] is False

    updated = ct.update_trail(Name=arn(name), IsMultiRegionTrail=True)
    assert updated["IsMultiRegionTrail"] is True
    assert ct.get_trail(Name=name)["Trail"]["IsMultiRegionTrail"] is True

    assert ct.get_trail_status(Name=name)["IsLogging"] is False
    ct.start_logging(Name=name)
    status = ct.get_trail_status(Name=name)
    assert status["IsLogging"] is True
    assert isinstance(status["StartLoggingTime"], datetime.datetime)
    ct.stop_logging(Name=name)
    status = ct.get_trail_status(Name=name)
    assert status["IsLogging"] is False
    assert isinstance(status["StopLoggingTime"], datetime.datetime)

    ct.put_event_selectors(TrailName=name, EventSelectors=[{"ReadWriteType": "WriteOnly",
                                                            "IncludeManagementEvents": True}])
    sel = ct.get_event_selectors(TrailName=name)
    assert sel["EventSelectors"][0]["ReadWriteType"] == "WriteOnly"
    expect_error("InvalidParameterCombinationException", ct.put_event_selectors, TrailName=name,
                 EventSelectors=[{"ReadWriteType": "All"}],
                 AdvancedEventSelectors=[{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}])
    expect_error("InvalidEventSelectorsException", ct.put_event_selectors, TrailName=name,
                 EventSelectors=[{"ReadWriteType": "All",
                                  "DataResources": [{"Type": "AWS::Nope::Thing", "Values": ["a"]}]}])

    msg = expect_error("InsightNotEnabledException", ct.get_insight_selectors, TrailName=name)
    assert msg.startswith(f"Trail {arn(name)} does not have Insights enabled.")
    ct.put_insight_selectors(TrailName=name, InsightSelectors=[{"InsightType": "ApiErrorRateInsight"}])
    assert ct.get_insight_selectors(TrailName=name)["InsightSelectors"] == [{"InsightType": "ApiErrorRateInsight"}]

    tags = ct.list_tags(ResourceIdList=[arn(name)])["ResourceTagList"]
    assert tags == [{"ResourceId": arn(name), "TagsList": [{"Key": "env", "Value": "test"}]}]
    ct.add_tags(ResourceId=arn(name), TagsList=[{"Key": "x", "Value": "y"}])
    ct.remove_tags(ResourceId=arn(name), TagsList=[{"Key": "env"}])
    tags = ct.list_tags(ResourceIdList=[arn(name)])["ResourceTagList"]
    assert tags[0]["TagsList"] == [{"Key": "x", "Value": "y"}]
    expect_error("ResourceNotFoundException", ct.list_tags, ResourceIdList=[arn(unique("gone"))])

    ct.delete_trail(Name=name)
    msg = expect_error("TrailNotFoundException", ct.get_trail, Name=name)
    assert msg == f"Unknown trail: {arn(name)} for the user: {ALPHA}"


def test_errors(server, shared_bucket):
    ct = server.ct("alpha_admin", REGION)
    msg = expect_error("InvalidTrailNameException", ct.create_trail, Name="xy", S3BucketName=shared_bucket)
    assert msg == "Trail name too short. Minimum allowed length: 3 characters. Specified name length: 2 characters."
    msg = expect_error("InvalidTrailNameException", ct.create_trail, Name="_abc", S3BucketName=shared_bucket)
    assert msg == "Trail name must starts with a letter or number."
    msg = expect_error("InvalidTrailNameException", ct.create_trail, Name="abc_", S3BucketName=shared_bucket)
    assert msg == "Trail name must ends with a letter or number."
    msg = expect_error("InvalidTrailNameException", ct.create_trail, Name="a b c", S3BucketName=shared_bucket)
    assert msg.startswith("Trail name or ARN can only contain")
    msg = expect_error("S3BucketDoesNotExistException", ct.create_trail, Name=unique("b3"), S3BucketName="no-such-bkt-e2e")
    assert msg == "S3 bucket no-such-bkt-e2e does not exist!"
    msg = expect_error("InvalidParameterCombinationException", ct.create_trail, Name=unique("b3"),
                       S3BucketName=shared_bucket, IsMultiRegionTrail=True, IncludeGlobalServiceEvents=False)
    assert msg == "Multi-Region trail must include global service events."
    name = unique("b3")
    ct.create_trail(Name=name, S3BucketName=shared_bucket)
    expect_error("TrailAlreadyExistsException", ct.create_trail, Name=name, S3BucketName=shared_bucket)
    # the same name is free in another region
    other = server.ct("alpha_admin", "ap-south-1")
    assert other.create_trail(Name=name, S3BucketName=shared_bucket)["TrailARN"] == arn(name, "ap-south-1")
    expect_error("InvalidTimeRangeException", ct.list_public_keys,
                 StartTime=datetime.datetime(2024, 2, 1), EndTime=datetime.datetime(2024, 1, 1))
    # boto3 decodes the blob: PKCS#1 RSAPublicKey DER of a 2048-bit key, fingerprint its MD5.
    keys = ct.list_public_keys()["PublicKeyList"]
    assert len(keys) == 1
    assert keys[0]["Value"][:5] == bytes([0x30, 0x82, 0x01, 0x0A, 0x02])
    assert keys[0]["Fingerprint"] == hashlib.md5(keys[0]["Value"]).hexdigest()
    expect_error("UnsupportedOperationException", ct.list_imports)
    expect_error("UnsupportedOperationException", ct.list_event_data_stores)
    ct.delete_trail(Name=name)
    other.delete_trail(Name=name)


def test_quota_default_five(fresh_server):
    ct = fresh_server.ct("alpha_admin", "eu-north-1")
    bucket = fresh_server.make_bucket("alpha_admin")
    for i in range(5):
        ct.create_trail(Name=f"quota-{i}", S3BucketName=bucket)
    expect_error("MaximumNumberOfTrailsExceededException", ct.create_trail, Name="quota-5", S3BucketName=bucket)
    # the quota is per region
    fresh_server.ct("alpha_admin", "eu-south-1").create_trail(Name="quota-5", S3BucketName=bucket)


def test_list_trails_paginator_120(make_server):
    srv = make_server({"CAIRN_MAX_TRAILS_PER_REGION": "150"})
    bucket = srv.make_bucket("alpha_admin")
    ct = srv.ct("alpha_admin", "us-east-1")
    names = {f"page-{i:03d}" for i in range(120)}
    for n in sorted(names):
        ct.create_trail(Name=n, S3BucketName=bucket)
    first = ct.list_trails()
    assert len(first["Trails"]) == 50
    assert first.get("NextToken")
    pages = list(ct.get_paginator("list_trails").paginate())
    assert [len(p["Trails"]) for p in pages] == [50, 50, 20]
    seen = [t["Name"] for p in pages for t in p["Trails"]]
    assert len(seen) == len(set(seen)) == 120
    assert set(seen) == names
    assert all(t["HomeRegion"] == "us-east-1" for p in pages for t in p["Trails"])
    assert "NextToken" not in pages[-1]
    # describe returns all of them at once
    assert len(ct.describe_trails()["trailList"]) == 120
    # another account sees none of them
    assert srv.ct("beta_admin", "us-east-1").list_trails()["Trails"] == []


def test_shadow_trails_and_home_region(server, shared_bucket):
    home = server.ct("alpha_admin", "eu-central-1")
    away = server.ct("alpha_admin", "sa-east-1")
    multi, single = unique("multi"), unique("single")
    home.create_trail(Name=multi, S3BucketName=shared_bucket, IsMultiRegionTrail=True)
    home.create_trail(Name=single, S3BucketName=shared_bucket)
    multi_arn = arn(multi, "eu-central-1")
    single_arn = arn(single, "eu-central-1")

    listed = {t["Name"]: t for t in away.describe_trails()["trailList"]}
    assert multi in listed and single not in listed
    assert listed[multi]["HomeRegion"] == "eu-central-1"
    assert listed[multi]["TrailARN"] == multi_arn
    assert listed[multi]["IsMultiRegionTrail"] is True
    hidden = [t["Name"] for t in away.describe_trails(includeShadowTrails=False)["trailList"]]
    assert multi not in hidden
    home_list = [t["Name"] for t in home.describe_trails(includeShadowTrails=False)["trailList"]]
    assert multi in home_list and single in home_list
    assert multi in [t["Name"] for t in away.list_trails()["Trails"]]

    # names resolve within the request's region
    expect_error("TrailNotFoundException", away.get_trail, Name=single)
    assert away.describe_trails(trailNameList=[single])["trailList"] == []

    # changes only in the home region
    for call, kwargs in [
        (away.update_trail, {"Name": multi_arn, "S3KeyPrefix": "x"}),
        (away.delete_trail, {"Name": multi_arn}),
        (away.start_logging, {"Name": multi_arn}),
        (away.stop_logging, {"Name": multi_arn}),
        (away.put_event_selectors, {"TrailName": multi_arn,
                                    "EventSelectors": [{"ReadWriteType": "All"}]}),
        (away.put_insight_selectors, {"TrailName": multi_arn,
                                      "InsightSelectors": [{"InsightType": "ApiCallRateInsight"}]}),
    ]:
        expect_error("InvalidHomeRegionException", call, **kwargs)
    # still intact and changeable at home
    assert home.get_trail(Name=multi)["Trail"].get("S3KeyPrefix") is None
    home.update_trail(Name=multi, S3KeyPrefix="x")
    home.delete_trail(Name=multi)
    home.delete_trail(Name=single)
    assert multi not in [t["Name"] for t in away.describe_trails()["trailList"]]


def test_organization_trails(server):
    alpha = server.ct("alpha_root", "us-west-2")
    beta = server.ct("beta_admin", "us-west-2")
    beta_away = server.ct("beta_admin", "ca-central-1")
    alpha_bucket = server.make_bucket("alpha_admin")
    beta_bucket = server.make_bucket("beta_admin")
    org = unique("org")
    created = alpha.create_trail(Name=org, S3BucketName=alpha_bucket, IsOrganizationTrail=True,
                                 IsMultiRegionTrail=True)
    org_arn = arn(org, "us-west-2")
    assert created["IsOrganizationTrail"] is True and created["TrailARN"] == org_arn

    # the member sees it, in every region for a multi-region trail
    seen = {t["TrailARN"]: t for t in beta.describe_trails()["trailList"]}
    assert org_arn in seen and seen[org_arn]["IsOrganizationTrail"] is True
    assert org_arn in [t["TrailARN"] for t in beta_away.describe_trails()["trailList"]]
    assert org_arn in [t["TrailARN"] for t in beta.list_trails()["Trails"]]

    # but cannot change it
    for call, kwargs in [
        (beta.update_trail, {"Name": org_arn, "S3KeyPrefix": "x"}),
        (beta.delete_trail, {"Name": org_arn}),
        (beta.stop_logging, {"Name": org_arn}),
        (beta.put_event_selectors, {"TrailName": org_arn, "EventSelectors": [{"ReadWriteType": "All"}]}),
    ]:
        with pytest.raises(ClientError) as exc:
            call(**kwargs)
        assert error_code(exc.value) == "NotOrganizationMasterAccountException", exc.value.response
    assert alpha.get_trail(Name=org)["Trail"].get("S3KeyPrefix") is None

    # a member cannot create an organization trail
    expect_error("NotOrganizationMasterAccountException", beta.create_trail, Name=unique("org"),
                 S3BucketName=beta_bucket, IsOrganizationTrail=True, IsMultiRegionTrail=True)
    # nor can an update turn its own trail into one
    own = unique("own")
    beta.create_trail(Name=own, S3BucketName=beta_bucket)
    expect_error("NotOrganizationMasterAccountException", beta.update_trail, Name=own, IsOrganizationTrail=True)
    beta.delete_trail(Name=own)

    alpha.delete_trail(Name=org)
    assert org_arn not in [t["TrailARN"] for t in beta.describe_trails()["trailList"]]


def test_non_org_trails_invisible_to_other_account(server, shared_bucket):
    alpha = server.ct("alpha_admin", "ap-northeast-1")
    beta = server.ct("beta_root", "ap-northeast-1")
    name = unique("iso")
    alpha.create_trail(Name=name, S3BucketName=shared_bucket, IsMultiRegionTrail=True)
    a_arn = arn(name, "ap-northeast-1")
    assert a_arn not in [t["TrailARN"] for t in beta.describe_trails()["trailList"]]
    assert a_arn not in [t["TrailARN"] for t in beta.list_trails()["Trails"]]
    msg = expect_error("TrailNotFoundException", beta.get_trail, Name=a_arn)
    assert msg.endswith(f"for the user: {BETA}")
    expect_error("TrailNotFoundException", beta.delete_trail, Name=a_arn)
    assert alpha.get_trail(Name=name)["Trail"]["TrailARN"] == a_arn
    alpha.delete_trail(Name=name)
