"""Self-audit: every call to Cairn becomes exactly one CloudTrail record, with the right fields."""

import datetime
import re
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ALPHA, BETA, BUCKET_BACKEND, IDS, Identity, lower_camel, unique

REGION = "eu-west-2"
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def request_id(resp_or_exc):
    meta = resp_or_exc.response["ResponseMetadata"] if isinstance(resp_or_exc, ClientError) else resp_or_exc[
        "ResponseMetadata"]
    headers = meta["HTTPHeaders"]
    # CloudTrail's JSON API answers x-amzn-RequestId; S3 answers x-amz-request-id
    assert headers.get("x-amzn-requestid", headers.get("x-amz-request-id")) == meta["RequestId"]
    return meta["RequestId"]


def call(fn, **kwargs):
    """Runs a call; returns (response or None, exception or None, request id)."""
    try:
        resp = fn(**kwargs)
        return resp, None, request_id(resp)
    except ClientError as e:
        return None, e, request_id(e)


def test_n_calls_make_n_events(fresh_server):
    srv = fresh_server
    ids = []
    s3_calls = 0
    if BUCKET_BACKEND == "local":
        bucket = unique("bkt")
        ids.append(request_id(srv.s3("alpha_admin").create_bucket(Bucket=bucket)))
        s3_calls = 1
    else:
        bucket = srv.make_bucket()
    admin = srv.ct("alpha_admin", REGION)
    reader = srv.ct("alpha_reader", REGION)
    beta = srv.ct("beta_root", "us-east-1")
    wrong_secret = srv.ct(Identity("x", ALPHA, IDS["alpha_admin"].key, "not-the-secret-at-all-000", "admin"), REGION)
    name = unique("aud")
    plan = [
        (admin.create_trail, {"Name": name, "S3BucketName": bucket}),
        (admin.describe_trails, {}),
        (admin.get_trail, {"Name": name}),
        (admin.get_trail, {"Name": unique("missing")}),  # error
        (admin.create_trail, {"Name": "no", "S3BucketName": bucket}),  # validation error
        (reader.create_trail, {"Name": unique("aud"), "S3BucketName": bucket}),  # access denied
        (reader.list_trails, {}),
        (admin.start_logging, {"Name": name}),
        (admin.get_trail_status, {"Name": name}),
        (admin.list_channels, {}),  # read-only
        (beta.describe_trails, {}),
        (admin.delete_trail, {"Name": name}),
    ]
    for fn, kwargs in plan:
        ids.append(call(fn, **kwargs)[2])
    # a bad signature made with a known access key is recorded too
    _, exc, rid = call(wrong_secret.describe_trails)
    assert exc is not None and exc.response["Error"]["Code"] == "InvalidSignatureException"
    ids.append(rid)
    # an unknown access key is not
    unknown = srv.ct(Identity("u", ALPHA, "AKIAUNKNOWNKEY000001", "whatever-secret-0000000", None), REGION)
    _, exc, _ = call(unknown.describe_trails)
    assert exc.response["Error"]["Code"] == "UnrecognizedClientException"

    events = srv.dump()
    assert len(events) == len(ids), [(e["eventName"], e.get("errorCode")) for e in events]
    assert [e["requestID"] for e in events] == ids  # arrival order
    assert len({e["eventID"] for e in events}) == len(events)
    assert sum(e["eventSource"] == "s3.amazonaws.com" for e in events) == s3_calls
    names = [e["eventName"] for e in events if e["eventSource"] == "cloudtrail.amazonaws.com"]
    assert names == ["CreateTrail", "DescribeTrails", "GetTrail", "GetTrail", "CreateTrail", "CreateTrail",
                     "ListTrails", "StartLogging", "GetTrailStatus", "ListChannels", "DescribeTrails", "DeleteTrail",
                     "DescribeTrails"]
    by_id = {e["requestID"]: e for e in events}
    assert by_id[ids[-1]]["errorCode"] == "InvalidSignatureException"
    assert by_id[ids[-1]]["userIdentity"]["accessKeyId"] == IDS["alpha_admin"].key
    beta_event = [e for e in events if e["userIdentity"]["accountId"] == BETA]
    assert len(beta_event) == 1
    assert beta_event[0]["userIdentity"]["type"] == "Root"
    assert beta_event[0]["userIdentity"]["arn"] == f"arn:aws:iam::{BETA}:root"
    assert beta_event[0]["recipientAccountId"] == BETA
    assert beta_event[0]["awsRegion"] == "us-east-1"


