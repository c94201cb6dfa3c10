"""IngestEvents (Cairn's bulk ingest for trusted forwarders): a gzip NDJSON body of complete
CloudTrail records, signed by botocore for the cloudtrail-data service, then found with boto3's
lookup_events in the records' own accounts."""

import datetime
import gzip
import json
import urllib.error
import urllib.request
import uuid

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import ALPHA, BETA, IDS

REGION = "us-east-1"


def record(account: str, event_id: str) -> dict:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAFORWARDED", "accountId": account,
                         "arn": f"arn:aws:iam::{account}:user/shipper", "userName": "shipper"},
        "eventTime": now,
        "eventSource": "ec2.amazonaws.com",
        "eventName": "RunInstances",
        "awsRegion": REGION,
        "sourceIPAddress": "192.0.2.10",
        "userAgent": "log-shipper/1.0",
        "requestParameters": {"instanceType": "t3.micro"},
        "responseElements": None,
        "eventID": event_id,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }


def ingest(server, who: str, body: bytes, encoding: str | None = "gzip"):
    ident = IDS[who]
    headers = {"Content-Type": "application/json"}
    if encoding:
        headers["Content-Encoding"] = encoding
    req = AWSRequest(method="POST", url=server.url + "/IngestEvents", data=body, headers=headers)
    SigV4Auth(Credentials(ident.key, ident.secret), "cloudtrail-data", REGION).add_auth(req)
    prepared = req.prepare()
    http = urllib.request.Request(prepared.url, data=body, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(http, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def find(server, who: str, event_id: str) -> list:
    resp = server.ct(who, REGION).lookup_events(
        LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": event_id}])
    return resp["Events"]


def test_gzip_ndjson_ingest_then_lookup_events(server):
    ids = [str(uuid.uuid4()) for _ in range(3)]
    outsider = str(uuid.uuid4())
    records = [record(ALPHA, ids[0]), record(ALPHA, ids[1]), record(BETA, ids[2])]
    lines = [json.dumps(r) for r in records] + ["{not json"]
    body = gzip.compress("\n".join(lines).encode())

    # alpha is the organization's management account: its own records and its member's.
    status, reply = ingest(server, "alpha_admin", body)
    assert status == 200, reply
    assert reply["Accepted"] == 3 and reply["Duplicates"] == 0
    assert [r["Index"] for r in reply["Rejected"]] == [3]
    assert len(reply["BatchId"]) == 64

    found = find(server, "alpha_admin", ids[0])
    assert len(found) == 1
    assert json.loads(found[0]["CloudTrailEvent"]) == records[0]
    assert found[0]["EventName"] == "RunInstances" and found[0]["Username"] == "shipper"
    assert len(find(server, "beta_admin", ids[2])) == 1

    # A retry of the same body adds nothing.
    status, again = ingest(server, "alpha_admin", body)
    assert status == 200
    assert again["Accepted"] == 0 and again["Duplicates"] == 3 and again["BatchId"] == reply["BatchId"]
    assert len(find(server, "alpha_admin", ids[0])) == 1

    # beta is a member: alpha's records are not its to ingest.
    body = gzip.compress(json.dumps([record(ALPHA, outsider)]).encode())
    status, reply = ingest(server, "beta_admin", body)
    assert status == 200 and reply["Accepted"] == 0
    assert ALPHA in reply["Rejected"][0]["Reason"]
    assert find(server, "alpha_admin", outsider) == []


def test_unsigned_and_malformed_bodies_are_refused(server):
    req = urllib.request.Request(server.url + "/IngestEvents", data=b"[]", method="POST")
    try:
        urllib.request.urlopen(req, timeout=30)
        raise AssertionError("an unsigned IngestEvents was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 403
        assert json.loads(e.read())["__type"] == "MissingAuthenticationTokenException"
    status, reply = ingest(server, "alpha_admin", b"[{", encoding=None)
    assert status == 400 and reply["__type"] == "SerializationException"
