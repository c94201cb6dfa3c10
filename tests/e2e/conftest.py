"""End-to-end fixtures: a real `cairn serve` process, identities from a config file, and
helpers for the aws CLI, boto3 and `cairn dump`.

Environment:
  CAIRN_BIN                  the cairn binary (default: $CARGO_TARGET_DIR/debug/cairn, else
                             <repo>/target/debug/cairn)
  CAIRN_E2E_BUCKET_BACKEND   "local" (default: trail buckets are made through Cairn's own S3
                             facade) or "moto" (buckets live in a moto server that Cairn is pointed
                             at with bucket_store = "s3"; lets the trail tests run without the
                             facade; facade-only tests are skipped)
"""

from __future__ import annotations

import json
import os
import re
import ssl
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

REPO = Path(__file__).resolve().parents[2]
AWS_CLI = str(Path(sys.executable).parent / "aws")
BUCKET_BACKEND = os.environ.get("CAIRN_E2E_BUCKET_BACKEND", "local")

local_buckets_only = pytest.mark.skipif(
    BUCKET_BACKEND != "local", reason="needs Cairn's own S3 facade (CAIRN_E2E_BUCKET_BACKEND=local)"
)


def cairn_bin() -> str:
    if os.environ.get("CAIRN_BIN"):
        return os.environ["CAIRN_BIN"]
    if os.environ.get("CARGO_TARGET_DIR"):
        return str(Path(os.environ["CARGO_TARGET_DIR"]) / "debug" / "cairn")
    return str(REPO / "target" / "debug" / "cairn")


# ---------------------------------------------------------------------------------------------
# Identities
# ---------------------------------------------------------------------------------------------

ALPHA = "111111111111"  # organization management account
BETA = "222222222222"  # organization member
ORG_ID = "o-abcdef1234"

ALLOW_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
READ_ONLY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudtrail:Describe*",'
    '"cloudtrail:Get*","cloudtrail:List*","s3:Get*","s3:List*"],"Resource":"*"}]}'
)
DENY_DELETE = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},'
    '{"Effect":"Deny","Action":"cloudtrail:DeleteTrail","Resource":"*"}]}'
)


@dataclass(frozen=True)
class Identity:
    label: str
    account: str
    key: str
    secret: str
    user: str | None  # None for the account's root user

    @property
    def arn(self) -> str:
        if self.user is None:
            return f"arn:aws:iam::{self.account}:root"
        return f"arn:aws:iam::{self.account}:user/{self.user}"

    @property
    def type(self) -> str:
        return "Root" if self.user is None else "IAMUser"


IDS = {
    "alpha_root": Identity("alpha_root", ALPHA, "AKIAALPHAROOT0000001", "alpha-root-secret-0000000000000000", None),
    "alpha_admin": Identity("alpha_admin", ALPHA, "AKIAALPHAADMIN000001", "alpha-admin-secret-00000000000000", "admin"),
    "alpha_reader": Identity("alpha_reader", ALPHA, "AKIAALPHAREADER00001", "alpha-reader-secret-000000000000", "reader"),
    "alpha_denier": Identity("alpha_denier", ALPHA, "AKIAALPHADENIER00001", "alpha-denier-secret-000000000000", "nodelete"),
    "beta_root": Identity("beta_root", BETA, "AKIABETAROOT00000001", "beta-root-secret-00000000000000000", None),
    "beta_admin": Identity("beta_admin", BETA, "AKIABETAADMIN0000001", "beta-admin-secret-000000000000000", "admin"),
}


def _key(i: Identity) -> str:
    return f'{{ id = "{i.key}", secret = "{i.secret}" }}'


def config_toml(extra: str = "") -> str:
    a, b = IDS, IDS
    return f"""{extra}
[[accounts]]
id = "{ALPHA}"
alias = "alpha"
root_access_keys = [{_key(a['alpha_root'])}]

[[accounts.users]]
name = "admin"
access_keys = [{_key(a['alpha_admin'])}]
policies = ['{ALLOW_ALL}']

[[accounts.users]]
name = "reader"
access_keys = [{_key(a['alpha_reader'])}]
policies = ['{READ_ONLY}']

[[accounts.users]]
name = "nodelete"
access_keys = [{_key(a['alpha_denier'])}]
policies = ['{DENY_DELETE}']

[[accounts]]
id = "{BETA}"
alias = "beta"
root_access_keys = [{_key(b['beta_root'])}]

[[accounts.users]]
name = "admin"
access_keys = [{_key(b['beta_admin'])}]
policies = [{{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Action = "*", Resource = "*" }}] }}]

[organization]
id = "{ORG_ID}"
management_account = "{ALPHA}"
member_accounts = ["{BETA}"]
"""


