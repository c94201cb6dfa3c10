"""Importing the real CloudTrail records of testdata/samples, then LookupEvents by every attribute
against an oracle: a jq filter over the same files (CloudTrail's event history semantics written
in jq), for several values of each attribute, paging with MaxResults 1, 7 and 50."""

import collections
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BUCKET_BACKEND, CairnServer, Identity, cairn_bin

# Independent of where buckets live: run once.
pytestmark = pytest.mark.skipif(BUCKET_BACKEND != "local", reason="runs with the local bucket backend")

SAMPLES = Path(__file__).resolve().parents[2] / "testdata" / "samples"

# The accounts and regions of the samples that the test queries (the first holds 2,900 records).
ACCOUNTS = [("123837392027", "us-east-1"), ("056392974792", "sagov-westsouth-1r"), ("017622104382", "us-north-2r")]

JQ_DEFS = r"""
def records: if type == "array" then .[] else (.Records // [.])[] end;
def nonempty: select(. != null and . != "");
def account: ((.recipientAccountId | nonempty) // (.userIdentity.accountId | nonempty));
def username: .userIdentity as $u
  | if $u == null then null
    elif (($u.userName // "") != "") then $u.userName
    elif ($u.type == "AssumedRole" or $u.type == "FederatedUser") then
      ((($u.arn // "") | split("/") | last | select(. != "" and (startswith("arn:") | not)))
       // $u.sessionContext.sessionIssuer.userName)
    elif $u.type == "Root" then "root"
    elif $u.type == "AWSService" then $u.invokedBy
    else ($u.principalId | nonempty) end;
def rname: ((.ARN | nonempty) // (.ARNPrefix | nonempty)) as $a
  | if $a == null then null else
      ($a | split(":")) as $p
      | if ($p | length) < 6 then null else
          ($p[5:] | join(":")) as $res
          | (if ($res | contains("/")) then
               (if ($a | startswith("arn:aws:s3:::")) or ($a | contains(":s3:::")) then $res
                else ($res | sub("^[^/]*/"; "")) end)
             else ($res | split(":") | last) end) | nonempty
        end
    end;
def attr($k):
  if $k == "EventId" then [.eventID]
  elif $k == "EventName" then [.eventName]
  elif $k == "EventSource" then [.eventSource]
  elif $k == "ReadOnly" then [if .readOnly == null then null else (.readOnly | tostring) end]
  elif $k == "Username" then [username]
  elif $k == "AccessKeyId" then [.userIdentity.accessKeyId | nonempty]
  elif $k == "ResourceType" then [.resources[]?.type | nonempty]
  elif $k == "ResourceName" then [.resources[]? | rname]
  else [] end;
"""


def jq(program: str, files: list[str], **args) -> list:
    cmd = ["jq", "-c", "-n"]
    for k, v in args.items():
        cmd += ["--arg", k, v]
    out = subprocess.run(cmd + [JQ_DEFS + program] + files, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in out.stdout.splitlines()]


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    if shutil.which("jq") is None:
        pytest.fail("jq is required (scripts/test installs it)")
    root = tmp_path_factory.mktemp("imported")
    srv = CairnServer(root)
    keys = "\n".join(
        f'[[accounts]]\nid = "{a}"\nroot_access_keys = [{{ id = "AKIASAMPLE{a}", secret = "sample-secret-{a}" }}]\n'
        for a, _ in ACCOUNTS
    )
    srv.config.write_text(keys)
    out = subprocess.run([cairn_bin(), "import", "--quiet", "--data-dir", str(srv.data_dir), str(SAMPLES)],
                         capture_output=True, text=True, env=srv.child_env(), timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3210 events added" in out.stdout, out.stdout
    # Idempotent: the same files again add nothing.
    again = subprocess.run([cairn_bin(), "import", "--quiet", "--data-dir", str(srv.data_dir), str(SAMPLES)],
                           capture_output=True, text=True, env=srv.child_env(), timeout=300)
    assert again.returncode == 0 and "0 events added" in again.stdout and "3210 duplicates skipped" in again.stdout, again.stdout
    srv.start()
    files = sorted(str(p) for p in SAMPLES.rglob("*.json"))
    yield srv, files
    srv.stop()


def client(srv, account, region):
    return srv.client("cloudtrail", Identity("s", account, f"AKIASAMPLE{account}", f"sample-secret-{account}", None), region)


def lookup(ct, page_size, key=None, value=None):
    kwargs = {"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}]} if key else {}
    pages = ct.get_paginator("lookup_events").paginate(PaginationConfig={"PageSize": page_size}, **kwargs)
    # The test's own lookups are audited into the same history; they are not the samples'.
    return [e for p in pages for e in p["Events"] if not e.get("AccessKeyId", "").startswith("AKIASAMPLE")]


def check(events, expected):
    got_times = [e["EventTime"].timestamp() for e in events]
    assert got_times == sorted(got_times, reverse=True), "newest first"
    assert sorted(e["EventId"] for e in events) == sorted(x["id"] for x in expected)
    # Same events at the same times (ties at one second may come in any order).
    want_times = sorted((x["t"] for x in expected), reverse=True)
    assert [int(t) for t in got_times] == want_times


@pytest.mark.parametrize("account,region", ACCOUNTS)
@pytest.mark.parametrize(
    "key", ["EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource", "AccessKeyId"]
)
def test_lookup_by_attribute_matches_jq(imported, account, region, key):
    srv, files = imported
    mine = '[inputs | records | select(account == $acct and .awsRegion == $region)]'
    values = jq(f'{mine} | map(attr($key)[] | select(. != null)) | group_by(.) | map([.[0], length]) | .[]',
                files, acct=account, region=region, key=key)
    if not values:
        pytest.skip(f"no {key} values in {account}/{region}")
    values.sort(key=lambda v: (-v[1], v[0]))
    # The most common value, one from the middle and the rarest.
    chosen = {values[0][0], values[len(values) // 2][0], values[-1][0]}
    ct = client(srv, account, region)
    for value in sorted(chosen):
        expected = jq(
            f'{mine} | .[] | select(attr($key) | index([$value]) != null) '
            '| {id: .eventID, t: (.eventTime | fromdateiso8601)}',
            files, acct=account, region=region, key=key, value=value,
        )
        assert expected, (key, value)
        for size in (50, 7) + ((1,) if len(expected) <= 150 else ()):
            check(lookup(ct, size, key, value), expected)


def test_every_imported_record_is_returned_unchanged(imported):
    srv, files = imported
    account, region = ACCOUNTS[0]
    stored = {e["EventId"]: e["CloudTrailEvent"] for e in lookup(client(srv, account, region), 50)}
    originals = jq('inputs | records | select(account == $acct and .awsRegion == $region)', files,
                   acct=account, region=region)
    assert len(stored) == len(originals) == 2900
    for o in originals:
        assert json.loads(stored[o["eventID"]]) == o
