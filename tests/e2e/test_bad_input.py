"""Malformed, unsigned and badly signed requests, sent raw. Every answer is a JSON error with
__type, message and x-amzn-RequestId, never a 5xx, and the server stays healthy."""

import datetime
import http.client
import json
from unittest import mock
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import IDS

PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
JSON11 = "application/x-amz-json-1.1"


def signed_headers(url, body, headers, who="alpha_admin", service="cloudtrail", region="us-east-1",
                   when=None, secret=None):
    ident = IDS[who]
    creds = Credentials(ident.key, secret or ident.secret)
    req = AWSRequest(method="POST", url=url + "/", data=body, headers=dict(headers))
    if when is None:
        SigV4Auth(creds, service, region).add_auth(req)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            SigV4Auth(creds, service, region).add_auth(req)
    return dict(req.headers.items())


def send(url, body: bytes, headers: dict):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        try:
            conn.request("POST", "/", body=body, headers=headers)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer before reading a large body
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def call(server, body=b"{}", target="DescribeTrails", content_type=JSON11, sign=True, **sign_kw):
    headers = {"Content-Type": content_type} if content_type else {}
    if target is not None:
        headers["X-Amz-Target"] = PREFIX + target if "." not in target else target
    if sign:
        headers = signed_headers(server.url, body, headers, **sign_kw)
    return send(server.url, body, headers)


def check_error(server, result, status, error_type, message=None):
    code, headers, data = result
    assert code < 500
    assert code == status, (code, data)
    assert headers.get("x-amzn-requestid"), headers
    doc = json.loads(data)
    typ = doc["__type"].split("#")[-1]
    assert typ == error_type, doc
    assert "message" in doc or "Message" in doc, doc
    msg = doc.get("message", doc.get("Message"))
    if message is not None:
        assert msg == message, doc
    assert server.healthy()
    return doc


def test_sanity_signed_raw_request_works(server):
    code, headers, data = call(server)
    assert code == 200, data
    assert "trailList" in json.loads(data)
    assert headers.get("x-amzn-requestid")


def test_json_1_0_content_type_accepted(server):
    code, _, data = call(server, content_type="application/x-amz-json-1.0")
    assert code == 200, data


def test_malformed_json(server):
    check_error(server, call(server, body=b'{"trailNameList": ['), 400, "SerializationException")


def test_json_not_an_object(server):
    check_error(server, call(server, body=b'[1,2]'), 400, "SerializationException")


def test_wrong_member_type(server):
    code, headers, data = call(server, body=b'{"trailNameList": "not-a-list"}')
    assert code == 400, data
    assert json.loads(data)["__type"].split("#")[-1] in ("SerializationException", "ValidationException",
                                                          "InvalidParameterException")
    assert server.healthy()


@pytest.mark.parametrize("ctype", ["application/json", "text/plain", "application/xml"])
def test_wrong_content_type(server, ctype):
    check_error(server, call(server, content_type=ctype), 400, "SerializationException")


def test_body_too_large(server):
    body = json.dumps({"trailNameList": ["x" * 1024] * 1100}).encode()
    assert len(body) > 1024 * 1024
    check_error(server, call(server, body=body), 413, "RequestEntityTooLargeException")


def test_missing_target(server):
    check_error(server, call(server, target=None), 400, "UnknownOperationException")


def test_unknown_target(server):
    check_error(server, call(server, target="FlyToTheMoon"), 400, "UnknownOperationException")
    check_error(server, call(server, target="SomethingElse_20990101.DescribeTrails"), 400, "UnknownOperationException")


def test_unsupported_target(server):
    check_error(server, call(server, target="ListEventDataStores"), 400, "UnsupportedOperationException")


@pytest.mark.parametrize("minutes", [-20, 20])
def test_skewed_date(server, minutes):
    when = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(minutes=minutes)
    check_error(server, call(server, when=when), 403, "InvalidSignatureException")


def test_small_skew_accepted(server):
    when = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=3)
    code, _, data = call(server, when=when)
    assert code == 200, data


def test_s3_scope_with_target(server):
    check_error(server, call(server, service="s3"), 403, "InvalidSignatureException",
                "Credential should be scoped to correct service: 'cloudtrail'. ")


def test_no_authorization(server):
    check_error(server, call(server, sign=False), 403, "MissingAuthenticationTokenException")


def test_unknown_access_key(server):
    headers = signed_headers(server.url, b"{}", {"Content-Type": JSON11, "X-Amz-Target": PREFIX + "DescribeTrails"})
    headers["Authorization"] = headers["Authorization"].replace(IDS["alpha_admin"].key, "AKIANOSUCHKEY0000001")
    check_error(server, send(server.url, b"{}", headers), 403, "UnrecognizedClientException")


def test_wrong_secret(server):
    check_error(server, call(server, secret="definitely-the-wrong-secret"), 403, "InvalidSignatureException")


def test_tampered_body(server):
    headers = signed_headers(server.url, b"{}", {"Content-Type": JSON11, "X-Amz-Target": PREFIX + "DescribeTrails"})
    check_error(server, send(server.url, b'{"includeShadowTrails":false}', headers), 403,
                "InvalidSignatureException")


def test_truncated_authorization(server):
    headers = signed_headers(server.url, b"{}", {"Content-Type": JSON11, "X-Amz-Target": PREFIX + "DescribeTrails"})
    auth = headers["Authorization"]
    headers["Authorization"] = auth[: auth.index("SignedHeaders")]
    check_error(server, send(server.url, b"{}", headers), 400, "IncompleteSignatureException")


def test_garbage_authorization(server):
    headers = {"Content-Type": JSON11, "X-Amz-Target": PREFIX + "DescribeTrails", "Authorization": "Bearer abc",
               "X-Amz-Date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")}
    code, hdrs, data = send(server.url, b"{}", headers)
    assert 400 <= code < 500
    assert hdrs.get("x-amzn-requestid")
    assert json.loads(data)["__type"]
    assert server.healthy()


def test_unsigned_target_without_date(server):
    headers = {"Content-Type": JSON11, "X-Amz-Target": PREFIX + "DescribeTrails",
               "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAALPHAADMIN000001/20240101/us-east-1/cloudtrail/"
                                "aws4_request, SignedHeaders=host, Signature=" + "0" * 64}
    code, hdrs, data = send(server.url, b"{}", headers)
    assert 400 <= code < 500, data
    assert hdrs.get("x-amzn-requestid")
    assert json.loads(data)["__type"]
    assert server.healthy()


def test_bad_input_calls_with_known_key_are_audited(fresh_server):
    srv = fresh_server
    results = [
        call(srv, body=b"{not json"),
        call(srv, content_type="application/json"),
        call(srv, target="FlyToTheMoon"),
        call(srv, secret="definitely-the-wrong-secret"),
    ]
    ids = [r[1]["x-amzn-requestid"] for r in results]
    events = srv.dump()
    assert [e["requestID"] for e in events] == ids
    assert [e["errorCode"] for e in events] == ["SerializationException", "SerializationException",
                                                "UnknownOperationException", "InvalidSignatureException"]
    assert all(e["userIdentity"]["accessKeyId"] == IDS["alpha_admin"].key for e in events)
