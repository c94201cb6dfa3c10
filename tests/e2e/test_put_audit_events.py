"""CloudTrail Lake integrations: channels (CloudTrail's JSON API) and PutAuditEvents (CloudTrail
Data's rest-json API), down to the records stored in the event log."""

import base64
import datetime
import hashlib
import json
import re
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ALPHA, BETA, error_code, unique

REGION = "us-east-1"
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def checksum(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def event_data(account=ALPHA, **over):
    d = {
        "version": "1.0",
        "userIdentity": {"type": "CustomUserIdentity", "principalId": "alice", "details": {"team": "blue"}},
        "userAgent": "my-app/1.0",
        "eventSource": "my.application",
        "eventName": "UserLogin",
        "eventTime": "2026-01-02T03:04:05Z",
        "UID": str(uuid.uuid4()),
        "requestParameters": {"user": "alice", "n": 1},
        "responseElements": {"ok": True},
        "sourceIPAddress": "10.0.0.1",
        "recipientAccountId": account,
        "additionalEventData": {"k": "v"},
    }
    for k, v in over.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return d


def audit_event(id_, data, with_checksum=True, text=None):
    text = text if text is not None else json.dumps(data)
    e = {"id": id_, "eventData": text}
    if with_checksum:
        e["eventDataChecksum"] = checksum(text)
    return e


def make_channel(srv, who="alpha_admin", region=REGION, name=None):
    ct = srv.ct(who, region)
    resp = ct.create_channel(
        Name=name or unique("chan"),
        Source="Custom",
        Destinations=[{"Type": "EVENT_DATA_STORE", "Location": "arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/eds1"}],
        Tags=[{"Key": "team", "Value": "blue"}],
    )
    return resp


def test_channel_lifecycle(server):
    ct = server.ct("alpha_admin")
    name = unique("chan")
    created = make_channel(server, name=name)
    arn = created["ChannelArn"]
    assert re.fullmatch(rf"arn:aws:cloudtrail:{REGION}:{ALPHA}:channel/[0-9a-f-]{{36}}", arn)
    assert created["Name"] == name and created["Source"] == "Custom"
    assert created["Destinations"][0]["Type"] == "EVENT_DATA_STORE"
    assert created["Tags"] == [{"Key": "team", "Value": "blue"}]

    with pytest.raises(ClientError) as e:
        make_channel(server, name=name)
    assert error_code(e.value) == "ChannelAlreadyExistsException"

    got = ct.get_channel(Channel=arn)
    assert got["ChannelArn"] == arn and got["Name"] == name
    assert got["SourceConfig"] == {"ApplyToAllRegions": False, "AdvancedEventSelectors": []}
    assert got["IngestionStatus"] == {}
    # by id too
    assert ct.get_channel(Channel=arn.rsplit("/", 1)[1])["ChannelArn"] == arn

    listed = ct.list_channels()["Channels"]
    assert {"ChannelArn": arn, "Name": name} in listed

    new_name = unique("renamed")
    upd = ct.update_channel(Channel=arn, Name=new_name,
                            Destinations=[{"Type": "AWS_SERVICE", "Location": "my-service"}])
    assert upd["Name"] == new_name and upd["Destinations"] == [{"Type": "AWS_SERVICE", "Location": "my-service"}]
    assert ct.get_channel(Channel=arn)["Name"] == new_name

    for bad, code in [("arn:aws:cloudtrail:us-east-1:111:channel/x", "ChannelARNInvalidException"),
                      ("not an id!", "ChannelARNInvalidException"),
                      (f"arn:aws:cloudtrail:{REGION}:{ALPHA}:channel/{uuid.uuid4()}", "ChannelNotFoundException")]:
        with pytest.raises(ClientError) as e:
            ct.get_channel(Channel=bad)
        assert error_code(e.value) == code, bad

    with pytest.raises(ClientError) as e:
        ct.create_channel(Name="x y z", Source="Custom", Destinations=[{"Type": "AWS_SERVICE", "Location": "abc"}])
    assert error_code(e.value) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        ct.create_channel(Name=unique("c"), Source="Custom", Destinations=[{"Type": "S3", "Location": "abc"}])
    assert error_code(e.value) == "InvalidParameterException"

    ct.delete_channel(Channel=arn)
    with pytest.raises(ClientError) as e:
        ct.get_channel(Channel=arn)
    assert error_code(e.value) == "ChannelNotFoundException"
    with pytest.raises(ClientError) as e:
        ct.delete_channel(Channel=arn)
    assert error_code(e.value) == "ChannelNotFoundException"


def test_list_channels_pages(server):
    ct = server.ct("alpha_admin", "eu-north-1")
    arns = {make_channel(server, region="eu-north-1")["ChannelArn"] for _ in range(3)}
    seen, token, pages = [], None, 0
    while True:
        kw = {"MaxResults": 2}
        if token:
            kw["NextToken"] = token
        r = ct.list_channels(**kw)
        pages += 1
        seen += [c["ChannelArn"] for c in r["Channels"]]
        token = r.get("NextToken")
        if not token:
            break
    assert arns <= set(seen) and len(seen) == len(set(seen)) and pages >= 2


def test_channels_are_per_account_and_region(server):
    arn = make_channel(server)["ChannelArn"]
    beta = server.ct("beta_admin")
    assert arn not in [c["ChannelArn"] for c in beta.list_channels()["Channels"]]
    with pytest.raises(ClientError) as e:
        beta.get_channel(Channel=arn)
    assert error_code(e.value) == "ChannelNotFoundException"
    with pytest.raises(ClientError) as e:
        server.ct("alpha_admin", "eu-west-1").get_channel(Channel=arn)
    assert error_code(e.value) == "ChannelNotFoundException"
    # beta cannot put into alpha's channel either
    cd = server.client("cloudtrail-data", "beta_admin")
    with pytest.raises(ClientError) as e:
        cd.put_audit_events(channelArn=arn, auditEvents=[audit_event("a", event_data(BETA))])
    assert error_code(e.value) == "ChannelNotFound"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_put_audit_events_mixed_results(server):
    arn = make_channel(server)["ChannelArn"]
    cd = server.client("cloudtrail-data")
    good = event_data()
    missing = event_data(eventName=None)
    missing_identity_field = event_data(userIdentity={"type": "X"})
    wrong_recipient = event_data(recipientAccountId=BETA)
    too_long = event_data(eventName="x" * 1025)
    bad_time = event_data(eventTime="2026-01-02 03:04:05")
    events = [
        audit_event("good-1", good),
        audit_event("good_2", good, with_checksum=False),
        {"id": "badsum", "eventData": json.dumps(good), "eventDataChecksum": checksum("something else")},
        audit_event("missing", missing),
        audit_event("missing-principal", missing_identity_field),
        audit_event("recipient", wrong_recipient),
        audit_event("toolong", too_long),
        audit_event("badtime", bad_time),
        audit_event("notjson", None, text="{not json"),
    ]
    resp = cd.put_audit_events(channelArn=arn, auditEvents=events)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    ok = {s["id"]: s["eventID"] for s in resp["successful"]}
    assert set(ok) == {"good-1", "good_2"}
    for v in ok.values():
        uuid.UUID(v)
    failed = {f["id"]: f for f in resp["failed"]}
    assert {k: f["errorCode"] for k, f in failed.items()} == {
        "badsum": "InvalidChecksum",
        "missing": "FieldNotFound",
        "missing-principal": "FieldNotFound",
        "recipient": "InvalidRecipient",
        "toolong": "FieldTooLong",
        "badtime": "InvalidData",
        "notjson": "InvalidData",
    }
    assert "eventName" in failed["missing"]["errorMessage"]
    assert "userIdentity.principalId" in failed["missing-principal"]["errorMessage"]

    # the channel's ingestion status follows
    st = server.ct("alpha_admin").get_channel(Channel=arn)["IngestionStatus"]
    assert st["LatestIngestionSuccessEventID"] == ok["good_2"]
    assert st["LatestIngestionAttemptEventID"] == ok["good_2"]
    assert st["LatestIngestionErrorCode"] == "InvalidData"
    assert isinstance(st["LatestIngestionSuccessTime"], datetime.datetime)
    assert isinstance(st["LatestIngestionAttemptTime"], datetime.datetime)


def test_operation_errors(server):
    arn = make_channel(server)["ChannelArn"]
    cd = server.client("cloudtrail-data")
    ev = event_data()

    with pytest.raises(ClientError) as e:
        cd.put_audit_events(channelArn=arn, auditEvents=[audit_event("same", ev), audit_event("same", ev)])
    assert error_code(e.value) == "DuplicatedAuditEventId"
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "DuplicatedAuditEventId"
    assert e.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as e:
        cd.put_audit_events(channelArn=arn, auditEvents=[audit_event(f"e{i}", ev) for i in range(101)])
    assert error_code(e.value) == "ValidationException"
    assert "100" in e.value.response["Error"]["Message"]

    big = json.dumps(event_data(additionalEventData={"pad": "x" * 90_000}))
    with pytest.raises(ClientError) as e:
        cd.put_audit_events(channelArn=arn, auditEvents=[audit_event(f"b{i}", None, text=big) for i in range(12)])
    assert error_code(e.value) == "ValidationException"
    assert "1048576" in e.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as e:
        cd.put_audit_events(channelArn="arn:aws:cloudtrail:us-east-1:bad", auditEvents=[audit_event("a", ev)])
    assert error_code(e.value) == "InvalidChannelARN"

    with pytest.raises(ClientError) as e:
        cd.put_audit_events(channelArn=f"arn:aws:cloudtrail:{REGION}:{ALPHA}:channel/{uuid.uuid4()}",
                            auditEvents=[audit_event("a", ev)])
    assert error_code(e.value) == "ChannelNotFound"

    with pytest.raises(ClientError) as e:
        cd.put_audit_events(channelArn=arn, auditEvents=[audit_event("not valid!", ev)])
    assert error_code(e.value) == "ValidationException"

    # a principal without cloudtrail-data:PutAuditEvents
    with pytest.raises(ClientError) as e:
        server.client("cloudtrail-data", "alpha_reader").put_audit_events(channelArn=arn, auditEvents=[audit_event("a", ev)])
    assert error_code(e.value) == "AccessDeniedException"

    # none of these touched the channel's status
    assert server.ct("alpha_admin").get_channel(Channel=arn)["IngestionStatus"] == {}

    # by channel id, with an externalId
    r = cd.put_audit_events(channelArn=arn.rsplit("/", 1)[1], externalId="ext-1", auditEvents=[audit_event("a", ev)])
    assert len(r["successful"]) == 1 and r["failed"] == []


def test_stored_records(fresh_server):
    srv = fresh_server
    arn = make_channel(srv)["ChannelArn"]
    cd = srv.client("cloudtrail-data")
    data = event_data()
    # odd spacing and number spellings: the text is kept (only insignificant whitespace goes)
    text = json.dumps(data, indent=2).replace('"n": 1', '"n": 1.50')
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    resp = cd.put_audit_events(channelArn=arn, externalId="ext-42",
                               auditEvents=[audit_event("one", None, text=text), audit_event("two", event_data(eventName=None))])
    event_id = resp["successful"][0]["eventID"]
    beta_arn = make_channel(srv, who="beta_admin")["ChannelArn"]
    srv.client("cloudtrail-data", "beta_admin").put_audit_events(
        channelArn=beta_arn, auditEvents=[audit_event("b", event_data(BETA))])

    records = srv.dump()
    wrapped = [r for r in records if r.get("eventCategory") == "ActivityAuditLog"]
    assert len(wrapped) == 2
    rec = next(r for r in wrapped if r["eventID"] == event_id)
    assert list(rec) == ["eventVersion", "eventCategory", "eventType", "eventID", "eventTime", "awsRegion",
                         "recipientAccountId", "metadata", "eventData"]
    assert rec["eventVersion"] == "0.01"
    assert rec["eventType"] == "ActivityLog"
    assert rec["eventTime"] == data["eventTime"]
    assert rec["awsRegion"] == REGION
    assert rec["recipientAccountId"] == ALPHA
    assert rec["metadata"]["channelARN"] == arn
    assert TIME_RE.match(rec["metadata"]["ingestionTime"])
    ingested = datetime.datetime.strptime(rec["metadata"]["ingestionTime"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    assert before - datetime.timedelta(seconds=2) <= ingested <= before + datetime.timedelta(minutes=1)
    expected = dict(data)
    expected["requestParameters"] = {"user": "alice", "n": 1.5}
    assert rec["eventData"] == expected
    other = next(r for r in wrapped if r["eventID"] != event_id)
    assert other["recipientAccountId"] == BETA and other["metadata"]["channelARN"] == beta_arn

    calls = [r for r in records if r.get("eventSource") == "cloudtrail-data.amazonaws.com"]
    assert len(calls) == 2
    mine = next(r for r in calls if r["recipientAccountId"] == ALPHA)
    assert mine["eventName"] == "PutAuditEvents"
    assert mine["eventCategory"] == "Management" and mine["managementEvent"] is True
    assert mine["readOnly"] is False
    assert mine["requestParameters"] == {"channelArn": arn, "externalId": "ext-42"}
    assert mine["resources"] == [{"accountId": ALPHA, "type": "AWS::CloudTrail::Channel", "ARN": arn}]
    assert "errorCode" not in mine
    # no event bodies in the call's record
    assert "UserLogin" not in json.dumps(mine)
    created = [r for r in records if r.get("eventName") == "CreateChannel"]
    assert len(created) == 2


def test_channels_and_status_survive_a_restart(fresh_server):
    srv = fresh_server
    arn = make_channel(srv)["ChannelArn"]
    cd = srv.client("cloudtrail-data")
    with pytest.raises(ClientError) as e:
        cd.put_audit_events(channelArn=arn, externalId="has space", auditEvents=[audit_event("a", event_data())])
    assert error_code(e.value) == "ValidationException"
    r = cd.put_audit_events(channelArn=arn, externalId="ext", auditEvents=[audit_event("a", event_data())])
    before = srv.ct().get_channel(Channel=arn)
    srv.restart()
    after = srv.ct().get_channel(Channel=arn)
    assert after["IngestionStatus"] == before["IngestionStatus"]
    assert after["IngestionStatus"]["LatestIngestionSuccessEventID"] == r["successful"][0]["eventID"]
    assert after["Name"] == before["Name"] and after["Destinations"] == before["Destinations"]
