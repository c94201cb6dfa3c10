"""Cairn's S3 facade (path-style, same endpoint) through boto3 and `aws s3api`."""

import gzip

import pytest
from botocore.exceptions import ClientError

from conftest import ALPHA, CairnServer, error_code, local_buckets_only, unique

pytestmark = local_buckets_only

HELLO = b"hello, world"
GZ = gzip.compress(b'{"Records": []}')
KEYS = ["dir/a.txt", "dir/b.txt", "dir/space name.txt", "dir/sub/c.txt", "dir/\u00fcn\u00ef.txt", "hello.txt",
        "other/x.json.gz", "z-last"]


@pytest.fixture(scope="module")
def objs(tmp_path_factory):
    """A server of its own with one bucket of alpha's holding KEYS."""
    srv = CairnServer(tmp_path_factory.mktemp("cairn-s3")).start()
    bucket = unique("objs")
    srv.s3("alpha_admin").create_bucket(Bucket=bucket)
    srv.stop()
    for key in KEYS:
        if key == "hello.txt":
            srv.put_object(bucket, key, HELLO, content_type="text/plain", meta={"color": "blue", "owner": "e2e"})
        elif key.endswith(".gz"):
            srv.put_object(bucket, key, GZ, content_type="application/json", content_encoding="gzip")
        else:
            srv.put_object(bucket, key, key.encode())
    srv.start()
    yield srv, bucket
    srv.stop()


def expect_s3_error(code, status, fn, **kwargs):
    with pytest.raises(ClientError) as exc:
        fn(**kwargs)
    assert error_code(exc.value) == code, exc.value.response
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    return exc.value


def test_bucket_lifecycle(server):
    s3 = server.s3("alpha_admin")
    name = unique("life")
    s3.create_bucket(Bucket=name)
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    s3.delete_bucket(Bucket=name)
    expect_s3_error("404", 404, s3.head_bucket, Bucket=name)
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    expect_s3_error("NoSuchBucket", 404, s3.delete_bucket, Bucket=name)
    expect_s3_error("NoSuchBucket", 404, s3.list_objects_v2, Bucket=name)
    expect_s3_error("NoSuchBucket", 404, s3.get_bucket_location, Bucket=name)


def test_bucket_in_other_region(server):
    s3 = server.s3("alpha_admin", "eu-west-1")
    name = unique("euw")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    s3.delete_bucket(Bucket=name)


def test_list_buckets_only_own(server):
    a, b = unique("own-a"), unique("own-b")
    server.s3("alpha_admin").create_bucket(Bucket=a)
    server.s3("beta_admin").create_bucket(Bucket=b)
    alpha_names = [x["Name"] for x in server.s3("alpha_root").list_buckets()["Buckets"]]
    beta_names = [x["Name"] for x in server.s3("beta_root").list_buckets()["Buckets"]]
    assert a in alpha_names and b not in alpha_names
    assert b in beta_names and a not in beta_names
    expect_s3_error("BucketAlreadyExists", 409, server.s3("beta_admin").create_bucket, Bucket=a)
    server.s3("alpha_admin").delete_bucket(Bucket=a)
    server.s3("beta_admin").delete_bucket(Bucket=b)


