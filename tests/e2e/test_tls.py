"""HTTPS: the listener serves TLS from configured PEM files, and events record `tlsDetails`."""

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(dir_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = dir_path / "cert.pem", dir_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_https_calls_record_tls_details(make_server, tmp_path):
    cert, key = self_signed(tmp_path)
    srv = make_server({"CAIRN_TLS_CERT": str(cert), "CAIRN_TLS_KEY": str(key)})
    assert srv.url.startswith("https://")
    resp = srv.ct().describe_trails()
    assert resp["trailList"] == []
    request_id = resp["ResponseMetadata"]["RequestId"]
    events = srv.dump()
    (event,) = [e for e in events if e.get("requestID") == request_id]
    tls = event["tlsDetails"]
    assert tls["tlsVersion"] in ("TLSv1.2", "TLSv1.3")
    assert tls["cipherSuite"].startswith(("TLS_", "ECDHE-"))
    assert tls["clientProvidedHostHeader"] == srv.url.split("://", 1)[1]


def test_plain_http_events_have_no_tls_details(fresh_server):
    request_id = fresh_server.ct().list_trails()["ResponseMetadata"]["RequestId"]
    (event,) = [e for e in fresh_server.dump() if e.get("requestID") == request_id]
    assert "tlsDetails" not in event