def test_create_trail_record_field_by_field(fresh_server):
    srv = fresh_server
    bucket = srv.make_bucket()
    ct = srv.ct("alpha_admin", REGION)
    name = unique("fields")
    before = now()
    resp = ct.create_trail(Name=name, S3BucketName=bucket)
    after = now()
    rid = request_id(resp)
    trail_arn = f"arn:aws:cloudtrail:{REGION}:{ALPHA}:trail/{name}"
    events = [e for e in srv.dump() if e["eventSource"] == "cloudtrail.amazonaws.com"]
    assert len(events) == 1
    ev = events[0]

    assert re.fullmatch(r"1\.\d\d", ev["eventVersion"]), ev["eventVersion"]
    ui = ev["userIdentity"]
    assert ui["type"] == "IAMUser"
    assert isinstance(ui["principalId"], str) and ui["principalId"]
    assert ui["arn"] == f"arn:aws:iam::{ALPHA}:user/admin"
    assert ui["accountId"] == ALPHA
    assert ui["accessKeyId"] == IDS["alpha_admin"].key
    assert ui["userName"] == "admin"
    assert TIME_RE.match(ev["eventTime"]), ev["eventTime"]
    assert before <= parse_time(ev["eventTime"]) <= after
    assert ev["eventSource"] == "cloudtrail.amazonaws.com"
    assert ev["eventName"] == "CreateTrail"
    assert ev["awsRegion"] == REGION
    assert ev["sourceIPAddress"] == "127.0.0.1"
    assert "Boto3/" in ev["userAgent"] and "Botocore/" in ev["userAgent"]
    assert ev["requestParameters"] == {"name": name, "s3BucketName": bucket}
    expected_response = {k: v for k, v in resp.items() if k != "ResponseMetadata"}
    assert ev["responseElements"] == lower_camel(expected_response)
    assert ev["responseElements"]["trailARN"] == trail_arn
    assert "errorCode" not in ev and "errorMessage" not in ev
    assert ev["requestID"] == rid
    assert str(uuid.UUID(ev["eventID"])) == ev["eventID"]
    assert ev["readOnly"] is False
    assert ev["resources"] == [{"accountId": ALPHA, "type": "AWS::CloudTrail::Trail", "ARN": trail_arn}]
    assert ev["eventType"] == "AwsApiCall"
    assert ev["managementEvent"] is True
    assert ev["recipientAccountId"] == ALPHA
    assert ev["eventCategory"] == "Management"


def test_failed_call_record(fresh_server):
    srv = fresh_server
    ct = srv.ct("alpha_root", "ap-southeast-2")
    name = unique("gone")
    with pytest.raises(ClientError) as exc:
        ct.get_trail(Name=name)
    rid = request_id(exc.value)
    trail_arn = f"arn:aws:cloudtrail:ap-southeast-2:{ALPHA}:trail/{name}"
    message = exc.value.response["Error"]["Message"]
    assert message == f"Unknown trail: {trail_arn} for the user: {ALPHA}"
    (ev,) = srv.dump()
    assert ev["eventName"] == "GetTrail"
    assert ev["errorCode"] == "TrailNotFoundException"
    assert ev["errorMessage"] == message
    assert ev["requestID"] == rid
    assert ev["requestParameters"] == {"name": name}
    assert ev["responseElements"] is None
    assert ev["readOnly"] is True
    assert ev["awsRegion"] == "ap-southeast-2"
    assert ev["userIdentity"]["type"] == "Root"
    assert ev["userIdentity"]["arn"] == f"arn:aws:iam::{ALPHA}:root"
    assert ev["userIdentity"]["accountId"] == ALPHA
    assert ev["userIdentity"]["accessKeyId"] == IDS["alpha_root"].key
    assert ev["eventType"] == "AwsApiCall"
    assert ev["managementEvent"] is True
    assert ev["eventCategory"] == "Management"
    assert ev["recipientAccountId"] == ALPHA


