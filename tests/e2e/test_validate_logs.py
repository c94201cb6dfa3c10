"""Log file integrity as auditors check it: the real `aws cloudtrail validate-logs` (pointed at Cairn
with AWS_ENDPOINT_URL_CLOUDTRAIL / AWS_ENDPOINT_URL_S3) and `cairn validate-logs` accept what Cairn's
trails wrote, and each catch every tampering they can see: the aws CLI through what it checks,
`cairn validate-logs --strict` also what the aws CLI lets pass.

One signed store is built per module (digests every 2 s, a key rotating every 6 s, a
StopLogging/StartLogging and validation turned off and on in the middle); each tampering test
restores what it changed."""

import datetime
import gzip
import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass

import boto3
import pytest

from conftest import ALPHA, AWS_CLI, BUCKET_BACKEND, IDS, CairnServer, cairn_bin, moto_url, unique
from test_delivery import send, wait_for

DIGEST = "/CloudTrail-Digest/"


def iso(t: float) -> str:
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Bucket:
    """The trail bucket, read and tampered with where it lives: moto through S3, Cairn's own
    store through `cairn test-put-object` (Cairn's S3 facade refuses every write)."""

    def __init__(self, server: CairnServer, name: str):
        self.server, self.name = server, name
        if BUCKET_BACKEND == "moto":
            self.s3 = boto3.client("s3", endpoint_url=moto_url(), region_name="us-east-1",
                                   aws_access_key_id="testing", aws_secret_access_key="testing")
        else:
            self.s3 = server.s3("alpha_admin")

    def keys(self) -> list[str]:
        out = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.name):
            out += [o["Key"] for o in page.get("Contents", [])]
        return out

    def get(self, key: str) -> tuple[bytes, dict]:
        o = self.s3.get_object(Bucket=self.name, Key=key)
        return o["Body"].read(), o.get("Metadata", {})

    def put(self, key: str, body: bytes, meta: dict):
        if BUCKET_BACKEND == "moto":
            self.s3.put_object(Bucket=self.name, Key=key, Body=body, Metadata=meta,
                               ContentType="application/json", ContentEncoding="gzip")
            return
        f = self.server.root / f"tamper-{uuid.uuid4().hex}"
        f.write_bytes(body)
        cmd = [cairn_bin(), "test-put-object", "--data-dir", str(self.server.data_dir), "--bucket", self.name,
               "--key", key, "--file", str(f), "--content-type", "application/json", "--content-encoding", "gzip"]
        for k, v in meta.items():
            cmd += ["--meta", f"{k}={v}"]
        self._run(cmd)

    def delete(self, key: str):
        if BUCKET_BACKEND == "moto":
            self.s3.delete_object(Bucket=self.name, Key=key)
            return
        self._run([cairn_bin(), "test-put-object", "--data-dir", str(self.server.data_dir), "--bucket",
                   self.name, "--key", key, "--delete"])

    def _run(self, cmd):
        p = subprocess.run(cmd, capture_output=True, text=True, env=self.server.child_env(), timeout=60)
        assert p.returncode == 0, p.stderr


