"""GET /export/events through a presigned URL, as a browser downloads it: no credentials of its
own, a CSV attachment with the caller's history, and CloudTrail's JSON errors."""

import csv
import io
import json
import urllib.error
import urllib.parse
import urllib.request

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import ALPHA, BETA, IDS, visible


def presign(srv, who, params, region="us-east-1", expires=300):
    ident = IDS[who]
    url = f"{srv.url}/export/events?{urllib.parse.urlencode(params)}"
    req = AWSRequest(method="GET", url=url)
    SigV4QueryAuth(Credentials(ident.key, ident.secret), "cloudtrail", region, expires=expires).add_auth(req)
    return req.url


def test_presigned_export_downloads_with_plain_urllib(fresh_server):
    srv = fresh_server
    alpha, beta = srv.ct("alpha_admin"), srv.ct("beta_admin")
    for _ in range(5):
        alpha.list_trails()
    beta.describe_trails()
    visible(srv, "alpha_admin", "ListTrails", 5)

    with urllib.request.urlopen(presign(srv, "alpha_admin", {"format": "csv"}), timeout=60) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert r.headers["Content-Disposition"] == f'attachment; filename="cairn-events-{ALPHA}-us-east-1.csv"'
        rows = list(csv.DictReader(io.StringIO(r.read().decode("utf-8"))))
    listed = [row for row in rows if row["EventName"] == "ListTrails"]
    assert len(listed) == 5
    assert all(row["Username"] == "admin" and row["ReadOnly"] == "true" and row["RecipientAccountId"] == ALPHA
               and row["EventSource"] == "cloudtrail.amazonaws.com" and row["AwsRegion"] == "us-east-1"
               for row in listed)
    assert not any(row["RecipientAccountId"] == BETA or row["EventName"] == "DescribeTrails" for row in rows)
    times = [row["EventTime"] for row in rows]
    assert times == sorted(times, reverse=True)

    # The same rows as LookupEvents gives for the filter, and NDJSON holds the stored records.
    expected = [e["EventId"] for p in alpha.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ListTrails"}]) for e in p["Events"]]
    url = presign(srv, "alpha_admin", {"format": "json", "attribute": "EventName", "value": "ListTrails"})
    with urllib.request.urlopen(url, timeout=60) as r:
        assert r.headers["Content-Type"] == "application/x-ndjson"
        records = [json.loads(line) for line in r.read().decode("utf-8").splitlines()]
    assert [rec["eventID"] for rec in records] == expected

    # Errors come before any byte, in CloudTrail's JSON shape.
    try:
        urllib.request.urlopen(presign(srv, "alpha_admin", {"start": "2000", "end": "1000"}), timeout=60)
        raise AssertionError("an inverted time range was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 400
        assert json.loads(e.read())["__type"] == "InvalidTimeRangeException"
    # A tampered link is refused.
    try:
        urllib.request.urlopen(presign(srv, "alpha_admin", {"format": "csv"}).replace("format=csv", "format=json"),
                               timeout=60)
        raise AssertionError("a tampered URL was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 403
        assert json.loads(e.read())["__type"] == "InvalidSignatureException"