def test_list_objects_v2(objs):
    srv, bucket = objs
    s3 = srv.s3("alpha_reader")
    out = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in out["Contents"]] == sorted(KEYS)
    assert out["KeyCount"] == len(KEYS)
    assert out["IsTruncated"] is False
    hello = next(o for o in out["Contents"] if o["Key"] == "hello.txt")
    assert hello["Size"] == len(HELLO)

    out = s3.list_objects_v2(Bucket=bucket, Prefix="dir/")
    assert [o["Key"] for o in out["Contents"]] == sorted(k for k in KEYS if k.startswith("dir/"))

    out = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["dir/", "other/"]
    assert [o["Key"] for o in out["Contents"]] == ["hello.txt", "z-last"]

    out = s3.list_objects_v2(Bucket=bucket, Prefix="dir/", Delimiter="/")
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["dir/sub/"]
    assert "dir/sub/c.txt" not in [o["Key"] for o in out["Contents"]]

    out = s3.list_objects_v2(Bucket=bucket, StartAfter="hello.txt")
    assert [o["Key"] for o in out["Contents"]] == ["other/x.json.gz", "z-last"]

    # continuation tokens
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"Bucket": bucket, "MaxKeys": 3}
        if token:
            kwargs["ContinuationToken"] = token
        out = s3.list_objects_v2(**kwargs)
        pages += 1
        seen += [o["Key"] for o in out.get("Contents", [])]
        if not out["IsTruncated"]:
            break
        token = out["NextContinuationToken"]
    assert seen == sorted(KEYS)
    assert pages == 3
    paged = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={
        "PageSize": 2}) for o in p.get("Contents", [])]
    assert paged == sorted(KEYS)


def test_list_objects_v1(objs):
    srv, bucket = objs
    s3 = srv.s3("alpha_reader")
    out = s3.list_objects(Bucket=bucket)
    assert [o["Key"] for o in out["Contents"]] == sorted(KEYS)
    out = s3.list_objects(Bucket=bucket, Marker="dir/sub/c.txt")
    assert [o["Key"] for o in out["Contents"]] == [k for k in sorted(KEYS) if k > "dir/sub/c.txt"]
    out = s3.list_objects(Bucket=bucket, MaxKeys=2)
    assert out["IsTruncated"] is True
    assert [o["Key"] for o in out["Contents"]] == sorted(KEYS)[:2]
    out = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=1)
    assert out["IsTruncated"] is True
    assert out.get("NextMarker")
    paged = [o["Key"] for p in s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={
        "PageSize": 3}) for o in p.get("Contents", [])]
    assert paged == sorted(KEYS)


def test_list_objects_url_encoding(objs):
    srv, bucket = objs
    s3 = srv.s3("alpha_admin")
    # botocore asks for EncodingType=url by itself and decodes; the keys must round-trip
    for listing in (s3.list_objects_v2, s3.list_objects):
        keys = [o["Key"] for o in listing(Bucket=bucket, Prefix="dir/")["Contents"]]
        assert "dir/space name.txt" in keys and "dir/\u00fcn\u00ef.txt" in keys
    # asked for explicitly, botocore leaves the keys as sent: URL-encoded
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="dir/", EncodingType="url")["Contents"]]
    assert "dir/%C3%BCn%C3%AF.txt" in keys
    assert "dir/space%20name.txt" in keys or "dir/space+name.txt" in keys
    # a prefix with special characters selects correctly
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="dir/\u00fc")["Contents"]]
    assert keys == ["dir/\u00fcn\u00ef.txt"]
    # the raw listing carries encoded keys
    rc, out, err = srv.cli("alpha_admin", "s3api", "list-objects", "--bucket", bucket, "--prefix", "dir/s",
                           "--encoding-type", "url", "--debug")
    assert rc == 0, err
    assert "dir/space+name.txt" in err or "dir/space%20name.txt" in err


def test_get_and_head_object(objs):
    srv, bucket = objs
    s3 = srv.s3("alpha_reader")
    got = s3.get_object(Bucket=bucket, Key="hello.txt")
    assert got["Body"].read() == HELLO
    assert got["ContentType"] == "text/plain"
    assert got["ContentLength"] == len(HELLO)
    assert got["Metadata"] == {"color": "blue", "owner": "e2e"}
    assert got["ETag"].startswith('"')
    head = s3.head_object(Bucket=bucket, Key="hello.txt")
    assert head["ContentLength"] == len(HELLO)
    assert head["Metadata"] == {"color": "blue", "owner": "e2e"}
    assert head["ETag"] == got["ETag"]
    assert head["LastModified"] == got["LastModified"]

    part = s3.get_object(Bucket=bucket, Key="hello.txt", Range="bytes=0-4")
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert part["Body"].read() == b"hello"
    assert part["ContentRange"] == f"bytes 0-4/{len(HELLO)}"
    tail = s3.get_object(Bucket=bucket, Key="hello.txt", Range="bytes=-5")
    assert tail["Body"].read() == HELLO[-5:]
    expect_s3_error("InvalidRange", 416, s3.get_object, Bucket=bucket, Key="hello.txt", Range="bytes=100-200")

    gz = s3.get_object(Bucket=bucket, Key="other/x.json.gz")
    assert gz["ContentEncoding"] == "gzip"
    assert gz["ContentType"] == "application/json"
    assert gzip.decompress(gz["Body"].read()) == b'{"Records": []}'

    key = "dir/space name.txt"
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()