@dataclass
class Store:
    server: CairnServer
    bucket: Bucket
    arn: str
    start: str
    end: str
    # A minute wholly inside the first chain: a log file dated then must be in a digest.
    covered_minute: float


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("validate")
    server = CairnServer(root, {"CAIRN_DELIVERY_INTERVAL": "1s", "CAIRN_DIGEST_INTERVAL": "2s",
                                "CAIRN_SIGNING_KEY_ROTATION": "6s"}).start()
    name = server.make_bucket()
    ct = server.ct()
    trail = unique("signed")
    arn = ct.create_trail(Name=trail, S3BucketName=name, S3KeyPrefix="audit",
                          EnableLogFileValidation=True)["TrailARN"]
    started = time.time()
    ct.start_logging(Name=trail)
    bucket = Bucket(server, name)

    def digests():
        return [k for k in bucket.keys() if DIGEST in k]

    def run_for(seconds):
        """Events now and then, until `seconds` have passed and a digest came after the last."""
        until = time.time() + seconds
        while time.time() < until:
            send(server, [("us-east-1", str(uuid.uuid4())) for _ in range(10)])
            time.sleep(0.7)
        n = len(digests())
        wait_for("a digest after the events", 30, lambda: len(digests()) > n)

    # Long enough for a whole minute to lie inside the first chain (log file keys name minutes).
    covered = (int(started) // 60 + 1) * 60
    run_for(max(8.0, covered + 66 - time.time()))
    ct.stop_logging(Name=trail)
    time.sleep(3)
    ct.start_logging(Name=trail)
    run_for(5)
    n = len(digests())
    ct.update_trail(Name=trail, EnableLogFileValidation=False)
    wait_for("the final digest of the validation period", 30, lambda: len(digests()) > n)
    send(server, [("us-east-1", str(uuid.uuid4())) for _ in range(10)])
    time.sleep(3)
    n = len(digests())
    ct.update_trail(Name=trail, EnableLogFileValidation=True)
    # The change applies from the trail's next read: its first digest shows it was seen.
    wait_for("the new chain's first digest", 30, lambda: len(digests()) > n)
    run_for(6)
    stopped = time.time()
    ct.stop_logging(Name=trail)
    wait_for("the final digest", 30,
             lambda: ct.get_trail_status(Name=trail).get("LatestDigestDeliveryTime")
             and ct.get_trail_status(Name=trail)["LatestDigestDeliveryTime"].timestamp() >= int(stopped))
    time.sleep(1)
    yield Store(server, bucket, arn, iso(started - 60), iso(time.time() + 5), covered)
    server.stop()


def aws_validate(store: Store, *extra: str):
    ident = IDS["alpha_admin"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CAIRN_"))}
    env.update(
        AWS_ACCESS_KEY_ID=ident.key, AWS_SECRET_ACCESS_KEY=ident.secret, AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(store.server.root / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(store.server.root / "no-aws-credentials"),
        AWS_ENDPOINT_URL_CLOUDTRAIL=store.server.url,
        AWS_ENDPOINT_URL_S3=moto_url() if BUCKET_BACKEND == "moto" else store.server.url,
        AWS_MAX_ATTEMPTS="1", AWS_PAGER="",
    )
    cmd = [AWS_CLI, "cloudtrail", "validate-logs", "--trail-arn", store.arn, "--start-time", store.start,
           "--end-time", store.end, "--region", "us-east-1", "--verbose", *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    return p.returncode, p.stdout, p.stderr


def cairn_validate(store: Store, *extra: str, data_dir: bool = False):
    ident = IDS["alpha_admin"]
    env = store.server.child_env()
    env.update(AWS_ACCESS_KEY_ID=ident.key, AWS_SECRET_ACCESS_KEY=ident.secret)
    env = {k: v for k, v in env.items() if not k.startswith("AWS_ENDPOINT_URL")}
    if BUCKET_BACKEND == "moto":
        env["AWS_ENDPOINT_URL_S3"] = moto_url()
    cmd = [cairn_bin(), "validate-logs", "--trail-arn", store.arn, "--start-time", store.start,
           "--end-time", store.end, "--region", "us-east-1", "--verbose", "--config", str(store.server.config),
           "--data-dir", str(store.server.data_dir), *extra]
    if not data_dir:
        cmd += ["--endpoint-url", store.server.url]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    return p.returncode, p.stdout, p.stderr


def all_validators(store: Store, strict: bool = True):
    """(name, exit code, stdout, stderr) of every validator: the aws CLI, cairn through the server,
    cairn on the data directory, and the strict variants."""
    out = [("aws", *aws_validate(store)), ("cairn", *cairn_validate(store)),
           ("cairn --data-dir", *cairn_validate(store, data_dir=True))]
    if strict:
        out += [("cairn --strict", *cairn_validate(store, "--strict")),
                ("cairn --strict --data-dir", *cairn_validate(store, "--strict", data_dir=True))]
    return out


def digest_keys(store: Store) -> list[str]:
    return sorted(k for k in store.bucket.keys() if DIGEST in k)


def digest_json(store: Store, key: str) -> dict:
    return json.loads(gzip.decompress(store.bucket.get(key)[0]))


def interior_digests_with_files(store: Store) -> list[str]:
    """Digests with log files inside a chain: each has a predecessor and a successor naming it."""
    keys = digest_keys(store)
    docs = {k: digest_json(store, k) for k in keys}
    named = {d["previousDigestS3Object"] for d in docs.values()}
    return [k for k in keys[:-2] if docs[k]["logFiles"] and k in named and docs[k]["previousDigestS3Object"]]


class Restore:
    """Puts objects back as they were when the block began (and removes added ones)."""

    def __init__(self, store: Store, keys: list[str]):
        self.store = store
        self.saved = {k: store.bucket.get(k) for k in keys}
        self.added: list[str] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for k in self.added:
            self.store.bucket.delete(k)
        for k, (body, meta) in self.saved.items():
            self.store.bucket.put(k, body, meta)


def summary(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if "/" in line and (" valid" in line or "INVALID" in line)
            and not line.startswith(("Digest file", "Log file"))]


def test_untouched_store_is_valid_for_the_aws_cli_and_cairn(store):
    keys = digest_keys(store)
    fingerprints = {digest_json(store, k)["digestPublicKeyFingerprint"] for k in keys}
    starts = [k for k in keys if digest_json(store, k)["previousDigestSignature"] is None]
    assert len(fingerprints) >= 2, "the key never rotated within the store"
    assert len(starts) == 3, f"expected 3 chains (start, restart, validation re-enabled): {starts}"
    results = all_validators(store)
    for name, rc, out, err in results:
        assert rc == 0, f"{name}: exit {rc}\n{out}\n{err}"
        assert "INVALID" not in out + err, f"{name}:\n{out}\n{err}"
        assert f"{len(keys)}/{len(keys)} digest files valid" in out, f"{name}:\n{out}"
        # Chain restarts are gaps, reported as the aws CLI does, not errors.
        assert err.count("No log files were delivered by CloudTrail between") == 2, f"{name}:\n{err}"
    aws_out = results[0][2]
    logs = [line for line in aws_out.splitlines() if line.startswith("Log file")]
    assert logs and all(line.endswith("\tvalid") for line in logs)
    for name, rc, out, err in results[1:3]:
        assert out == aws_out, f"{name} output differs from the aws CLI's:\n{out}\n---\n{aws_out}"


def test_modified_log_file(store):
    key = digest_json(store, interior_digests_with_files(store)[0])["logFiles"][0]["s3Object"]
    with Restore(store, [key]):
        body, meta = store.bucket.get(key)
        records = json.loads(gzip.decompress(body))
        records["Records"][0]["sourceIPAddress"] = "203.0.113.66"
        store.bucket.put(key, gzip.compress(json.dumps(records).encode()), meta)
        for name, rc, out, err in all_validators(store, strict=False):
            assert rc == 1, f"{name}:\n{out}\n{err}"
            assert f"Log file\ts3://{store.bucket.name}/{key}\tINVALID: hash value doesn't match" in err, name


def test_deleted_log_file(store):
    key = digest_json(store, interior_digests_with_files(store)[0])["logFiles"][0]["s3Object"]
    with Restore(store, [key]):
        store.bucket.delete(key)
        for name, rc, out, err in all_validators(store, strict=False):
            assert rc == 1, f"{name}:\n{out}\n{err}"
            assert f"Log file\ts3://{store.bucket.name}/{key}\tINVALID: not found" in err, name


def test_bytes_appended_after_the_gzip_stream(store):
    key = digest_json(store, interior_digests_with_files(store)[0])["logFiles"][0]["s3Object"]
    with Restore(store, [key]):
        body, meta = store.bucket.get(key)
        store.bucket.put(key, body + b"\x00appended", meta)
        for name, rc, out, err in all_validators(store, strict=False):
            assert rc == 1, f"{name}:\n{out}\n{err}"
            assert (f"Log file\ts3://{store.bucket.name}/{key}\tINVALID: unexpected data after end of compressed"
                    " stream") in err, name


def test_one_deleted_digest(store):
    key = interior_digests_with_files(store)[0]
    with Restore(store, [key]):
        store.bucket.delete(key)
        for name, rc, out, err in all_validators(store):
            assert rc == 1, f"{name}:\n{out}\n{err}"
            assert f"Digest file\ts3://{store.bucket.name}/{key}\tINVALID: not found" in err, name


def test_two_consecutive_deleted_digests(store):
    keys = digest_keys(store)
    # Two in a row inside one chain: the newer one's predecessor is the older one.
    pair = next((a, b) for a, b in zip(keys[1:], keys[2:-1])
                if digest_json(store, b)["previousDigestS3Object"] == a
                and digest_json(store, a)["previousDigestS3Object"] is not None)
    with Restore(store, list(pair)):
        for k in pair:
            store.bucket.delete(k)
        results = {name: (rc, out, err) for name, rc, out, err in all_validators(store)}
        for name, (rc, out, err) in results.items():
            assert rc == 1, f"{name}:\n{out}\n{err}"
            # The newer one is named by its successor: every validator reports it.
            assert f"Digest file\ts3://{store.bucket.name}/{pair[1]}\tINVALID: not found" in err, name
        # The aws CLI then jumps to the next listed digest and never mentions the older one; strict
        # mode reports it too.
        for name in ["cairn --strict", "cairn --strict --data-dir"]:
            err = results[name][2]
            missing = [line for line in err.splitlines() if "INVALID: not found" in line and line.startswith("Digest")]
            assert len(missing) == 2, f"{name}:\n{err}"


def test_modified_digest(store):
    key = interior_digests_with_files(store)[0]
    with Restore(store, [key]):
        body, meta = store.bucket.get(key)
        d = json.loads(gzip.decompress(body))
        d["logFiles"] = d["logFiles"][1:] if len(d["logFiles"]) > 1 else []
        store.bucket.put(key, gzip.compress(json.dumps(d).encode()), meta)
        for name, rc, out, err in all_validators(store, strict=False):
            assert rc == 1, f"{name}:\n{out}\n{err}"
            assert f"Digest file\ts3://{store.bucket.name}/{key}\tINVALID: signature verification failed" in err, name


def test_digest_moved_to_another_key(store):
    key = interior_digests_with_files(store)[0]
    # Same folder, ten minutes later: still listed, under a name it was not signed for.
    stamp = key[-24:-8]
    moved_at = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ") + datetime.timedelta(minutes=10)
    moved = key[:-24] + moved_at.strftime("%Y%m%dT%H%M%SZ") + key[-8:]
    with Restore(store, [key]) as r:
        body, meta = store.bucket.get(key)
        store.bucket.put(moved, body, meta)
        r.added.append(moved)
        store.bucket.delete(key)
        for name, rc, out, err in all_validators(store, strict=False):
            assert rc == 1, f"{name}:\n{out}\n{err}"
            assert (f"Digest file\ts3://{store.bucket.name}/{moved}\tINVALID: has been moved from its original"
                    " location") in err, name


def test_replaced_signature(store):
    key, other = interior_digests_with_files(store)[:2]
    with Restore(store, [key]):
        body, meta = store.bucket.get(key)
        meta = dict(meta, signature=store.bucket.get(other)[1]["signature"])
        store.bucket.put(key, body, meta)
        for name, rc, out, err in all_validators(store, strict=False):
            assert rc == 1, f"{name}:\n{out}\n{err}"
            assert f"Digest file\ts3://{store.bucket.name}/{key}\tINVALID: signature verification failed" in err, name


def test_log_file_no_digest_names_is_caught_in_strict_mode(store):
    key = digest_json(store, interior_digests_with_files(store)[0])["logFiles"][0]["s3Object"]
    t = datetime.datetime.fromtimestamp(store.covered_minute, datetime.timezone.utc)
    injected = (f"audit/AWSLogs/{ALPHA}/CloudTrail/us-east-1/{t:%Y/%m/%d}/"
                f"{ALPHA}_CloudTrail_us-east-1_{t:%Y%m%dT%H%MZ}_InjectedByAttack.json.gz")
    with Restore(store, []) as r:
        body, meta = store.bucket.get(key)
        store.bucket.put(injected, body, meta)
        r.added.append(injected)
        results = {name: (rc, out, err) for name, rc, out, err in all_validators(store)}
        assert results["aws"][0] == 0, "the aws CLI never looks at files no digest names"
        for name in ["cairn --strict", "cairn --strict --data-dir"]:
            rc, out, err = results[name]
            assert rc == 1, f"{name}:\n{out}\n{err}"
            assert f"Log file\ts3://{store.bucket.name}/{injected}\tINVALID: not referenced by any digest file" in err


def test_deleted_newest_digests_and_logs_are_caught_in_strict_mode(store):
    newest = digest_keys(store)[-2:]
    logs = [f["s3Object"] for k in newest for f in digest_json(store, k)["logFiles"]]
    with Restore(store, newest + logs):
        for k in newest + logs:
            store.bucket.delete(k)
        results = {name: (rc, out, err) for name, rc, out, err in all_validators(store)}
        assert results["aws"][0] == 0, "the aws CLI cannot tell the newest digests are gone"
        for name in ["cairn --strict", "cairn --strict --data-dir"]:
            rc, out, err = results[name]
            assert rc == 1, f"{name}:\n{out}\n{err}"
            assert "Digest file" in err and "INVALID: not found" in err, f"{name}:\n{err}"


def test_restored_store_is_valid_again(store):
    for name, rc, out, err in all_validators(store):
        assert rc == 0, f"{name}: exit {rc}\n{out}\n{err}"


def test_an_operators_signing_key_signs_the_digests(tmp_path):
    """`signing_key_file`: the operator's own RSA key signs the digests, ListPublicKeys lists it,
    the aws CLI validates with it; a key file others can read is refused."""
    import hashlib

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path = tmp_path / "digest-key.pem"
    path.write_bytes(pem)
    path.chmod(0o644)
    root = tmp_path / "cairn"
    root.mkdir()
    env = {"CAIRN_DELIVERY_INTERVAL": "1s", "CAIRN_DIGEST_INTERVAL": "1s", "CAIRN_SIGNING_KEY_FILE": str(path)}
    refused = CairnServer(root, env)
    with pytest.raises(RuntimeError, match="chmod 600"):
        refused.start()
    path.chmod(0o600)
    server = CairnServer(root, env).start()
    try:
        der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        fingerprint = hashlib.md5(der).hexdigest()
        name = server.make_bucket()
        ct = server.ct()
        started = time.time()
        arn = ct.create_trail(Name="byok", S3BucketName=name, EnableLogFileValidation=True)["TrailARN"]
        ct.start_logging(Name="byok")
        send(server, [("us-east-1", str(uuid.uuid4())) for _ in range(5)])
        bucket = Bucket(server, name)

        def digested():
            keys = [k for k in bucket.keys() if DIGEST in k]
            return len(keys) >= 2 and keys

        keys = wait_for("digests", 60, digested)
        assert {json.loads(gzip.decompress(bucket.get(k)[0]))["digestPublicKeyFingerprint"] for k in keys} \
            == {fingerprint}
        listed = ct.list_public_keys(StartTime=datetime.datetime.fromtimestamp(started - 60))["PublicKeyList"]
        assert [k["Fingerprint"] for k in listed] == [fingerprint]
        assert listed[0]["Value"] == der
        store = Store(server, bucket, arn, iso(started - 60), iso(time.time() + 5), 0)
        rc, out, err = aws_validate(store)
        assert rc == 0 and "INVALID" not in out + err, f"{out}\n{err}"
    finally:
        server.stop()
