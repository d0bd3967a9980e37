#!/usr/bin/env python3
"""Sends --count records with Debian's python3-fluent-logger (Message mode; this library has no acks).

Exit 0 when every emit() reported success, 3 otherwise.
"""
import argparse
import sys

from fluent import sender


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--tag", default="e2e.python")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    # The tag is split into FluentSender's prefix and emit()'s label, as applications use it.
    prefix, _, label = args.tag.partition(".")
    client = sender.FluentSender(prefix, host=args.host, port=args.port, timeout=args.timeout, nanosecond_precision=True)
    try:
        for i in range(args.count):
            record = {"seq": i, "client": "python3-fluent-logger", "msg": f"hello python {i}"}
            if not client.emit(label or None, record):
                print(f"emit {i} failed: {client.last_error}", file=sys.stderr)
                return 3
    finally:
        client.close()
    print(f"sent {args.count} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
