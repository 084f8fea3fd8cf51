"""Drives one full send through the local cloud run (see scripts/cloud-local.sh): the `api`
function under `cargo lambda watch`, `wagate host` with the simulated network, everything on
the AWS emulator. Create session -> scan -> open -> send -> sent -> signed webhook; then a
photo arrives -> signed message_received with its content and its file in S3, downloadable
through the presigned URL in the event and through the API (a redirect to S3).
Standard library only; exits non-zero with a reason on the first thing that goes wrong."""

import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

API = os.environ["WAGATE_API"].rstrip("/")
KEY = os.environ["ADMIN_API_KEY"]
SECRET = "cloud-local-webhook-secret"
SESSION = "cloud-" + str(int(time.time()))

received = []


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(API + path, data=data, method=method)
    req.add_header("X-API-Key", KEY)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def eventually(what, check, within=60):
    deadline = time.time() + within
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.3)
    sys.exit(f"cloud e2e: timed out waiting for {what}")


def signed_webhook(name, where=lambda event: True):
    """The first `name` event (for which `where` holds) the receiver got, once its signature
    is checked."""

    def find():
        for headers, body in received:
            event = json.loads(body)
            if event.get("event") == name and where(event):
                return headers, body, event
        return None

    headers, body, event = eventually(f"the {name} webhook", find)
    signature = {k.lower(): v for k, v in headers.items()}.get("x-webhook-signature", "")
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, expected):
        sys.exit(f"cloud e2e: the {name} signature does not match HMAC-SHA256(body, secret)")
    return event


