"""Create S3 buckets on MinIO with a SigV4-signed PUT (stdlib only: no boto3, no mc).

Usage: python3 s3_buckets.py ENDPOINT REGION BUCKET...   (keys from MINIO_ROOT_USER/PASSWORD)
Exit 0 when every bucket exists afterwards (created now or already owned by us).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signed_request(method: str, endpoint: str, path: str, region: str, access: str, secret: str) -> int:
    """Send one SigV4-signed request with an empty body and return the HTTP status."""
    url = urllib.parse.urlsplit(endpoint)
    host = url.netloc
    now = dt.datetime.now(dt.UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    headers = {"host": host, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        [method, path, "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed, EMPTY_SHA256]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _sign(_sign(_sign(_sign(f"AWS4{secret}".encode(), day), region), "s3"), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    auth = f"AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={signed}, Signature={signature}"
    req = urllib.request.Request(
        f"{url.scheme}://{host}{path}",
        method=method,
        headers={"x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": amz_date, "Authorization": auth},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        body = exc.read().decode(errors="replace")
        if method == "PUT" and exc.code == 409 and "BucketAlreadyOwnedByYou" in body:
            return 200
        if method != "HEAD":
            sys.stderr.write(f"{method} {path}: HTTP {exc.code}: {body[:500]}\n")
        return exc.code


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        sys.stderr.write(__doc__ or "")
        return 2
    endpoint, region, buckets = argv[1], argv[2], argv[3:]
    access, secret = os.environ["MINIO_ROOT_USER"], os.environ["MINIO_ROOT_PASSWORD"]
    failed = 0
    for bucket in buckets:
        if signed_request("HEAD", endpoint, f"/{bucket}", region, access, secret) == 200:
            continue
        status = signed_request("PUT", endpoint, f"/{bucket}", region, access, secret)
        if status != 200:
            failed += 1
        else:
            sys.stderr.write(f"created bucket {bucket}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
