"""Trail delivery as downstream tools see it: log files in the trail's bucket (Cairn's own, or an
external S3 endpoint) that `gzip -t` accepts and DuckDB's `read_json` reads, holding exactly the
events sent; and an external S3 destination that goes away and comes back."""

import gzip
import json
import os
import shutil
import signal
import subprocess
import time
import uuid

import boto3
import pytest

from conftest import ALPHA, BUCKET_BACKEND, CairnServer, _free_port, moto_url, unique, wait_for
from test_ingest_events import ingest, record


def bucket_client(server):
    if BUCKET_BACKEND == "moto":
        return s3_at(moto_url())
    return server.s3("alpha_admin")


def s3_at(url):
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def log_files(s3, bucket) -> dict:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k) for k in keys}


def delivered_ids(objects) -> set:
    ids = set()
    for o in objects.values():
        body = o["Body"].read()
        ids |= {r["eventID"] for r in json.loads(gzip.decompress(body))["Records"]}
    return ids


def send(server, region_ids):
    """Ingests one record per (region, id); returns the ids."""
    records = []
    for region, event_id in region_ids:
        r = record(ALPHA, event_id)
        r["awsRegion"] = region
        records.append(r)
    status, reply = ingest(server, "alpha_admin", gzip.compress("\n".join(map(json.dumps, records)).encode()))
    assert status == 200 and reply["Accepted"] == len(records), reply
    return [i for _, i in region_ids]


def test_delivered_files_pass_gzip_t_and_duckdb_reads_them(make_server, tmp_path):
    # scripts/test installs DuckDB; elsewhere the test skips without it.
    duckdb = __import__("duckdb") if os.environ.get("CAIRN_REQUIRE_S3_TESTS") else pytest.importorskip("duckdb")
    server = make_server({"CAIRN_DELIVERY_INTERVAL": "1s"})
    bucket = server.make_bucket()
    ct = server.ct()
    name = unique("dl")
    ct.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=True, S3KeyPrefix="audit")
    ct.start_logging(Name=name)
    sent = send(server, [(region, str(uuid.uuid4())) for region in ["us-east-1", "eu-west-1"] for _ in range(100)])

    s3 = bucket_client(server)
    objects = wait_for("the events in the bucket", 60,
                       lambda: (o := log_files(s3, bucket)) and set(sent) <= delivered_ids(log_files(s3, bucket)) and o)
    folders = set()
    for key, o in objects.items():
        assert key.startswith(f"audit/AWSLogs/{ALPHA}/CloudTrail/"), key
        assert key.endswith(".json.gz"), key
        folders.add(key.split("/")[4])
        assert o["ContentType"] == "application/json", key
        assert o.get("ContentEncoding") == "gzip", key
        local = tmp_path / key.replace("/", "_")
        local.write_bytes(o["Body"].read())
        assert subprocess.run(["gzip", "-t", str(local)]).returncode == 0, key
    assert folders == {"us-east-1", "eu-west-1"}

    con = duckdb.connect()
    rows = con.execute(
        f"SELECT r.eventID, r.awsRegion FROM (SELECT unnest(Records) AS r FROM read_json('{tmp_path}/*.json.gz'))"
    ).fetchall()
    # DuckDB reads eventID as a UUID.
    ids = [str(r[0]) for r in rows]
    assert len(ids) == len(set(ids)), "an event delivered twice"
    assert set(sent) <= set(ids)
    # Everything else in the files is Cairn's own audit trail of this account.
    assert all(r[1] in ("us-east-1", "eu-west-1") for r in rows)


@pytest.mark.skipif(BUCKET_BACKEND != "moto", reason="an external S3 endpoint that stops (moto run)")
def test_an_s3_destination_down_then_back_loses_nothing_and_the_status_tells(tmp_path):
    moto = os.environ.get("CAIRN_MOTO_SERVER") or shutil.which("moto_server")
    if not moto:
        pytest.skip("moto_server is not installed")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"

    def start_moto():
        p = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        wait_for("moto", 30, lambda: _answers(url))
        return p

    bucket = unique("down")
    moto_proc = start_moto()
    server = None
    try:
        s3_at(url).create_bucket(Bucket=bucket)
        root = tmp_path / "cairn"
        root.mkdir()
        server = CairnServer(root, {"CAIRN_DELIVERY_INTERVAL": "1s", "CAIRN_DELIVERY_MAX_BACKOFF": "500ms",
                                    "CAIRN_BUCKET_STORE": "s3", "CAIRN_S3_ENDPOINT": url,
                                    "CAIRN_S3_ALLOW_HTTP": "true", "CAIRN_S3_ACCESS_KEY_ID": "testing",
                                    "CAIRN_S3_SECRET_ACCESS_KEY": "testing"}).start()
        ct = server.ct()
        ct.create_trail(Name="main", S3BucketName=bucket)
        ct.start_logging(Name="main")
        first = send(server, [("us-east-1", str(uuid.uuid4())) for _ in range(5)])
        wait_for("first delivery", 30, lambda: set(first) <= delivered_ids(log_files(s3_at(url), bucket)))
        # The status is updated once the file is stored, a moment after it is visible.
        ok = wait_for("the delivery in the status", 30,
                      lambda: (lambda s: s if "LatestDeliveryTime" in s else None)(ct.get_trail_status(Name="main")))
        assert "LatestDeliveryError" not in ok, ok

        moto_proc.send_signal(signal.SIGKILL)
        moto_proc.wait()
        during = send(server, [("us-east-1", str(uuid.uuid4())) for _ in range(20)])
        down = wait_for("the failure in the status", 60,
                        lambda: (s := ct.get_trail_status(Name="main")).get("LatestDeliveryError") and s)
        assert down["LatestDeliveryAttemptTime"] > down["LatestDeliveryAttemptSucceeded"], down
        assert down["LatestDeliveryTime"] == ok["LatestDeliveryTime"], "no delivery while down"

        # Back (moto keeps nothing across restarts: the bucket is made again).
        moto_proc = start_moto()
        s3_at(url).create_bucket(Bucket=bucket)
        after = send(server, [("us-east-1", str(uuid.uuid4())) for _ in range(5)])
        got = wait_for("everything missed delivered", 60,
                       lambda: (d := delivered_ids(log_files(s3_at(url), bucket))) >= set(during + after) and d)
        assert got >= set(during + after)
        up = wait_for("the error cleared", 30,
                      lambda: "LatestDeliveryError" not in (s := ct.get_trail_status(Name="main")) and s)
        assert up["LatestDeliveryAttemptTime"] == up["LatestDeliveryAttemptSucceeded"], up
        assert up["LatestDeliveryTime"] > down["LatestDeliveryTime"]
    finally:
        if server:
            server.stop()
        moto_proc.kill()
        moto_proc.wait()


def _answers(url):
    try:
        s3_at(url).list_buckets()
        return True
    except Exception:
        return False
