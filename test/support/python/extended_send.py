"""Sends one message through AWS's Extended Client for Python, its body always offloaded to S3.

usage: extended_send.py QUEUE_URL BUCKET (--size N [--seed S] | --body-file PATH)
         [--group-id G] [--dedup-id D] [--s3-key K] [--legacy] [--attribute NAME=VALUE]...

--size makes an ASCII body of N bytes from the seed; --body-file sends a file's bytes (UTF-8 text, as
SQS bodies are). --s3-key chooses the object's key (the client's S3Key message attribute, which it
also sends); --legacy writes the legacy pointer class and SQSLargePayloadSize. Prints one JSON line:
messageId, sequenceNumber, the body's sha256 and length in bytes, and the SendMessage request as
the client sent it to SQS (sentBody: the pointer; sentAttributes).
"""

import argparse
import hashlib
import json

from extended_common import extended_sqs_client, run


def ascii_body(size, seed):
    chunks, total, n = [], 0, 0
    while total < size:
        chunk = hashlib.sha256(f"{seed}:{n}".encode()).hexdigest()
        chunks.append(chunk)
        total += len(chunk)
        n += 1
    return "".join(chunks)[:size]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("queue_url")
    parser.add_argument("bucket")
    body_source = parser.add_mutually_exclusive_group(required=True)
    body_source.add_argument("--size", type=int)
    body_source.add_argument("--body-file")
    parser.add_argument("--seed", default="sqspipes")
    parser.add_argument("--group-id")
    parser.add_argument("--dedup-id")
    parser.add_argument("--s3-key")
    parser.add_argument("--legacy", action="store_true")
    parser.add_argument("--attribute", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()

    if args.body_file is not None:
        with open(args.body_file, "rb") as f:
            body = f.read().decode("utf-8")
    else:
        body = ascii_body(args.size, args.seed)
    encoded = body.encode("utf-8")

    attributes = {}
    for pair in args.attribute:
        name, _, value = pair.partition("=")
        attributes[name] = {"DataType": "String", "StringValue": value}
    if args.s3_key is not None:
        attributes["S3Key"] = {"DataType": "String", "StringValue": args.s3_key}

    sqs = extended_sqs_client()
    sqs.large_payload_support = args.bucket
    sqs.always_through_s3 = True
    sqs.use_legacy_attribute = args.legacy
    sent = {}
    # Fired inside the SDK's call, after the Extended Client replaced the body by its pointer.
    sqs.meta.events.register(
        "provide-client-params.sqs.SendMessage", lambda params, **_: sent.update(params)
    )

    request = {"QueueUrl": args.queue_url, "MessageBody": body}
    if attributes:
        request["MessageAttributes"] = attributes
    if args.group_id is not None:
        request["MessageGroupId"] = args.group_id
    if args.dedup_id is not None:
        request["MessageDeduplicationId"] = args.dedup_id
    response = sqs.send_message(**request)

    print(json.dumps({
        "messageId": response["MessageId"],
        "sequenceNumber": response.get("SequenceNumber"),
        "sha256": hashlib.sha256(encoded).hexdigest(),
        "length": len(encoded),
        "sentBody": sent.get("MessageBody"),
        "sentAttributes": sent.get("MessageAttributes", {}),
    }), flush=True)


if __name__ == "__main__":
    run(main)