def wait_for(what, timeout, f):
    """Calls f until it returns something true (which is returned), for at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = f()
        if v:
            return v
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def visible(srv, who, name, count, timeout=10):
    """Waits until LookupEvents shows `count` events named `name` for `who`: the audit record of
    a read-only call is committed a moment after its answer (at most about a second)."""
    ct = srv.ct(who)

    def n():
        pages = ct.get_paginator("lookup_events").paginate(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
        return sum(len(p["Events"]) for p in pages) >= count

    wait_for(f"{count} {name} events to be visible", timeout, n)


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def lower_camel(value):
    """CloudTrail's spelling of request/response members in a record: first letter lower-cased."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: lower_camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_camel(v) for v in value]
    return value


def error_code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def error_message(exc: ClientError) -> str:
    return exc.response["Error"].get("Message", "")


def cli_error(stderr: str) -> tuple[str | None, str | None]:
    """(code, message) of an aws CLI service error."""
    m = re.search(r"An error occurred \(([^)]+)\) when calling the \w+ operation(?: \([^)]*\))?: (.*)", stderr, re.S)
    if not m:
        return None, None
    return m.group(1), m.group(2).strip()


# ---------------------------------------------------------------------------------------------
# Moto, for CAIRN_E2E_BUCKET_BACKEND=moto
# ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_moto = None


def moto_url() -> str:
    global _moto
    if _moto is None:
        from moto.server import ThreadedMotoServer

        port = _free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        _moto = (server, f"http://127.0.0.1:{port}")
    return _moto[1]


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------

LISTEN_RE = re.compile(r"cairn listening on (https?://127\.0\.0\.1:\d+)")
# The TLS tests use a self-signed certificate.
_UNVERIFIED = ssl._create_unverified_context()