def test_missing_objects_and_buckets(objs):
    srv, bucket = objs
    s3 = srv.s3("alpha_admin")
    expect_s3_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="nope")
    expect_s3_error("404", 404, s3.head_object, Bucket=bucket, Key="nope")
    missing = unique("nobkt")
    expect_s3_error("NoSuchBucket", 404, s3.get_object, Bucket=missing, Key="x")
    expect_s3_error("NoSuchBucket", 404, s3.list_objects, Bucket=missing)


def test_writes_are_denied(objs):
    srv, bucket = objs
    s3 = srv.s3("alpha_admin")
    root = srv.s3("alpha_root")
    expect_s3_error("AccessDenied", 403, s3.put_object, Bucket=bucket, Key="new", Body=b"x")
    expect_s3_error("AccessDenied", 403, root.put_object, Bucket=bucket, Key="hello.txt", Body=b"x")
    expect_s3_error("AccessDenied", 403, s3.delete_object, Bucket=bucket, Key="hello.txt")
    expect_s3_error("AccessDenied", 403, s3.copy_object, Bucket=bucket, Key="copy",
                    CopySource={"Bucket": bucket, "Key": "hello.txt"})
    try:
        out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "hello.txt"}]})
        # S3 may report per-key errors in a 200 answer; none may be deleted
        assert not out.get("Deleted"), out
        assert out["Errors"][0]["Code"] == "AccessDenied"
    except ClientError as e:
        assert error_code(e) == "AccessDenied"
    assert s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == HELLO
    expect_s3_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="new")


def test_non_empty_bucket_cannot_be_deleted(objs):
    srv, bucket = objs
    expect_s3_error("BucketNotEmpty", 409, srv.s3("alpha_admin").delete_bucket, Bucket=bucket)
    srv.s3("alpha_admin").head_bucket(Bucket=bucket)


def test_other_account_cannot_read(objs):
    srv, bucket = objs
    b = srv.s3("beta_admin")
    expect_s3_error("AccessDenied", 403, b.get_object, Bucket=bucket, Key="hello.txt")
    expect_s3_error("AccessDenied", 403, b.list_objects_v2, Bucket=bucket)
    expect_s3_error("403", 403, b.head_object, Bucket=bucket, Key="hello.txt")


