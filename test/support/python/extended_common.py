"""What extended_send.py and extended_receive.py share: the client, made as AWS's README makes it,
and one JSON line for an error."""

import json
import sys

import sqs_extended_client  # noqa: F401  (replaces boto3.Session: every SQS client is an Extended Client)
import boto3
from botocore.exceptions import ClientError
from sqs_extended_client.client import S3_KEY_MARKER


def extended_sqs_client():
    """An SQS client of the Extended Client; it and its own S3 client take the endpoint, region and
    credentials from the environment (AWS_ENDPOINT_URL, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID...)."""
    sqs = boto3.client("sqs")
    # 1.0.1 recovers the SQS receipt handle of an offloaded message with split('-')[-1], which cuts a
    # handle containing '-' (fauxqs' are UUIDs): its delete_message then deletes nothing
    # (awslabs/amazon-sqs-python-extended-client-lib#28). The fix proposed there:
    sqs.get_original_receipt_handle = lambda handle: handle.split(S3_KEY_MARKER)[-1]
    return sqs


def run(main):
    """Runs main(); an exception becomes one JSON line {"error": {type, code, message}} and exit 3."""
    try:
        main()
    except Exception as error:  # noqa: BLE001  (reported to the test, which decides)
        code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
        report = {"type": type(error).__name__, "code": code, "message": str(error)}
        print(json.dumps({"error": report}), flush=True)
        sys.exit(3)
