#!/usr/bin/env python3
"""Cloud instance-metadata emulator for the agent's termination-notice tests.

Answers as the documented endpoints do, all on one loopback port:

AWS EC2 IMDSv2
  PUT /latest/api/token  with X-aws-ec2-metadata-token-ttl-seconds: 1..21600
      -> 200 token (400 without a valid TTL header; 403 with X-Forwarded-For)
  GET /latest/meta-data/...  with X-aws-ec2-metadata-token: TOKEN
      -> 401 without a token, or with an unknown or expired one
  GET /latest/meta-data/spot/instance-action
      -> 404 (no notice) or {"action": "terminate|stop|hibernate", "time": "...Z"}
  GET /latest/meta-data/events/recommendations/rebalance
      -> 404 or {"noticeTime": "...Z"}
GCE metadata server
  GET /computeMetadata/v1/instance/preempted  with Metadata-Flavor: Google
      -> 403 without the header; TRUE or FALSE with an ETag;
         ?wait_for_change=true[&last_etag=E][&timeout_sec=N] waits until the
         value's ETag differs from E (or from the current one), or N seconds
Azure IMDS Scheduled Events
  GET  /metadata/scheduledevents?api-version=2020-07-01  with Metadata: true
      -> 400 without the header or a known api-version;
         {"DocumentIncarnation": n, "Events": [...]}
  POST /metadata/scheduledevents?api-version=...  {"StartRequests": [{"EventId": id}]}
      -> 200; the event starts (EventStatus Started, NotBefore "")
  GET  /metadata/instance/compute/name?api-version=...&format=text -> the VM's name

Control (no header requirements), for tests:
  GET  /_emulator/health
  POST /_emulator/reset
  POST /_emulator/aws/instance-action  {"action": ..., "time": ...}
  POST /_emulator/aws/rebalance        {"noticeTime": ...}
  POST /_emulator/aws/expire-tokens    (every token issued so far becomes invalid)
  POST /_emulator/gce/preempted        {"value": "TRUE" | "FALSE"}
  POST /_emulator/azure/event          {Scheduled Events event fields; EventId made if absent}
  POST /_emulator/raw                  {"method": "GET", "path": "/...", "status": 200, "body": "..."}
                                       answer this path with this (after the header checks)
  GET  /_emulator/requests             every request seen: method, path, headers, body
  GET  /_emulator/azure/acks           EventIds acknowledged through StartRequests

Usage: metadata_emulator.py --port-file FILE [--port N] [--vm-name NAME]
"""
import argparse
import hashlib
import json
import os
import secrets
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

AZURE_API_VERSIONS = ["2017-11-01", "2019-01-01", "2019-08-01", "2020-07-01"]
AZURE_INSTANCE_API_VERSIONS = ["2019-06-01", "2020-09-01", "2021-02-01", "2021-12-13"]


class State:
    def __init__(self, vm_name):
        self.vm_name = vm_name
        self.cond = threading.Condition()
        self.reset()

    def reset(self):
        with self.cond:
            self.tokens = {}  # token -> expiry (monotonic)
            self.instance_action = None
            self.rebalance = None
            self.preempted = "FALSE"
            self.preempted_version = 0
            self.azure_events = []
            self.azure_incarnation = 1
            self.azure_acks = []
            self.raw = {}  # (method, path) -> (status, body)
            self.requests = []
            self.cond.notify_all()

    def preempted_etag(self):
        return hashlib.sha256(f"{self.preempted}/{self.preempted_version}".encode()).hexdigest()[:16]