def test_s3api_cli(objs, tmp_path):
    srv, bucket = objs
    rc, out, err = srv.cli("alpha_admin", "s3api", "list-buckets")
    assert rc == 0, err
    assert bucket in [b["Name"] for b in out["Buckets"]]
    assert out["Owner"]["ID"]
    rc, out, err = srv.cli("alpha_admin", "s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "dir/",
                           "--delimiter", "/")
    assert rc == 0, err
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["dir/sub/"]
    rc, out, err = srv.cli("alpha_admin", "s3api", "head-object", "--bucket", bucket, "--key", "hello.txt")
    assert rc == 0, err
    assert out["Metadata"] == {"color": "blue", "owner": "e2e"}
    target = tmp_path / "hello.out"
    rc, out, err = srv.cli("alpha_admin", "s3api", "get-object", "--bucket", bucket, "--key", "hello.txt",
                           "--range", "bytes=7-11", str(target))
    assert rc == 0, err
    assert target.read_bytes() == b"world"
    rc, out, err = srv.cli("alpha_admin", "s3api", "get-bucket-location", "--bucket", bucket)
    assert rc == 0, err
    rc, out, err = srv.cli("alpha_admin", "s3api", "put-object", "--bucket", bucket, "--key", "cli-new",
                           "--body", str(target))
    assert rc != 0 and "AccessDenied" in err
    name = unique("cli-bkt")
    rc, out, err = srv.cli("alpha_admin", "s3api", "create-bucket", "--bucket", name)
    assert rc == 0, err
    rc, out, err = srv.cli("alpha_admin", "s3api", "head-bucket", "--bucket", name)
    assert rc == 0, err
    rc, out, err = srv.cli("alpha_admin", "s3api", "delete-bucket", "--bucket", name)
    assert rc == 0, err
    rc, out, err = srv.cli("alpha_admin", "s3api", "get-object", "--bucket", bucket, "--key", "nope",
                           str(tmp_path / "x"))
    assert rc != 0 and "NoSuchKey" in err


def test_s3_calls_are_audited(fresh_server):
    srv = fresh_server
    bucket = unique("aud")
    created = srv.s3("alpha_admin").create_bucket(Bucket=bucket)
    srv.stop()
    srv.put_object(bucket, "k.txt", b"data")
    srv.start()
    s3 = srv.s3("alpha_reader")
    calls = {
        "GetObject": s3.get_object(Bucket=bucket, Key="k.txt"),
        "HeadObject": s3.head_object(Bucket=bucket, Key="k.txt"),
        "ListObjects": s3.list_objects(Bucket=bucket),
        "ListBuckets": s3.list_buckets(),
    }
    calls["GetObject"]["Body"].read()
    with pytest.raises(ClientError) as denied:
        s3.put_object(Bucket=bucket, Key="x", Body=b"x")
    events = srv.dump()
    by_id = {e["requestID"]: e for e in events}
    assert len(events) == 6, [e["eventName"] for e in events]
    create = by_id[created["ResponseMetadata"]["RequestId"]]
    assert create["eventName"] == "CreateBucket"
    assert create["eventSource"] == "s3.amazonaws.com"
    assert create["managementEvent"] is True and create["eventCategory"] == "Management"
    assert create["readOnly"] is False
    for name, resp in calls.items():
        ev = by_id[resp["ResponseMetadata"]["RequestId"]]
        assert ev["eventName"] == name
        assert ev["eventSource"] == "s3.amazonaws.com"
        assert ev["readOnly"] is True
        assert ev["userIdentity"]["userName"] == "reader"
        assert ev["recipientAccountId"] == ALPHA
        if name == "ListBuckets":
            assert ev["managementEvent"] is True and ev["eventCategory"] == "Management"
        else:
            assert ev["managementEvent"] is False and ev["eventCategory"] == "Data", ev
    put = by_id[denied.value.response["ResponseMetadata"]["RequestId"]]
    assert put["eventName"] == "PutObject"
    assert put["errorCode"] == "AccessDenied"


@pytest.mark.parametrize("method, path", [("GET", "/"), ("GET", "/somebucket/key"), ("PUT", "/newbucket"),
                                          ("DELETE", "/x/y?delete"), ("GET", "/%ZZ")])
def test_anonymous_requests_denied(server, method, path):
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request(method, path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status == 403, body
    assert b"<Code>AccessDenied</Code>" in body
    # S3 names every answer with x-amz-request-id, errors included
    assert resp.getheader("x-amz-request-id"), dict(resp.getheaders())
    assert server.healthy()


def test_signed_error_has_request_id_header(objs):
    srv, bucket = objs
    with pytest.raises(ClientError) as exc:
        srv.s3("alpha_admin").get_object(Bucket=bucket, Key="nope")
    headers = exc.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers.get("x-amz-request-id") == exc.value.response["ResponseMetadata"]["RequestId"]
