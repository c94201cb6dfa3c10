"""Policies (read-only user, explicit deny) and isolation between accounts."""

import pytest
from botocore.exceptions import ClientError

from conftest import ALPHA, BETA, IDS, error_code, error_message, local_buckets_only, unique

REGION = "eu-west-3"


def arn(name, account=ALPHA, region=REGION):
    return f"arn:aws:cloudtrail:{region}:{account}:trail/{name}"


def test_reader_can_read_but_not_write(server, shared_bucket):
    admin = server.ct("alpha_admin", REGION)
    reader = server.ct("alpha_reader", REGION)
    name = unique("authz")
    admin.create_trail(Name=name, S3BucketName=shared_bucket)
    assert reader.get_trail(Name=name)["Trail"]["Name"] == name
    assert name in [t["Name"] for t in reader.describe_trails()["trailList"]]
    assert reader.get_trail_status(Name=name)["IsLogging"] is False
    reader.list_trails()
    reader.get_event_selectors(TrailName=name)
    reader.list_tags(ResourceIdList=[arn(name)])

    for call, kwargs, action in [
        (reader.create_trail, {"Name": unique("authz"), "S3BucketName": shared_bucket}, "CreateTrail"),
        (reader.delete_trail, {"Name": name}, "DeleteTrail"),
        (reader.update_trail, {"Name": name, "S3KeyPrefix": "x"}, "UpdateTrail"),
        (reader.start_logging, {"Name": name}, "StartLogging"),
        (reader.add_tags, {"ResourceId": arn(name), "TagsList": [{"Key": "a", "Value": "b"}]}, "AddTags"),
    ]:
        with pytest.raises(ClientError) as exc:
            call(**kwargs)
        assert error_code(exc.value) == "AccessDeniedException", (action, exc.value.response)
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)
        assert error_message(exc.value).startswith(
            f"User: arn:aws:iam::{ALPHA}:user/reader is not authorized to perform: cloudtrail:{action} on resource: "
        ), error_message(exc.value)
    assert admin.get_trail(Name=name)["Trail"].get("S3KeyPrefix") is None
    admin.delete_trail(Name=name)


def test_denied_call_is_recorded(fresh_server):
    bucket = fresh_server.make_bucket("alpha_admin")
    reader = fresh_server.ct("alpha_reader", REGION)
    name = unique("denied")
    with pytest.raises(ClientError) as exc:
        reader.create_trail(Name=name, S3BucketName=bucket)
    message = error_message(exc.value)
    assert message == (f"User: arn:aws:iam::{ALPHA}:user/reader is not authorized to perform: cloudtrail:CreateTrail "
                       f"on resource: {arn(name)}") or message.startswith(
        f"User: arn:aws:iam::{ALPHA}:user/reader is not authorized to perform: cloudtrail:CreateTrail "
        f"on resource: {arn(name)} ")
    request_id = exc.value.response["ResponseMetadata"]["RequestId"]
    events = [e for e in fresh_server.dump() if e["eventSource"] == "cloudtrail.amazonaws.com"]
    assert len(events) == 1, events
    ev = events[0]
    assert ev["eventName"] == "CreateTrail"
    assert ev["errorCode"].startswith("AccessDenied"), ev["errorCode"]
    assert ev["errorMessage"] == message
    assert ev["requestID"] == request_id
    assert ev["userIdentity"]["type"] == "IAMUser"
    assert ev["userIdentity"]["userName"] == "reader"
    assert ev["userIdentity"]["arn"] == IDS["alpha_reader"].arn
    assert ev["userIdentity"]["accessKeyId"] == IDS["alpha_reader"].key
    assert ev["requestParameters"] == {"name": name, "s3BucketName": bucket}
    assert ev["responseElements"] is None
    assert ev["readOnly"] is False
    assert ev["awsRegion"] == REGION


