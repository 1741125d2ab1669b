"""S3 answering a presigned GET, as AWS checks it: someone opens the link in a browser.

moto's S3 does not check a presigned URL against who signed it, so a link signed by a session
that may not read the object (or may not decrypt it) would open locally and fail on AWS.
``open_presigned`` answers as S3 does (S3 user guide, "Download and upload objects with presigned
URLs"; S3 API reference, "Authenticating Requests: Using Query Parameters (AWS Signature Version
4)"; "Specifying server-side encryption with AWS KMS"):

- an SSE-KMS object is served only to a Signature Version 4 request ("Requests specifying Server
  Side Encryption with AWS KMS managed keys require AWS Signature Version 4");
- ``X-Amz-Expires`` is at most 604,800 s (7 days), and the link stops working at ``X-Amz-Date``
  plus ``X-Amz-Expires``, or when the session whose credentials signed it expires, whichever is
  first ("Request has expired", "The provided token has expired");
- the signature must be the session's (its secret key, the SigV4 algorithm over the request);
- the request is authorised as the signer: ``s3:GetObject`` under the bucket policy and, for an
  SSE-KMS object, the ``kms:Decrypt`` S3 makes with the signer's identity. Whoever opens the link
  needs no permission of their own.

The signer is the STS session the URL's access key belongs to (moto's STS keeps them).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, unquote, urlparse

import boto3

from localcloud.authorizer import Authorizer
from localcloud.aws_requests import ApiCall, requests_for
from localcloud.constants import ACCOUNT_ID
from localcloud.iam import role_principal

SIGV4 = "AWS4-HMAC-SHA256"
MAX_EXPIRES = 7 * 24 * 3600
SIGV4_TIME = "%Y%m%dT%H%M%SZ"


class LinkRefused(Exception):
    """What S3 answers instead of the object: its error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


@dataclass(frozen=True)
class OpenedLink:
    bucket: str
    key: str
    body: bytes
    signer_role: str  # the role whose session signed the link
    expires: datetime  # when the link stops working (the earlier of its own expiry and the session's)


def _bucket_and_key(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    host, path = parsed.hostname or "", unquote(parsed.path.lstrip("/"))
    if ".s3." in host or host.endswith(".s3.amazonaws.com"):
        return host.split(".s3", 1)[0], path  # virtual-hosted style
    bucket, _, key = path.partition("/")
    return bucket, key  # path style


def _signature(url: str, secret: str, scope: str, stamp: str) -> str:
    """The SigV4 signature of a presigned GET with ``host`` the only signed header."""
    parsed = urlparse(url)
    query = sorted((k, v) for k, v in parse_qsl(parsed.query, keep_blank_values=True) if k != "X-Amz-Signature")
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query)
    headers = [f"host:{parsed.netloc}", "", "host"]
    canonical = "\n".join(["GET", parsed.path or "/", canonical_query, *headers, "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join([SIGV4, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def open_presigned(url: str, authorizer: Authorizer, now: datetime | None = None) -> OpenedLink:
    """The object the presigned ``url`` reads, or LinkRefused with S3's answer."""
    from moto.sts.models import sts_backends

    now = now or datetime.now(UTC)
    query = dict(parse_qsl(urlparse(url).query, keep_blank_values=True))
    bucket, key = _bucket_and_key(url)
    s3 = boto3.client("s3", region_name=authorizer.region)
    encrypted = s3.head_object(Bucket=bucket, Key=key).get("ServerSideEncryption") == "aws:kms"
    if query.get("X-Amz-Algorithm") != SIGV4:
        if encrypted:
            raise LinkRefused(
                "InvalidArgument",
                "Requests specifying Server Side Encryption with AWS KMS managed keys require AWS Signature Version 4.",
            )
        raise LinkRefused("AccessDenied", "the local cloud checks Signature Version 4 links only")
    try:
        stamp, seconds = query["X-Amz-Date"], int(query["X-Amz-Expires"])
        access_key, scope = query["X-Amz-Credential"].split("/", 1)
        signed_at = datetime.strptime(stamp, SIGV4_TIME).replace(tzinfo=UTC)
    except (KeyError, ValueError) as error:
        raise LinkRefused("AuthorizationQueryParametersError", f"malformed query parameters ({error})") from None
    if not 1 <= seconds <= MAX_EXPIRES:
        raise LinkRefused(
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds) that is; 604800 seconds",
        )
    session = sts_backends[ACCOUNT_ID]["aws"].get_assumed_role_from_access_key(access_key)
    if session is None:
        raise LinkRefused("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
    if query.get("X-Amz-Security-Token") != session.session_token:
        raise LinkRefused("InvalidToken", "The provided token is malformed or otherwise invalid.")
    if _signature(url, session.secret_access_key, scope, stamp) != query.get("X-Amz-Signature"):
        raise LinkRefused(
            "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
        )
    session_end = session.expiration.replace(tzinfo=UTC)
    if now > signed_at + timedelta(seconds=seconds):
        raise LinkRefused("AccessDenied", "Request has expired")
    if now > session_end:
        raise LinkRefused("ExpiredToken", "The provided token has expired.")
    call = ApiCall("s3", "GetObject", {"Bucket": bucket, "Key": key}, authorizer.region)
    denial = authorizer.first_denial(role_principal(session.role_arn), requests_for(call, authorizer.resources))
    if denial is not None:
        raise LinkRefused("AccessDenied", denial.message())
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return OpenedLink(bucket, key, body, session.role_arn, min(signed_at + timedelta(seconds=seconds), session_end))
