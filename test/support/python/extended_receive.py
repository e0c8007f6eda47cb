"""Receives messages through AWS's Extended Client for Python, which resolves their S3 pointers.

usage: extended_receive.py QUEUE_URL [--count N] [--timeout SECONDS] [--visibility-timeout V]
         [--delete [--delete-payload]] [--out-dir DIR]

Receives until COUNT messages arrived (default 1; an error after TIMEOUT seconds, default 30) and
prints one JSON line per message: messageId, the body's sha256 and length in bytes, its message
attributes as the client returns them (it removes ExtendedPayloadSize), its system attributes,
offloaded (the client read it from S3), deleted, and file (DIR/N.body, when --out-dir is given).
--delete deletes each message through the client; --delete-payload also deletes its S3 object.
"""

import argparse
import hashlib
import json
import os
import time

from extended_common import extended_sqs_client, run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("queue_url")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--visibility-timeout", type=int)
    parser.add_argument("--delete", action="store_true")
    parser.add_argument("--delete-payload", action="store_true")
    parser.add_argument("--out-dir")
    args = parser.parse_args()

    sqs = extended_sqs_client()
    sqs.delete_payload_from_s3 = args.delete_payload
    deadline = time.monotonic() + args.timeout
    received = 0
    while received < args.count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"received {received} of {args.count} messages in {args.timeout} s")
        request = {
            "QueueUrl": args.queue_url,
            "MaxNumberOfMessages": min(10, args.count - received),
            "WaitTimeSeconds": max(1, min(20, int(remaining))),
            "MessageAttributeNames": ["All"],
            "MessageSystemAttributeNames": ["All"],
        }
        if args.visibility_timeout is not None:
            request["VisibilityTimeout"] = args.visibility_timeout
        for message in sqs.receive_message(**request).get("Messages", []):
            received += 1
            encoded = message["Body"].encode("utf-8")
            report = {
                "messageId": message["MessageId"],
                "sha256": hashlib.sha256(encoded).hexdigest(),
                "length": len(encoded),
                "messageAttributes": message.get("MessageAttributes", {}),
                "attributes": message.get("Attributes", {}),
                "offloaded": sqs.is_s3_receipt_handle(message["ReceiptHandle"]),
                "deleted": False,
            }
            if args.out_dir is not None:
                path = os.path.join(args.out_dir, f"{received}.body")
                with open(path, "wb") as f:
                    f.write(encoded)
                report["file"] = path
            if args.delete:
                sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=message["ReceiptHandle"])
                report["deleted"] = True
            print(json.dumps(report), flush=True)


if __name__ == "__main__":
    run(main)
