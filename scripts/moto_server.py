"""moto server with DynamoDB's atomicity: `python scripts/moto_server.py HOST PORT`.

moto answers requests on many threads, and its DynamoDB model checks a condition and then
writes without a lock, so two concurrent conditional writes can both pass (200 concurrent
counter hits against a limit of 50 then let 51 through now and then). Real DynamoDB applies
the writes of one item one at a time. This runs moto's own server with every DynamoDB request
taken one at a time; S3 and SQS (whose long polls must not block the rest) stay concurrent.
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    moto = DomainDispatcherApplication(create_backend_app)
    dynamodb = threading.Lock()

    def app(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with dynamodb:
                return list(moto(environ, start_response))
        return moto(environ, start_response)

    run_simple(host, port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
