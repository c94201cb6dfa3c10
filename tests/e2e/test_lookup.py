"""LookupEvents over Cairn's own audit records: paging, filters, tokens, isolation, bad input."""

import pytest
from botocore.exceptions import ClientError

from conftest import ALPHA, BETA, unique, visible


def lookup_all(ct, page_size, **kwargs):
    pages = ct.get_paginator("lookup_events").paginate(PaginationConfig={"PageSize": page_size}, **kwargs)
    return [e for p in pages for e in p["Events"]]


def test_paging_filters_and_isolation(fresh_server):
    srv = fresh_server
    alpha, beta = srv.ct("alpha_admin"), srv.ct("beta_admin")
    name = unique("lk")
    bucket = srv.make_bucket("alpha_admin")
    alpha.create_trail(Name=name, S3BucketName=bucket)
    for _ in range(12):
        alpha.get_trail_status(Name=name)
    beta.describe_trails()
    visible(srv, "alpha_admin", "GetTrailStatus", 12)

    # Every call so far is in the history (management events of the caller's account and region).
    def others(evs):
        # Every lookup is itself recorded; compare what the lookups did not add.
        return [e for e in evs if e["EventName"] != "LookupEvents"]

    events = others(lookup_all(alpha, 7))
    assert len(events) >= 13  # CreateTrail and 12 GetTrailStatus (and CreateBucket on the facade)
    times = [e["EventTime"] for e in events]
    assert times == sorted(times, reverse=True)
    assert all(e["EventSource"] in ("cloudtrail.amazonaws.com", "s3.amazonaws.com") for e in events)
    assert not any(e["CloudTrailEvent"].find(BETA) >= 0 for e in events)
    for size in (1, 7, 50):
        assert [e["EventId"] for e in others(lookup_all(alpha, size))] == [e["EventId"] for e in events]

    by_name = lookup_all(alpha, 5, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetTrailStatus"}])
    assert len(by_name) == 12
    assert all(e["ReadOnly"] == "true" and e["Username"] == "admin" for e in by_name)
    created = lookup_all(alpha, 50, LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": name}])
    assert {e["EventName"] for e in created} >= {"CreateTrail", "GetTrailStatus"}
    assert all(r["ResourceType"] == "AWS::CloudTrail::Trail" for e in created for r in e["Resources"])

    # The other account sees only its own calls.
    assert [e["EventName"] for e in others(lookup_all(beta, 50))] == ["DescribeTrails"]
    # Other regions are separate histories.
    assert others(lookup_all(srv.ct("alpha_admin", region="eu-west-1"), 50)) == []


def test_tokens_are_bound_to_their_parameters(fresh_server):
    srv = fresh_server
    alpha = srv.ct("alpha_admin")
    for _ in range(4):
        alpha.list_trails()
    # Read-only calls are recorded a moment after their answer: wait until all four show.
    visible(srv, "alpha_admin", "ListTrails", 4)
    first = alpha.lookup_events(MaxResults=2)
    token = first["NextToken"]
    assert alpha.lookup_events(MaxResults=2, NextToken=token)["Events"]
    for bad in (
        lambda: alpha.lookup_events(NextToken=token, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ListTrails"}]),
        lambda: srv.ct("beta_admin").lookup_events(NextToken=token),
        lambda: alpha.lookup_events(NextToken=token[:-2] + ("00" if not token.endswith("00") else "11")),
        lambda: alpha.lookup_events(NextToken="forged"),
    ):
        with pytest.raises(ClientError) as exc:
            bad()
        assert exc.value.response["Error"]["Code"] == "InvalidNextTokenException"


@pytest.mark.parametrize(
    "kwargs,code",
    [
        ({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "a"},
                               {"AttributeKey": "Username", "AttributeValue": "b"}]}, "InvalidLookupAttributesException"),
        ({"LookupAttributes": [{"AttributeKey": "Colour", "AttributeValue": "a"}]}, "InvalidLookupAttributesException"),
        ({"StartTime": 2000, "EndTime": 1000}, "InvalidTimeRangeException"),
        ({"MaxResults": 51}, "InvalidMaxResultsException"),
        ({"EventCategory": "data"}, "InvalidEventCategoryException"),
    ],
)
def test_bad_lookups(server, kwargs, code):
    with pytest.raises(ClientError) as exc:
        server.ct("alpha_admin").lookup_events(**kwargs)
    assert exc.value.response["Error"]["Code"] == code


def test_max_results_zero_is_refused(server):
    # botocore validates MaxResults >= 1 itself; send it raw through the CLI's JSON input.
    rc, _, err = server.cli("alpha_admin", "cloudtrail", "lookup-events", "--cli-input-json", '{"MaxResults": 0}')
    assert rc != 0
    assert "InvalidMaxResultsException" in err or "MaxResults" in err


def test_cairn_lookup_cli_agrees_with_lookup_events(fresh_server):
    import csv
    import io
    import json
    import os
    import subprocess

    from conftest import IDS, cairn_bin

    srv = fresh_server
    alpha = srv.ct("alpha_admin")
    for _ in range(3):
        alpha.list_trails()
    expected = [e["EventId"] for e in lookup_all(alpha, 50) if e["EventName"] == "ListTrails"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "AWS_"))}
    env.update(AWS_ACCESS_KEY_ID=IDS["alpha_admin"].key, AWS_SECRET_ACCESS_KEY=IDS["alpha_admin"].secret)

    def run(*args):
        out = subprocess.run([cairn_bin(), "lookup", "--endpoint-url", srv.url, "--lookup-attribute",
                              "EventName=ListTrails", *args], capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout

    rows = list(csv.DictReader(io.StringIO(run("--output", "csv"))))
    assert [r["EventId"] for r in rows] == expected
    assert all(r["EventName"] == "ListTrails" and r["Username"] == "admin" for r in rows)
    records = [json.loads(line) for line in run("--output", "json").splitlines()]
    assert [r["eventID"] for r in records] == expected
    assert len(run("--output", "table", "--max-items", "2").splitlines()) == 2


def test_optional_lookup_throttle(make_server):
    # A tenth of a call per second: the second call in a row is throttled however slow the machine is.
    srv = make_server({"CAIRN_LOOKUP_RATE_LIMIT": "0.1"})
    alpha, beta = srv.ct("alpha_admin"), srv.ct("beta_admin")
    codes = []
    for _ in range(6):
        try:
            alpha.lookup_events(MaxResults=1)
            codes.append("OK")
        except ClientError as e:
            codes.append(e.response["Error"]["Code"])
    assert "ThrottlingException" in codes and codes[0] == "OK"
    # Per account: another account is not slowed by the first.
    beta.lookup_events(MaxResults=1)