def test_read_only_and_write_records(fresh_server):
    srv = fresh_server
    bucket = srv.make_bucket()
    ct = srv.ct("alpha_admin", REGION)
    name = unique("rw")
    arn = ct.create_trail(Name=name, S3BucketName=bucket)["TrailARN"]
    r_desc = ct.describe_trails(trailNameList=[name])
    r_upd = ct.update_trail(Name=name, S3KeyPrefix="pfx")
    r_sel = ct.put_event_selectors(TrailName=name, EventSelectors=[{"ReadWriteType": "ReadOnly",
                                                                    "IncludeManagementEvents": False}])
    r_tags = ct.list_tags(ResourceIdList=[arn])
    events = {e["requestID"]: e for e in srv.dump()}

    desc = events[request_id(r_desc)]
    assert desc["readOnly"] is True and desc["responseElements"] is None
    assert desc["requestParameters"] == {"trailNameList": [name]}

    upd = events[request_id(r_upd)]
    assert upd["readOnly"] is False
    assert upd["requestParameters"] == {"name": name, "s3KeyPrefix": "pfx"}
    assert upd["responseElements"] == lower_camel({k: v for k, v in r_upd.items() if k != "ResponseMetadata"})
    assert upd["resources"] == [{"accountId": ALPHA, "type": "AWS::CloudTrail::Trail", "ARN": arn}]

    sel = events[request_id(r_sel)]
    assert sel["eventName"] == "PutEventSelectors"
    assert sel["requestParameters"] == {"trailName": name, "eventSelectors": [
        {"readWriteType": "ReadOnly", "includeManagementEvents": False}]}
    assert sel["responseElements"]["trailARN"] == arn

    tags = events[request_id(r_tags)]
    assert tags["readOnly"] is True and tags["responseElements"] is None
    assert tags["requestParameters"] == {"resourceIdList": [arn]}


def test_request_ids_match_headers_cli(fresh_server):
    srv = fresh_server
    rc, out, err = srv.cli("alpha_admin", "cloudtrail", "describe-trails", "--debug", region=REGION)
    assert rc == 0
    m = re.findall(r"x-amzn-requestid['\"]?: ['\"]?([0-9a-fA-F-]{36})", err, re.I)
    assert m, "no x-amzn-RequestId header in the CLI's debug output"
    (ev,) = srv.dump()
    assert ev["requestID"] == m[-1]
    assert ev["userAgent"].startswith("aws-cli/")
    assert ev["eventName"] == "DescribeTrails"


@pytest.mark.skipif(BUCKET_BACKEND != "local", reason="needs Cairn's own S3 facade")
def test_s3_bad_signature_with_known_key_is_recorded(fresh_server):
    srv = fresh_server
    bucket = srv.make_bucket("alpha_admin")
    good = IDS["alpha_admin"]
    wrong = srv.s3(Identity("w", ALPHA, good.key, "not-the-right-secret-0000000000", "admin"))
    with pytest.raises(ClientError) as exc:
        wrong.list_objects_v2(Bucket=bucket)
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    rid = exc.value.response["ResponseMetadata"]["RequestId"]
    (event,) = [e for e in srv.dump() if e.get("requestID") == rid]
    assert event["eventSource"] == "s3.amazonaws.com"
    assert event["eventName"] == "ListObjects"
    assert event["errorCode"] == "SignatureDoesNotMatch"
    assert event["userIdentity"]["accessKeyId"] == good.key
    assert event["requestParameters"]["bucketName"] == bucket
