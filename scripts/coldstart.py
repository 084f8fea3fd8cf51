"""Cold start of a Lambda function binary, through a minimal Lambda runtime API on loopback.

Usage: coldstart.py <bootstrap binary> [runs]
The environment is passed through (AWS endpoint, table, keys). For each run it starts the
binary with AWS_LAMBDA_RUNTIME_API pointing here, and records:
  init  = process start -> its first GET /runtime/invocation/next (what Lambda bills as Init)
  first = process start -> the response to the first invocation (GET /health, API GW v2)
and prints the median and worst of each, in milliseconds."""

import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time

EVENT = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/health",
    "rawQueryString": "",
    "headers": {"host": "coldstart.local"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "coldstart",
        "domainName": "coldstart.local",
        "http": {"method": "GET", "path": "/health", "protocol": "HTTP/1.1",
                 "sourceIp": "127.0.0.1", "userAgent": "coldstart"},
        "requestId": "coldstart",
        "routeKey": "$default",
        "stage": "$default",
        "timeEpoch": 0,
    },
    "isBase64Encoded": False,
}


class Run:
    def __init__(self):
        self.started = 0.0
        self.first_next = None
        self.response = None
        self.body = None
        self.served = False
        self.done = threading.Event()


current = Run()


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if not self.path.endswith("/runtime/invocation/next"):
            return self.reply(404, b"{}")
        run = current
        if run.first_next is None:
            run.first_next = time.perf_counter()
        if run.served:
            run.done.wait(30)  # the next invocation never comes; the binary is killed
            return
        run.served = True
        body = json.dumps(EVENT).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "req-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:us-east-1:123456789012:function:api")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        if "/response" in self.path or "/error" in self.path:
            current.response = time.perf_counter()
            current.body = body
            current.done.set()
        self.reply(202, b"{}")

    def reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, BrokenPipeError):
            pass  # a killed binary's connection


def main():
    global current
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    inits, firsts = [], []
    for _ in range(runs):
        # A runtime API of its own per run, so a killed binary's last request cannot reach
        # the next run.
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        env = dict(os.environ)
        env.update({
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
            "AWS_LAMBDA_FUNCTION_NAME": "api",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "RUST_LOG": "warn",
        })
        current = Run()
        current.started = time.perf_counter()
        proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        ok = current.done.wait(30)
        proc.kill()
        _, err = proc.communicate()
        current.done.set()
        server.shutdown()
        server.server_close()
        if not ok or current.first_next is None:
            sys.exit("coldstart: the binary never answered its first invocation:\n"
                     + err.decode(errors="replace")[-2000:])
        status = json.loads(current.body or b"{}").get("statusCode")
        if status != 200:
            sys.exit(f"coldstart: first invocation answered {status}: {current.body!r}")
        inits.append((current.first_next - current.started) * 1000)
        firsts.append((current.response - current.started) * 1000)
    print(f"{os.path.basename(binary)}: init median {statistics.median(inits):.1f} ms, "
          f"max {max(inits):.1f} ms; first response median {statistics.median(firsts):.1f} ms, "
          f"max {max(firsts):.1f} ms ({runs} runs)")


if __name__ == "__main__":
    main()