def main():
    if os.environ.get("E2E_SESSION_FILE"):
        with open(os.environ["E2E_SESSION_FILE"], "w") as f:
            f.write(SESSION)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{server.server_address[1]}/hook"

    status, body = call("POST", "/api/sessions",
                        {"sessionId": SESSION, "webhookUrl": hook_url, "webhookSecret": SECRET})
    if status != 201:
        sys.exit(f"cloud e2e: create session answered {status} {body}")
    print(f"session {SESSION} created")

    eventually("a QR code", lambda: call("GET", f"/api/sessions/{SESSION}")[1].get("status") == "qr")
    status, body = call("POST", f"/api/dev/sessions/{SESSION}/scan")
    if status >= 300:
        sys.exit(f"cloud e2e: scan answered {status} {body}")
    eventually("the session to open",
               lambda: call("GET", f"/api/sessions/{SESSION}")[1].get("status") == "open")
    print("session open")

    status, job = call("POST", "/api/messages/text",
                       {"sessionId": SESSION, "to": "628123456789", "text": "hello from the cloud run"})
    if status != 202:
        sys.exit(f"cloud e2e: send answered {status} {job}")
    job_id = job["id"]
    eventually("the job to be sent",
               lambda: call("GET", f"/api/messages/{job_id}")[1].get("status") == "sent")
    print(f"job {job_id} sent")

    event = signed_webhook("message_sent")
    if event["data"].get("id") != SESSION:
        sys.exit(f"cloud e2e: webhook for the wrong session: {event}")
    print("signed message_sent webhook received")

    # A number check: the api function records the query in DynamoDB, the host answers it
    # from the control queue.
    status, body = call("POST", "/api/contacts/check",
                        {"sessionId": SESSION, "numbers": ["628123456789", "9991234567"]})
    if status == 202:
        query = body["queryId"]
        status, body = eventually("the number check's answer", lambda: (
            lambda r: r if r[0] == 200 else None)(call("GET", f"/api/queries/{query}")))
    if status != 200 or [r["onWhatsapp"] for r in body["results"]] != [True, False]:
        sys.exit(f"cloud e2e: number check answered {status} {body}")
    print("number check answered by the host through the control queue")

    # Actions: a group made through the send queue (the job and its result in DynamoDB),
    # then read back through the query path.
    status, job = call("POST", "/api/groups?wait=10",
                       {"sessionId": SESSION, "subject": "Cloud class",
                        "participants": ["628111000001", "9975550001"]})
    if status == 202:
        status, job = eventually("the group create", lambda: (
            lambda r: r if r[1].get("status") in ("done", "failed") else None)(
                call("GET", f"/api/jobs/{job['id']}")))
    if status != 200 or job.get("status") != "done":
        sys.exit(f"cloud e2e: group create answered {status} {job}")
    group = job["result"]["groupId"]
    outcomes = [p["status"] for p in job["result"]["participants"]]
    if outcomes != ["ok", "privacy_refused"]:
        sys.exit(f"cloud e2e: group members {job['result']}")
    status, body = call("GET", f"/api/groups/{group}?sessionId={SESSION}")
    if status == 202:
        query = body["queryId"]
        status, body = eventually("the group's info", lambda: (
            lambda r: r if r[0] == 200 else None)(call("GET", f"/api/queries/{query}")))
    if status != 200 or body["group"]["subject"] != "Cloud class":
        sys.exit(f"cloud e2e: group info answered {status} {body}")
    status, again = call("GET", f"/api/jobs/{job['id']}")
    if status != 200 or again.get("result") != job["result"]:
        sys.exit(f"cloud e2e: the job's result was not kept: {status} {again}")
    print("group created by an action job and read back through the query path")

    # Every other action kind crosses the same path: accepted by the api function, carried
    # out by the host in order, its outcome on the job.
    status, sent = call("POST", "/api/messages/text?wait=10",
                        {"sessionId": SESSION, "to": "628123456789", "text": "to delete"})
    wa_id = sent["waMessageId"]
    sweep = [
        ("POST", "/api/messages/react", {"to": "628123456789", "messageId": wa_id, "emoji": "👍"}),
        ("POST", "/api/messages/edit", {"to": "628123456789", "messageId": wa_id, "text": "edited"}),
        ("POST", "/api/messages/pin", {"to": "628123456789", "messageId": wa_id}),
        ("POST", "/api/messages/star", {"to": "628123456789", "messageId": wa_id}),
        ("POST", "/api/messages/read", {"to": "628123456789", "messageIds": ["3EB0IN1"]}),
        ("POST", "/api/messages/revoke", {"to": "628123456789", "messageId": wa_id}),
        ("POST", "/api/presence", {"state": "composing", "to": "628123456789"}),
        ("POST", "/api/presence", {"state": "available"}),
        ("POST", "/api/chats/archive", {"chat": "628123456789"}),
        ("POST", "/api/chats/mute", {"chat": "628123456789", "durationSecs": 3600}),
        ("POST", "/api/contacts/628123456789/block", {}),
        ("POST", "/api/contacts/628123456789/unblock", {}),
        ("PATCH", f"/api/groups/{group}", {"subject": "Cloud class 2", "announce": True}),
        ("POST", f"/api/groups/{group}/participants",
         {"action": "add", "participants": ["628111000002"]}),
        ("POST", f"/api/groups/{group}/participants",
         {"action": "promote", "participants": ["628111000002"]}),
        ("POST", f"/api/groups/{group}/invite/reset", {}),
    ]
    for method, path, body in sweep:
        body["sessionId"] = SESSION
        status, job = call(method, path + "?wait=10", body)
        if status == 202:
            status, job = eventually(f"{path}'s job", lambda: (
                lambda r: r if r[1].get("status") in ("done", "failed") else None)(
                    call("GET", f"/api/jobs/{job['id']}")))
        if status != 200 or job.get("status") != "done":
            sys.exit(f"cloud e2e: {method} {path} answered {status} {job}")
    for path, key in [(f"/api/groups?sessionId={SESSION}", "groups"),
                      (f"/api/groups/{group}/invite?sessionId={SESSION}", "inviteLink"),
                      (f"/api/contacts/blocklist?sessionId={SESSION}", "blocked")]:
        status, body = call("GET", path)
        if status == 202:
            query = body["queryId"]
            status, body = eventually(path, lambda: (
                lambda r: r if r[0] != 202 else None)(call("GET", f"/api/queries/{query}")))
        if status != 200 or key not in body:
            sys.exit(f"cloud e2e: GET {path} answered {status} {body}")
    print(f"{len(sweep)} more actions and 3 queries through the api function and the host")

    # A photo arrives: its content and the seed server's `message` object reach the webhook,
    # signed, through the control queue, the host, the events queue and the dispatcher.
    photo = {"kind": "media", "mediaKind": "image", "caption": "our menu",
             "mimetype": "image/jpeg", "size": 48213, "width": 1080, "height": 1350}
    status, body = call("POST", f"/api/dev/sessions/{SESSION}/incoming",
                        {"from": "628555000111", "content": photo, "pushName": "Budi",
                         "media": {"size": 48213}})
    if status >= 300:
        sys.exit(f"cloud e2e: incoming answered {status} {body}")

    event = signed_webhook("message_received")
    data = event["data"]
    if data.get("type") != "image" or data.get("content") != photo:
        sys.exit(f"cloud e2e: message_received without its content: {data}")
    if data["message"]["message"]["imageMessage"].get("caption") != "our menu":
        sys.exit(f"cloud e2e: message_received without the seed's message object: {data}")
    media = data.get("media") or {}
    if media.get("status") != "stored" or media.get("size") != 48213:
        sys.exit(f"cloud e2e: the photo was not stored: {media}")
    with urllib.request.urlopen(media["url"], timeout=30) as r:
        file = r.read()
    if len(file) != 48213 or hashlib.sha256(file).hexdigest() != media["sha256"]:
        sys.exit(f"cloud e2e: the presigned URL gave {len(file)} bytes, not the photo")
    print("the received photo downloads from S3 through the event's presigned URL")
    req = urllib.request.Request(API + media["downloadPath"], headers={"x-api-key": KEY})
    with urllib.request.urlopen(req, timeout=30) as r:
        via_api = r.read()
    if via_api != file:
        sys.exit("cloud e2e: GET .../messages/:id/media did not give the photo")
    print("the API gives the received photo (a redirect to S3)")

    # A photo whose first download fails: the event still comes, says so, and the API's
    # on-request download (the control queue to the host, the host to S3) then gets it.
    status, body = call("POST", f"/api/dev/sessions/{SESSION}/incoming",
                        {"from": "628555000222", "content": photo,
                         "media": {"size": 1000, "fail": "media expired", "failTimes": 1}})
    if status >= 300:
        sys.exit(f"cloud e2e: incoming answered {status} {body}")
    event = signed_webhook("message_received",
                           lambda e: e["data"].get("from", "").startswith("628555000222"))
    failed = event["data"].get("media") or {}
    if failed.get("status") != "failed" or failed.get("error") != "media expired":
        sys.exit(f"cloud e2e: a failed download should still send the event: {failed}")
    req = urllib.request.Request(API + failed["downloadPath"], headers={"x-api-key": KEY})
    for _ in range(10):
        with urllib.request.urlopen(req, timeout=60) as r:
            if r.status == 200:
                retried = r.read()
                break
        time.sleep(2)
    else:
        sys.exit("cloud e2e: the on-request download never finished")
    if len(retried) != 1000:
        sys.exit(f"cloud e2e: the on-request download gave {len(retried)} bytes, not 1000")
    print("signed message_received with its content and file, on-request retry: cloud run OK")
    server.shutdown()


def ask_while_host_down(session):
    """With no host running: the number check is recorded and waits for one (202)."""
    status, body = call("POST", "/api/contacts/check",
                        {"sessionId": session, "numbers": ["628123450777"]})
    if status != 202 or body.get("status") != "pending":
        sys.exit(f"cloud e2e: with the host down the check answered {status} {body}")
    print(body["queryId"])


def answered_once_a_host_is_back(query):
    """A host started after the question answers it."""
    status, body = eventually("the answer from the restarted host", lambda: (
        lambda r: r if r[0] != 202 else None)(call("GET", f"/api/queries/{query}")))
    if status != 200 or [r["onWhatsapp"] for r in body["results"]] != [True]:
        sys.exit(f"cloud e2e: after the host came back the query answered {status} {body}")
    print("a query asked while the host was down was answered once a host took the session")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "ask":
        ask_while_host_down(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "answer":
        answered_once_a_host_is_back(sys.argv[2])
    else:
        main()
