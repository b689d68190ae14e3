#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A test server that behaves like Eclipse hawkBit's Direct Device Integration API.

Device side, under /{tenant}/controller/v1/{controllerId}: the base poll with HAL links
and the polling sleep, deploymentBase, its feedback (validated, 410 once the action is
closed), cancelAction and its feedback, configData, installedBase and artifact
downloads (single and multipart Range, If-Range, If-Match, a quoted SHA-1 ETag, .MD5SUM).

Control side for tests, under /_control (no authentication):
  POST /_control/config   {"sleep", "gateway_token", "target_tokens": {cid: token},
                           "anonymous", "anonymous_download", "faults": {...}, "cdn"}
  POST /_control/actions  {"targets": [cid...], "file": path, "download", "update",
                           "maintenance_window", "sha256" (override), "artifacts": [paths],
                           "confirmation_required" (the user-consent flow: confirmationBase first)}
  POST /_control/actions/{id}         change download/update/maintenance_window
  POST /_control/actions/{id}/cancel  ask the target to cancel
  POST /_control/targets/{cid}/request-config
  GET  /_control/state    targets, actions (with every feedback) and request counts
  GET  /_control/requests every request: method, path, status, auth scheme, range
Faults (on artifact downloads): cut_after (bytes, for the next cut_count full or ranged
answers), stall_sec, fail_5xx (count), wrong_size, corrupt, rate (bytes/s).
"""
import argparse, hashlib, http.server, json, os, re, socket, ssl, threading, time
from urllib.parse import urlsplit, parse_qs

p = argparse.ArgumentParser()
p.add_argument("--port-file", required=True)
p.add_argument("--tenant", default="DEFAULT")
p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
p.add_argument("--client-ca", help="with --tls: require a client certificate from this CA")
p.add_argument("--sleep", default="00:05:00")
p.add_argument("--gateway-token", default=None)
p.add_argument("--log", help="one line per request")
a = p.parse_args()

lock = threading.RLock()
cfg = {"sleep": a.sleep, "gateway_token": a.gateway_token, "target_tokens": {}, "anonymous": False,
       "anonymous_download": False, "faults": {}, "cdn": False}
targets = {}   # cid -> {"attributes", "config_requested", "polls", "created"}
actions = {}   # id -> action
artifacts = {}  # sm id -> [{"filename", "data", "sha1", "md5", "sha256"}]
requests = []
next_ids = {"action": 1, "sm": 1}

EXECUTIONS = {"closed", "proceeding", "canceled", "scheduled", "rejected", "resumed", "downloaded", "download"}
FINISHED = {"success", "failure", "none"}
MODES = {"skip", "attempt", "forced"}
HH_MM_SS = re.compile(r"^\d\d:[0-5]\d:[0-5]\d$")


def now_ms():
    return int(time.time() * 1000)


def new_target(cid):
    return {"attributes": {}, "config_requested": True, "polls": 0, "created": now_ms(), "installed": None}


def action_hash(act):
    text = "%d/%s/%s/%s" % (act["id"], act["download"], act["update"], act["maintenance_window"])
    return int.from_bytes(hashlib.sha1(text.encode()).digest()[:4], "big", signed=True)


def active_actions(cid):
    return sorted((x for x in actions.values() if x["target"] == cid and x["active"]), key=lambda x: x["id"])


def add_artifacts(paths, sha256_override):
    sm = next_ids["sm"]
    next_ids["sm"] += 1
    arts = []
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        arts.append({"filename": os.path.basename(path), "data": data, "sha1": hashlib.sha1(data).hexdigest(),
                     "md5": hashlib.md5(data).hexdigest(),
                     "sha256": sha256_override or hashlib.sha256(data).hexdigest()})
    artifacts[sm] = arts
    return sm


def parse_range(spec, size):
    """(start, end) of one "a-b", "a-" or "-n" range, None when it cannot be satisfied"""
    m = re.fullmatch(r"(\d*)-(\d*)", spec.strip())
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    if m.group(1) == "":
        start, end = max(0, size - int(m.group(2))), size - 1
    else:
        start = int(m.group(1))
        end = min(size - 1, int(m.group(2))) if m.group(2) != "" else size - 1
    return (start, end) if start < size and start <= end else None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    # --- plumbing ---
    def body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return ValueError

    def record(self, status):
        auth = (self.headers.get("Authorization") or "-").split(" ")[0]
        entry = {"method": self.command, "path": self.path, "status": status, "auth": auth,
                 "range": self.headers.get("Range") or "-", "t": time.time()}
        with lock:
            requests.append(entry)
        if a.log:
            with lock, open(a.log, "a") as f:
                f.write("%s %s %d auth=%s range=%s\n" % (self.command, self.path, status, auth, entry["range"]))

    def send(self, status, body=None, headers=(), ctype="application/hal+json;charset=UTF-8"):
        self.record(status)
        data = b""
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if data:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    def error(self, status, message):
        self.send(status, {"errorCode": "hawkbit.server.error", "message": message}, ctype="application/json")

    def base_url(self):
        scheme = "https" if a.tls else "http"
        return "%s://%s/%s/controller/v1" % (scheme, self.headers.get("Host"), a.tenant)

    # --- authentication like hawkBit's DDI filters ---
    def authorized(self, cid, download=False):
        if cfg["anonymous"] or (download and cfg["anonymous_download"]):
            return True
        auth = self.headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme == "GatewayToken" and cfg["gateway_token"] and token == cfg["gateway_token"]:
            return True
        if scheme == "TargetToken" and token and cfg["target_tokens"].get(cid) == token and cid in targets:
            return True
        return False

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def route(self, method):
        url = urlsplit(self.path)
        parts = [x for x in url.path.split("/") if x]
        query = parse_qs(url.query)
        if parts[:1] == ["_control"]:
            return self.control(method, parts[1:])
        if parts[:1] == ["cdn"] and len(parts) == 3 and method == "GET":
            return self.artifact(None, int(parts[1]), parts[2], cdn=True)
        if len(parts) < 4 or parts[0] != a.tenant or parts[1:3] != ["controller", "v1"]:
            return self.error(404, "no such resource")
        cid, rest = parts[3], parts[4:]
        download = len(rest) >= 3 and rest[0] == "softwaremodules"
        if not self.authorized(cid, download):
            return self.send(401, None, [("WWW-Authenticate", "TargetToken")])
        with lock:
            if cid not in targets:
                if rest:
                    return self.error(404, "target %s does not exist" % cid)
                targets[cid] = new_target(cid)
        key = (method, rest[0] if rest else "", len(rest))
        handler = {
            ("GET", "", 0): self.poll,
            ("GET", "deploymentBase", 2): self.deployment,
            ("POST", "deploymentBase", 3): self.feedback,
            ("GET", "cancelAction", 2): self.cancel_action,
            ("POST", "cancelAction", 3): self.cancel_feedback,
            ("GET", "confirmationBase", 2): self.confirmation,
            ("POST", "confirmationBase", 3): self.confirmation_feedback,
            ("PUT", "configData", 1): self.config_data,
            ("GET", "installedBase", 2): self.installed_get,
            ("PUT", "installedBase", 1): self.installed_put,
            ("GET", "softwaremodules", 3): self.artifact_list,
            ("GET", "softwaremodules", 4): None,
        }.get(key, False)
        if handler is False or (len(rest) == 3 and rest[0] != "softwaremodules" and rest[2] != "feedback"):
            return self.error(404 if method == "GET" else 405, "no such resource")
        try:
            if key == ("GET", "softwaremodules", 4):
                if rest[2] != "artifacts":
                    return self.error(404, "no such resource")
                return self.artifact(cid, int(rest[1]), rest[3])
            return handler(cid, rest, query)
        except (ValueError, KeyError) as e:
            return self.error(400, "bad request: %s" % e)

    # --- DDI resources ---
    def poll(self, cid, rest, query):
        base = self.base_url() + "/" + cid
        with lock:
            t = targets[cid]
            t["polls"] += 1
            t["last_poll"] = now_ms()
            links = {}
            act = (active_actions(cid) or [None])[0]
            if act is not None and act["canceling"]:
                links["cancelAction"] = {"href": "%s/cancelAction/%d" % (base, act["id"])}
            elif act is not None and act["confirmation"]:
                links["confirmationBase"] = {"href": "%s/confirmationBase/%d?c=%d" % (base, act["id"],
                                                                                      action_hash(act))}
            elif act is not None:
                links["deploymentBase"] = {"href": "%s/deploymentBase/%d?c=%d" % (base, act["id"], action_hash(act))}
            else:
                done = [x for x in actions.values() if x["target"] == cid and not x["active"]]
                if done:
                    links["installedBase"] = {"href": "%s/installedBase/%d" % (base, max(x["id"] for x in done))}
            if t["config_requested"]:
                links["configData"] = {"href": "%s/configData" % base}
            body = {"config": {"polling": {"sleep": cfg["sleep"]}}}
            if links:
                body["_links"] = links
        data = json.dumps(body).encode()
        etag = '"%s"' % hashlib.md5(data).hexdigest()
        if self.headers.get("If-None-Match") == etag:
            return self.send(304, None, [("ETag", etag)])
        return self.send(200, data, [("ETag", etag)])

    def action_of(self, cid, aid):
        act = actions.get(int(aid))
        if act is None or act["target"] != cid:
            raise KeyError("action %s of %s" % (aid, cid))
        return act

    def deployment_body(self, cid, act):
        base = self.base_url() + "/" + cid
        sm = act["sm"]
        arts = []
        for art in artifacts[sm]:
            if cfg["cdn"]:
                href = "%s/cdn/%d/%s" % (self.base_url().rsplit("/", 3)[0], sm, art["filename"])
            else:
                href = "%s/softwaremodules/%d/artifacts/%s" % (base, sm, art["filename"])
            scheme_key = "download" if href.startswith("https") else "download-http"
            arts.append({"filename": art["filename"],
                         "hashes": {"sha1": art["sha1"], "md5": art["md5"], "sha256": art["sha256"]},
                         "size": len(art["data"]),
                         "_links": {scheme_key: {"href": href}, "md5sum" if scheme_key == "download" else "md5sum-http":
                                    {"href": href + ".MD5SUM"}}})
        dep = {"download": act["download"], "update": act["update"],
               "chunks": [{"part": "bApp", "version": act["version"], "name": act["name"], "artifacts": arts,
                           "metadata": [{"key": "dfud", "value": "test"}]}]}
        if act["maintenance_window"]:
            dep["maintenanceWindow"] = act["maintenance_window"]
        return {"id": str(act["id"]), "deployment": dep,
                "actionHistory": {"status": act["status"], "messages": act["messages"][-5:]}}

    def deployment(self, cid, rest, query):
        with lock:
            act = self.action_of(cid, rest[1])
            return self.send(200, self.deployment_body(cid, act))

    def confirmation(self, cid, rest, query):
        with lock:
            act = self.action_of(cid, rest[1])
            if not act["confirmation"]:
                return self.error(404, "action %d waits for no confirmation" % act["id"])
            body = self.deployment_body(cid, act)
            return self.send(200, {"id": body["id"], "confirmation": body["deployment"],
                                   "actionHistory": body["actionHistory"]})

    def confirmation_feedback(self, cid, rest, query):
        if rest[2] != "feedback":
            return self.error(404, "no such resource")
        body = self.body_json()
        if not isinstance(body, dict) or body.get("confirmation") not in ("confirmed", "denied"):
            return self.error(400, "confirmation must be confirmed or denied")
        with lock:
            act = self.action_of(cid, rest[1])
            if not act["active"] or not act["confirmation"]:
                return self.error(410, "action %d waits for no confirmation" % act["id"])
            act["confirmation_feedback"].append({k: body.get(k) for k in ("confirmation", "code", "details")})
            if body["confirmation"] == "confirmed":
                act["confirmation"] = False
                act["status"] = "RUNNING"
        return self.send(200, None)

    def installed_get(self, cid, rest, query):
        with lock:
            act = self.action_of(cid, rest[1])
            if act["active"]:
                return self.error(404, "action %d is still active" % act["id"])
            return self.send(200, self.deployment_body(cid, act))

    def installed_put(self, cid, rest, query):
        body = self.body_json()
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not isinstance(body.get("version"), str):
            return self.error(400, "name and version are required")
        with lock:
            targets[cid]["installed"] = {"name": body["name"], "version": body["version"]}
        return self.send(200, {})

    def validate_feedback(self):
        body = self.body_json()
        if not isinstance(body, dict):
            return None, "not a JSON object"
        status = body.get("status")
        if not isinstance(status, dict) or status.get("execution") not in EXECUTIONS:
            return None, "status.execution is missing or unknown"
        result = status.get("result")
        if not isinstance(result, dict) or result.get("finished") not in FINISHED:
            return None, "status.result.finished is missing or unknown"
        details = status.get("details", [])
        if not isinstance(details, list) or not all(isinstance(x, str) for x in details):
            return None, "status.details must be a list of strings"
        if "code" in status and not isinstance(status["code"], int):
            return None, "status.code must be an integer"
        return body, None

    def take_feedback(self, cid, rest, log_key, apply):
        if rest[2] != "feedback":
            return self.error(404, "no such resource")
        body, why = self.validate_feedback()
        with lock:
            act = self.action_of(cid, rest[1])
            if body is None:
                return self.error(400, why)
            if not act["active"]:
                return self.error(410, "action %d is closed" % act["id"])
            if act["confirmation"]:
                return self.error(404, "action %d waits for its confirmation" % act["id"])
            st = body["status"]
            act[log_key].append({"execution": st["execution"], "finished": st["result"]["finished"],
                                 "code": st.get("code"), "details": st.get("details", []),
                                 "progress": st["result"].get("progress"), "t": now_ms()})
            act["messages"].extend(st.get("details", []))
            apply(cid, act, st["execution"], st["result"]["finished"])
        return self.send(200, None)

    def feedback(self, cid, rest, query):
        return self.take_feedback(cid, rest, "feedback", self.apply_feedback)

    def apply_feedback(self, cid, act, ex, fin):
        if ex == "closed":
            act["active"] = False
            act["status"] = "ERROR" if fin == "failure" else "FINISHED"
            if fin != "failure":
                targets[cid]["config_requested"] = True
        elif ex == "canceled":
            act["active"] = False
            act["status"] = "CANCELED"
        elif ex == "rejected":
            act["status"] = "WARNING"
        elif ex in ("download", "downloaded"):
            act["status"] = ex.upper()
        else:
            act["status"] = "RUNNING"

    def cancel_action(self, cid, rest, query):
        with lock:
            act = self.action_of(cid, rest[1])
            if not act["canceling"]:
                return self.error(404, "action %d is not being canceled" % act["id"])
            return self.send(200, {"id": str(act["id"]), "cancelAction": {"stopId": str(act["id"])}})

    def cancel_feedback(self, cid, rest, query):
        return self.take_feedback(cid, rest, "cancel_feedback", self.apply_cancel_feedback)

    def apply_cancel_feedback(self, cid, act, ex, fin):
        if ex in ("closed", "canceled") and fin != "failure":
            act["active"] = False
            act["canceling"] = False
            act["status"] = "CANCELED"
        elif ex == "rejected" or fin == "failure":
            act["canceling"] = False
            act["status"] = "WARNING"

    def config_data(self, cid, rest, query):
        body = self.body_json()
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict) or \
                not all(isinstance(k, str) and isinstance(v, str) for k, v in body["data"].items()):
            return self.error(400, "data must map strings to strings")
        mode = body.get("mode", "merge")
        if mode not in ("merge", "replace", "remove"):
            return self.error(400, "unknown mode %s" % mode)
        with lock:
            t = targets[cid]
            if mode == "replace":
                t["attributes"] = dict(body["data"])
            elif mode == "remove":
                for k in body["data"]:
                    t["attributes"].pop(k, None)
            else:
                t["attributes"].update(body["data"])
            t["config_requested"] = False
        return self.send(200, None)

    def artifact_list(self, cid, rest, query):
        if rest[2] != "artifacts":
            return self.error(404, "no such resource")
        sm = int(rest[1])
        base = self.base_url() + "/" + cid
        if sm not in artifacts:
            return self.error(404, "no software module %d" % sm)
        out = [{"filename": x["filename"], "hashes": {"sha1": x["sha1"], "md5": x["md5"], "sha256": x["sha256"]},
                "size": len(x["data"]),
                "_links": {"download-http": {"href": "%s/softwaremodules/%d/artifacts/%s" % (base, sm, x["filename"])}}}
               for x in artifacts[sm]]
        return self.send(200, out)

    def artifact(self, cid, sm, filename, cdn=False):
        md5sum = filename.endswith(".MD5SUM")
        name = filename[:-7] if md5sum else filename
        art = next((x for x in artifacts.get(sm, []) if x["filename"] == name), None)
        if art is None:
            return self.error(404, "no artifact %s" % filename)
        if md5sum:
            return self.send(200, ("%s  %s\n" % (art["md5"], name)).encode(), ctype="text/plain")
        faults = cfg["faults"]
        with lock:
            if faults.get("fail_5xx", 0) > 0:
                faults["fail_5xx"] -= 1
                return self.error(503, "fault: unavailable")
        data = art["data"]
        etag = '"%s"' % art["sha1"]
        if self.headers.get("If-Match") not in (None, "*", etag):
            return self.send(412, None, [("ETag", etag)])
        start, end, status = 0, len(data) - 1, 200
        rng = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if rng and (if_range is None or if_range == etag):
            spans = [parse_range(x, len(data)) for x in rng.strip().removeprefix("bytes=").split(",")]
            if not rng.strip().startswith("bytes=") or None in spans:
                return self.send(416, None, [("Content-Range", "bytes */%d" % len(data))])
            if len(spans) > 1:
                return self.multipart(data, spans, etag)
            start, end = spans[0]
            status = 206
        body = data[start:end + 1]
        if faults.get("corrupt") and body:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        if status == 200 and cid is not None:
            with lock:
                for act in actions.values():
                    if act["target"] == cid and act["sm"] == sm and act["active"]:
                        act["messages"].append("Target downloads %s" % name)
        self.record(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", self.date_time_string(0))
        self.send_header("Content-Disposition", "attachment;filename=%s" % name)
        self.send_header("Content-Length", str(len(body) + (faults.get("wrong_size") or 0)))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, len(data)))
        self.end_headers()
        limit = len(body)
        with lock:
            if faults.get("cut_count", 0) > 0 and faults.get("cut_after") is not None:
                faults["cut_count"] -= 1
                limit = min(limit, faults["cut_after"])
        if faults.get("stall_sec"):
            time.sleep(faults["stall_sec"])
        rate = faults.get("rate") or 0
        sent = 0
        try:
            while sent < limit:
                n = min(1024 if rate else 65536, limit - sent)
                self.wfile.write(body[sent:sent + n])
                self.wfile.flush()
                sent += n
                if rate:
                    time.sleep(n / rate)
            if limit < len(body) or faults.get("wrong_size"):
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
        except OSError:
            self.close_connection = True

    def multipart(self, data, spans, etag):
        """several ranges in one answer, as multipart/byteranges"""
        boundary = "DDI_BYTERANGES"
        parts = b""
        for start, end in spans:
            parts += ("--%s\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes %d-%d/%d\r\n\r\n"
                      % (boundary, start, end, len(data))).encode() + data[start:end + 1] + b"\r\n"
        parts += ("--%s--\r\n" % boundary).encode()
        return self.send(206, parts, [("ETag", etag), ("Accept-Ranges", "bytes")],
                         ctype="multipart/byteranges; boundary=" + boundary)

    # --- control side ---
    def control(self, method, parts):
        body = self.body_json() if method in ("POST", "PUT") else None
        if body is ValueError:
            return self.error(400, "bad JSON")
        body = body or {}
        with lock:
            if method == "GET" and parts == ["state"]:
                return self.send(200, self.state(), ctype="application/json")
            if method == "GET" and parts == ["requests"]:
                return self.send(200, requests, ctype="application/json")
            if method == "POST" and parts == ["config"]:
                for k, v in body.items():
                    if k not in cfg:
                        return self.error(400, "unknown setting %s" % k)
                    if k == "sleep" and not HH_MM_SS.match(v):
                        return self.error(400, "sleep is HH:MM:SS")
                    cfg[k] = v
                return self.send(200, {}, ctype="application/json")
            if method == "POST" and parts == ["actions"]:
                return self.create_actions(body)
            if method == "POST" and len(parts) >= 2 and parts[0] == "actions":
                act = actions.get(int(parts[1]))
                if act is None:
                    return self.error(404, "no action %s" % parts[1])
                if parts[2:] == ["cancel"]:
                    if not act["active"]:
                        return self.error(409, "action %d is closed" % act["id"])
                    act["canceling"] = True
                    act["status"] = "CANCELING"
                    return self.send(200, {}, ctype="application/json")
                for k in ("download", "update", "maintenance_window"):
                    if k in body:
                        act[k] = body[k]
                return self.send(200, {}, ctype="application/json")
            if method == "POST" and len(parts) == 3 and parts[0] == "targets" and parts[2] == "request-config":
                targets.setdefault(parts[1], new_target(parts[1]))["config_requested"] = True
                return self.send(200, {}, ctype="application/json")
        return self.error(404, "no such control resource")

    def create_actions(self, body):
        paths = body.get("artifacts") or [body["file"]]
        for k in ("download", "update"):
            if body.get(k, "forced") not in MODES:
                return self.error(400, "%s must be skip, attempt or forced" % k)
        sm = add_artifacts(paths, body.get("sha256"))
        ids = []
        for cid in body["targets"]:
            targets.setdefault(cid, new_target(cid))
            aid = next_ids["action"]
            next_ids["action"] += 1
            actions[aid] = {"id": aid, "target": cid, "sm": sm, "download": body.get("download", "forced"),
                            "update": body.get("update", "forced"),
                            "maintenance_window": body.get("maintenance_window"),
                            "name": body.get("name", "firmware"), "version": body.get("version", "1.0.0"),
                            "active": True, "canceling": False, "messages": [],
                            "confirmation": bool(body.get("confirmation_required")),
                            "status": "WAIT_FOR_CONFIRMATION" if body.get("confirmation_required") else "RUNNING",
                            "feedback": [], "cancel_feedback": [], "confirmation_feedback": [],
                            "created": time.time()}
            ids.append(aid)
        return self.send(200, {"actions": ids}, ctype="application/json")

    def state(self):
        def action_view(x):
            return {k: v for k, v in x.items() if k != "messages"} | {"messages": x["messages"]}
        return {"targets": targets, "actions": {str(k): action_view(v) for k, v in actions.items()},
                "requests": len(requests), "config": cfg}


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if a.tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*a.tls)
    if a.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(a.client_ca)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(a.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(a.port_file + ".tmp", a.port_file)
server.serve_forever()