class CairnServer:
    def __init__(self, root: Path, env: dict | None = None):
        self.root = root
        self.data_dir = root / "data"
        self.config = root / "cairn.toml"
        self.env_extra = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.url: str | None = None
        self.stdout_lines: list[str] = []
        self.returncodes: list[int] = []
        extra = ""
        if BUCKET_BACKEND == "moto":
            extra = (
                f'bucket_store = "s3"\ns3_endpoint = "{moto_url()}"\ns3_allow_http = true\n'
                's3_access_key_id = "testing"\ns3_secret_access_key = "testing"\n'
            )
        self.config.write_text(config_toml(extra))

    # -- lifecycle -----------------------------------------------------------------------------

    def child_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
        env.update(self.env_extra)
        return env

    def start(self) -> "CairnServer":
        assert self.proc is None
        self.stderr_file = open(self.root / f"stderr-{len(self.returncodes)}.log", "wb")
        self.proc = subprocess.Popen(
            [cairn_bin(), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir),
             "--config", str(self.config)],
            stdout=subprocess.PIPE, stderr=self.stderr_file, env=self.child_env(), text=True,
        )
        first: list[str] = []
        got = threading.Event()

        def drain():
            for line in self.proc.stdout:
                if not got.is_set():
                    first.append(line)
                    got.set()
                self.stdout_lines.append(line)
            got.set()

        threading.Thread(target=drain, daemon=True).start()
        if not got.wait(60) or not first:
            self._kill()
            raise RuntimeError(f"cairn printed nothing; stderr: {self.stderr_text()}")
        m = LISTEN_RE.search(first[0])
        if not m:
            self._kill()
            raise RuntimeError(f"unexpected first line {first[0]!r}; stderr: {self.stderr_text()}")
        self.url = m.group(1)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cairn exited with {self.proc.returncode}: {self.stderr_text()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=5, context=_UNVERIFIED) as r:
                    if r.status == 200:
                        return self
            except urllib.error.HTTPError as e:
                if e.code != 503:
                    raise
            except OSError:
                pass
            if time.monotonic() > deadline:
                self._kill()
                raise RuntimeError("cairn did not become healthy within 60 s")
            time.sleep(0.05)

    def stderr_text(self) -> str:
        try:
            return (self.root / f"stderr-{len(self.returncodes)}.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def _kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit status (asserted to be 0 by callers that care)."""
        if self.proc is None:
            return self.returncodes[-1] if self.returncodes else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise AssertionError("cairn did not stop within 60 s of SIGTERM")
        finally:
            self.proc = None
            self.stderr_file.close()
        self.returncodes.append(rc)
        return rc

    def restart(self) -> "CairnServer":
        self.stop()
        return self.start()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=5, context=_UNVERIFIED) as r:
                return r.status == 200
        except Exception:
            return False

    def dump(self) -> list[dict]:
        """Stops the server (it holds the data directory's lock) and returns every stored event."""
        rc = self.stop()
        assert rc == 0, f"cairn serve exited with {rc} after SIGTERM"
        out = subprocess.run(
            [cairn_bin(), "dump", "--data-dir", str(self.data_dir)],
            capture_output=True, text=True, env=self.child_env(), timeout=120,
        )
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]

    def put_object(self, bucket: str, key: str, data: bytes, content_type=None, content_encoding=None,
                   meta: dict | None = None):
        """Places an object with the hidden `cairn test-put-object` (server stopped meanwhile)."""
        running = self.proc is not None
        if running:
            self.stop()
        f = self.root / f"obj-{uuid.uuid4().hex}"
        f.write_bytes(data)
        cmd = [cairn_bin(), "test-put-object", "--data-dir", str(self.data_dir), "--bucket", bucket,
               "--key", key, "--file", str(f)]
        if content_type:
            cmd += ["--content-type", content_type]
        if content_encoding:
            cmd += ["--content-encoding", content_encoding]
        for k, v in (meta or {}).items():
            cmd += ["--meta", f"{k}={v}"]
        out = subprocess.run(cmd, capture_output=True, text=True, env=self.child_env(), timeout=120)
        assert out.returncode == 0, f"test-put-object failed: {out.stderr}"
        if running:
            self.start()

    # -- clients -------------------------------------------------------------------------------

    def client(self, service: str, who: str | Identity = "alpha_admin", region: str = "us-east-1"):
        ident = IDS[who] if isinstance(who, str) else who
        cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"},
                     connect_timeout=10, read_timeout=60)
        return boto3.session.Session().client(
            service, endpoint_url=self.url, region_name=region, aws_access_key_id=ident.key,
            aws_secret_access_key=ident.secret, config=cfg, verify=not self.url.startswith("https"),
        )

    def ct(self, who: str | Identity = "alpha_admin", region: str = "us-east-1"):
        return self.client("cloudtrail", who, region)

    def s3(self, who: str | Identity = "alpha_admin", region: str = "us-east-1"):
        return self.client("s3", who, region)

    def cli(self, who: str | Identity, *args: str, region: str = "us-east-1"):
        """Runs `aws ARGS --endpoint-url URL`; returns (exit code, parsed JSON stdout or None, stderr)."""
        ident = IDS[who] if isinstance(who, str) else who
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CAIRN_"))}
        env.update(
            AWS_ACCESS_KEY_ID=ident.key, AWS_SECRET_ACCESS_KEY=ident.secret, AWS_DEFAULT_REGION=region,
            AWS_CONFIG_FILE=str(self.root / "no-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(self.root / "no-aws-credentials"),
            AWS_MAX_ATTEMPTS="1", AWS_RETRY_MODE="standard", AWS_PAGER="",
        )
        cmd = [AWS_CLI, *args, "--endpoint-url", self.url, "--region", region, "--output", "json"]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        parsed = None
        if p.stdout.strip():
            try:
                parsed = json.loads(p.stdout)
            except ValueError:
                parsed = p.stdout
        return p.returncode, parsed, p.stderr

    # -- buckets -------------------------------------------------------------------------------

    def make_bucket(self, who: str | Identity = "alpha_admin", name: str | None = None) -> str:
        """A bucket a trail can deliver to: through Cairn's S3 facade, or in moto."""
        name = name or unique("bkt")
        if BUCKET_BACKEND == "moto":
            boto3.client("s3", endpoint_url=moto_url(), region_name="us-east-1", aws_access_key_id="testing",
                         aws_secret_access_key="testing").create_bucket(Bucket=name)
        else:
            self.s3(who).create_bucket(Bucket=name)
        return name


def _new_server(tmp_path_factory, env=None) -> CairnServer:
    root = tmp_path_factory.mktemp("cairn")
    return CairnServer(root, env).start()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One server shared by tests that only need isolation by unique names (quota raised)."""
    s = _new_server(tmp_path_factory, {"CAIRN_MAX_TRAILS_PER_REGION": "100"})
    yield s
    rc = s.stop()
    assert rc == 0, f"cairn serve exited with {rc}"


@pytest.fixture
def fresh_server(tmp_path_factory):
    """A server of its own, for tests that dump the event log."""
    s = _new_server(tmp_path_factory)
    yield s
    s.stop()


@pytest.fixture
def make_server(tmp_path_factory):
    """Factory for servers with extra environment (e.g. CAIRN_MAX_TRAILS_PER_REGION)."""
    made = []

    def make(env=None):
        s = _new_server(tmp_path_factory, env)
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()


@pytest.fixture(scope="session")
def shared_bucket(server):
    """A bucket of alpha's in the shared server."""
    return server.make_bucket("alpha_admin")