STATE = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "metadata-emulator"

    def log_message(self, fmt, *args):  # quiet; requests are recorded instead
        pass

    # -- plumbing --------------------------------------------------------
    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status, body=b"", content_type="text/plain", headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, obj, headers=None):
        self.send(status, json.dumps(obj), "application/json", headers)

    def record(self, body):
        with STATE.cond:
            STATE.requests.append({
                "method": self.command,
                "path": self.path,
                "headers": {k: v for k, v in self.headers.items()},
                "body": body.decode(errors="replace"),
            })

    def raw_override(self, path):
        with STATE.cond:
            return STATE.raw.get((self.command, path))

    def dispatch(self):
        body = self.body()
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path.startswith("/_emulator/"):
            return self.control(url.path, body)
        self.record(body)
        if url.path.startswith("/latest/"):
            return self.aws(url.path)
        if url.path.startswith("/computeMetadata/"):
            return self.gce(url.path, query)
        if url.path.startswith("/metadata/"):
            return self.azure(url.path, query, body)
        return self.send(404, "Not Found")

    do_GET = dispatch
    do_PUT = dispatch
    do_POST = dispatch
    do_DELETE = dispatch

    # -- AWS IMDSv2 ------------------------------------------------------
    def aws(self, path):
        if path == "/latest/api/token":
            if self.command != "PUT":
                return self.send(405, "Method Not Allowed")
            if self.headers.get("X-Forwarded-For"):
                return self.send(403, "Forbidden")
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self.send(400, "Bad Request")
            token = secrets.token_urlsafe(40)
            with STATE.cond:
                STATE.tokens[token] = time.monotonic() + int(ttl)
            return self.send(200, token, headers={"X-aws-ec2-metadata-token-ttl-seconds": ttl})
        token = self.headers.get("X-aws-ec2-metadata-token")
        with STATE.cond:
            expiry = STATE.tokens.get(token) if token else None
        if expiry is None or expiry < time.monotonic():
            return self.send(401, "Unauthorized")
        if self.command != "GET":
            return self.send(405, "Method Not Allowed")
        override = self.raw_override(path)
        if override:
            return self.send(override[0], override[1])
        with STATE.cond:
            action, rebalance = STATE.instance_action, STATE.rebalance
        if path == "/latest/meta-data/spot/instance-action" and action:
            return self.send(200, json.dumps(action))
        if path == "/latest/meta-data/events/recommendations/rebalance" and rebalance:
            return self.send(200, json.dumps(rebalance))
        return self.send(404, "Not Found")

    # -- GCE metadata server ---------------------------------------------
    def gce(self, path, query):
        if self.headers.get("X-Forwarded-For"):
            return self.send(403, "Request had X-Forwarded-For header and was rejected.")
        if self.headers.get("Metadata-Flavor") != "Google":
            return self.send(403, "Missing required header: Metadata-Flavor:Google\n"
                                  "Missing Metadata-Flavor:Google header.", "text/html")
        if path != "/computeMetadata/v1/instance/preempted":
            return self.send(404, "Not Found", headers={"Metadata-Flavor": "Google"})
        override = self.raw_override(path)
        if override:
            return self.send(override[0], override[1], "application/text", {"Metadata-Flavor": "Google"})
        with STATE.cond:
            if query.get("wait_for_change") == "true":
                timeout = float(query.get("timeout_sec") or 300)
                last = query.get("last_etag") or STATE.preempted_etag()
                deadline = time.monotonic() + timeout
                while STATE.preempted_etag() == last:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    STATE.cond.wait(left)
            value, etag = STATE.preempted, STATE.preempted_etag()
        return self.send(200, value, "application/text", {"Metadata-Flavor": "Google", "ETag": etag})

    # -- Azure Scheduled Events ------------------------------------------
    def azure(self, path, query, body):
        if self.headers.get("X-Forwarded-For"):
            return self.send_json(400, {"error": "Bad request. The request contains X-Forwarded-For header."})
        if self.headers.get("Metadata") != "true":
            return self.send_json(400, {"error": "Bad request. Required metadata header not specified"})
        version = query.get("api-version")
        if path == "/metadata/instance/compute/name":
            if version not in AZURE_INSTANCE_API_VERSIONS:
                return self.send_json(400, {"error": "Bad request. api-version is invalid or was not specified "
                                                     "in the request.", "newest-versions": AZURE_INSTANCE_API_VERSIONS})
            return self.send(200, STATE.vm_name)
        if path != "/metadata/scheduledevents":
            return self.send_json(404, {"error": "Not found"})
        if version not in AZURE_API_VERSIONS:
            return self.send_json(400, {"error": "Bad request. api-version is invalid or was not specified in the "
                                                 "request.", "newest-versions": AZURE_API_VERSIONS[::-1]})
        if self.command == "POST":
            try:
                ids = [r["EventId"] for r in json.loads(body)["StartRequests"]]
            except (ValueError, KeyError, TypeError):
                return self.send_json(400, {"error": "Bad request. The StartRequests body is malformed."})
            with STATE.cond:
                for e in STATE.azure_events:
                    if e["EventId"] in ids:
                        e["EventStatus"] = "Started"
                        e["NotBefore"] = ""
                STATE.azure_acks.extend(ids)
                STATE.azure_incarnation += 1
            return self.send(200, "")
        override = self.raw_override(path)
        if override:
            return self.send(override[0], override[1], "application/json")
        with STATE.cond:
            doc = {"DocumentIncarnation": STATE.azure_incarnation, "Events": list(STATE.azure_events)}
        return self.send_json(200, doc)

    # -- control -----------------------------------------------------------
    def control(self, path, body):
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return self.send_json(400, {"error": "control bodies are JSON"})
        with STATE.cond:
            if path == "/_emulator/health":
                return self.send_json(200, {"ok": True})
            if path == "/_emulator/requests":
                return self.send_json(200, STATE.requests)
            if path == "/_emulator/azure/acks":
                return self.send_json(200, STATE.azure_acks)
        if self.command != "POST":
            return self.send_json(405, {"error": "control changes are POSTs"})
        if path == "/_emulator/reset":
            STATE.reset()
        elif path == "/_emulator/aws/instance-action":
            with STATE.cond:
                STATE.instance_action = data
        elif path == "/_emulator/aws/rebalance":
            with STATE.cond:
                STATE.rebalance = data
        elif path == "/_emulator/aws/expire-tokens":
            with STATE.cond:
                STATE.tokens.clear()
        elif path == "/_emulator/gce/preempted":
            with STATE.cond:
                STATE.preempted = data.get("value", "TRUE")
                STATE.preempted_version += 1
                STATE.cond.notify_all()
        elif path == "/_emulator/azure/event":
            event = {"EventId": str(uuid.uuid4()).upper(), "EventType": "Preempt", "ResourceType": "VirtualMachine",
                     "Resources": [STATE.vm_name], "EventStatus": "Scheduled", "NotBefore": "",
                     "Description": "", "EventSource": "Platform", "DurationInSeconds": -1}
            event.update(data)
            with STATE.cond:
                STATE.azure_events.append(event)
                STATE.azure_incarnation += 1
            return self.send_json(200, event)
        elif path == "/_emulator/raw":
            with STATE.cond:
                STATE.raw[(data["method"], data["path"])] = (int(data["status"]), data["body"])
        else:
            return self.send_json(404, {"error": "unknown control path " + path})
        return self.send_json(200, {"ok": True})


def main():
    global STATE
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--vm-name", default="wscp-test-vm")
    args = parser.parse_args()
    STATE = State(args.vm_name)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