def test_explicit_deny(server, shared_bucket):
    ct = server.ct("alpha_denier", REGION)
    name = unique("deny")
    ct.create_trail(Name=name, S3BucketName=shared_bucket)
    ct.update_trail(Name=name, S3KeyPrefix="ok")
    ct.start_logging(Name=name)
    with pytest.raises(ClientError) as exc:
        ct.delete_trail(Name=name)
    assert error_code(exc.value) == "AccessDeniedException"
    assert error_message(exc.value).startswith(
        f"User: arn:aws:iam::{ALPHA}:user/nodelete is not authorized to perform: cloudtrail:DeleteTrail on resource: "
        f"{arn(name)}")
    assert ct.get_trail(Name=name)["Trail"]["Name"] == name
    server.ct("alpha_admin", REGION).delete_trail(Name=name)


def test_root_and_admin_see_the_same_account(server, shared_bucket):
    name = unique("acct")
    server.ct("alpha_root", REGION).create_trail(Name=name, S3BucketName=shared_bucket)
    assert server.ct("alpha_admin", REGION).get_trail(Name=name)["Trail"]["TrailARN"] == arn(name)
    server.ct("alpha_admin", REGION).delete_trail(Name=name)


def test_trail_isolation(server, shared_bucket):
    alpha = server.ct("alpha_admin", REGION)
    beta = server.ct("beta_admin", REGION)
    name = unique("iso")
    alpha.create_trail(Name=name, S3BucketName=shared_bucket)
    assert name not in [t["Name"] for t in beta.describe_trails()["trailList"]]
    assert name not in [t["Name"] for t in beta.list_trails()["Trails"]]
    for call, kwargs in [(beta.get_trail, {"Name": arn(name)}), (beta.get_trail, {"Name": name}),
                         (beta.get_trail_status, {"Name": arn(name)}), (beta.delete_trail, {"Name": arn(name)}),
                         (beta.update_trail, {"Name": arn(name), "S3KeyPrefix": "x"})]:
        with pytest.raises(ClientError) as exc:
            call(**kwargs)
        assert error_code(exc.value) == "TrailNotFoundException", exc.value.response
    with pytest.raises(ClientError) as exc:
        beta.list_tags(ResourceIdList=[arn(name)])
    assert error_code(exc.value) == "ResourceNotFoundException"
    # beta may use the same name for its own trail
    beta_bucket = server.make_bucket("beta_admin")
    assert beta.create_trail(Name=name, S3BucketName=beta_bucket)["TrailARN"] == arn(name, BETA)
    assert alpha.get_trail(Name=name)["Trail"]["S3BucketName"] == shared_bucket
    beta.delete_trail(Name=name)
    alpha.delete_trail(Name=name)


@local_buckets_only
def test_bucket_isolation(server):
    a = server.s3("alpha_admin")
    b = server.s3("beta_admin")
    name = unique("iso-bkt")
    a.create_bucket(Bucket=name)
    assert name in [x["Name"] for x in a.list_buckets()["Buckets"]]
    assert name not in [x["Name"] for x in b.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as exc:
        b.head_bucket(Bucket=name)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as exc:
        b.list_objects_v2(Bucket=name)
    assert error_code(exc.value) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        b.get_bucket_location(Bucket=name)
    assert error_code(exc.value) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        b.delete_bucket(Bucket=name)
    assert error_code(exc.value) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        b.create_bucket(Bucket=name)
    assert error_code(exc.value) == "BucketAlreadyExists"
    # a trail of beta's cannot deliver to alpha's bucket
    with pytest.raises(ClientError) as exc:
        server.ct("beta_admin", REGION).create_trail(Name=unique("iso"), S3BucketName=name)
    assert error_code(exc.value) == "InsufficientS3BucketPolicyException"
    a.head_bucket(Bucket=name)
    a.delete_bucket(Bucket=name)


@local_buckets_only
def test_reader_cannot_create_bucket(server):
    with pytest.raises(ClientError) as exc:
        server.s3("alpha_reader").create_bucket(Bucket=unique("rd-bkt"))
    assert error_code(exc.value) == "AccessDenied"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
