#!/usr/bin/env python3
"""A loopback fake of the GitHub REST API for the latency benchmark.

    python3 bench/fake_github.py --delay 0.1 --port-file PORTFILE

Serves, for any repository `bench/tool-NNN`, one release `v1.0.0` with a
linux/amd64 and a linux/arm64 tar.gz and a sha256sum checksum file, made
on first request (deterministic bytes):

  GET /api/v3/repos/{owner}/{repo}/releases/tags/{tag}   release JSON
  GET /api/v3/repos/{owner}/{repo}/releases               list (one page)
  GET /api/v3/repos/{owner}/{repo}/commits/{ref}          sha (vnd.github.sha)
  GET /dl/{owner}/{repo}/releases/download/{tag}/{name}   asset bytes
  POST /{owner}/{repo}.git/git-upload-pack                git's ls-refs (v2)

Like GitHub, API answers carry an ETag and x-ratelimit-* headers, and an
If-None-Match that still holds is answered 304 Not Modified (not counted
against the rate limit). Every request waits --delay seconds first: one
network round trip.

  GET  /_stats   JSON counters: requests, api, api_200, api_304,
                 conditional, max_in_flight
  POST /_reset   zeroes them

Stdlib only; binds 127.0.0.1 only; writes its port to --port-file.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

ARCHES = ("amd64", "arm64")
RATE_LIMIT = 5000


def zeroed():
    return {
        "requests": 0,
        "api": 0,
        "api_200": 0,
        "api_304": 0,
        "conditional": 0,
        "downloads": 0,
        "max_in_flight": 0,
    }


class State:
    def __init__(self, delay):
        self.delay = delay
        self.lock = threading.Lock()
        self.assets = {}
        self.stats = zeroed()
        self.in_flight = 0
        self.rate_used = 0
        self.trace = None

    def reset(self):
        """Zeroes the counters (requests still open stay counted in flight)."""
        with self.lock:
            self.stats = zeroed()
            self.stats["max_in_flight"] = self.in_flight


def tar_gz(member, data):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        info.mode = 0o755
        info.mtime = 1_709_726_400
        tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def release_assets(state, repo, tag):
    """{name: bytes} of the release, built once per repository."""
    key = (repo, tag)
    with state.lock:
        if key in state.assets:
            return state.assets[key]
    name = repo.split("/")[-1]
    files = {}
    for arch in ARCHES:
        script = f"#!/bin/sh\necho {name} {tag} linux/{arch}\n".encode()
        files[f"tool_{tag}_linux_{arch}.tar.gz"] = tar_gz("tool", script)
    sums = "".join(
        f"{hashlib.sha256(b).hexdigest()}  {n}\n" for n, b in sorted(files.items())
    )
    files[f"tool_{tag}_checksums.txt"] = sums.encode()
    with state.lock:
        state.assets.setdefault(key, files)
        return state.assets[key]


def commit_of(repo):
    return hashlib.sha1(repo.encode()).hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-github/1"

    def log_message(self, *args):
        pass

    @property
    def state(self):
        return self.server.state

    def do_POST(self):
        if self.path == "/_reset":
            self.state.reset()
            self.send(200, b"{}", "application/json")
        elif self.path.endswith(".git/git-upload-pack"):
            self.git_ls_refs()
        else:
            self.send(404, b"{}", "application/json")

    def git_ls_refs(self):
        """git's protocol v2 `ls-refs`, for the one tag v1.0.0."""
        st = self.state
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with st.lock:
            st.stats["requests"] += 1
            st.in_flight += 1
            st.stats["max_in_flight"] = max(st.stats["max_in_flight"], st.in_flight)
        try:
            time.sleep(st.delay)
            parts = urlsplit(self.path).path.strip("/").split("/")
            repo = f"{parts[0]}/{parts[1].removesuffix('.git')}"
            out = b""
            if b"ref-prefix refs/tags/v1.0.0\n" in body:
                line = f"{commit_of(repo)} refs/tags/v1.0.0\n".encode()
                out += b"%04x" % (len(line) + 4) + line
            self.send(200, out + b"0000", "application/x-git-upload-pack-result")
        finally:
            with st.lock:
                st.in_flight -= 1

    def do_GET(self):
        if self.path == "/_stats":
            with self.state.lock:
                body = json.dumps(self.state.stats).encode()
            self.send(200, body, "application/json")
            return
        st = self.state
        with st.lock:
            st.stats["requests"] += 1
            st.in_flight += 1
            st.stats["max_in_flight"] = max(st.stats["max_in_flight"], st.in_flight)
        start = time.time()
        try:
            time.sleep(st.delay)
            self.route()
        finally:
            with st.lock:
                st.in_flight -= 1
                if st.trace:
                    st.trace.write(f"{start:.3f} {time.time():.3f} {self.path}\n")

    def route(self):
        path = urlsplit(self.path).path
        parts = [unquote(p) for p in path.strip("/").split("/")]
        host = f"http://{self.headers.get('Host')}"
        if parts[:3] == ["api", "v3", "repos"] and len(parts) >= 6:
            owner, name, rest = parts[3], parts[4], parts[5:]
            self.api(f"{owner}/{name}", rest, host)
        elif parts[:1] == ["dl"] and len(parts) == 7 and parts[3:5] == ["releases", "download"]:
            repo, tag, asset = f"{parts[1]}/{parts[2]}", parts[5], parts[6]
            files = release_assets(self.state, repo, tag) if tag == "v1.0.0" else {}
            with self.state.lock:
                self.state.stats["downloads"] += 1
            if asset in files:
                self.send(200, files[asset], "application/octet-stream")
            else:
                self.send(404, b"Not Found", "text/plain")
        else:
            self.send(404, b'{"message":"Not Found"}', "application/json")

    def api(self, repo, rest, host):
        accept = self.headers.get("Accept", "")
        if rest == ["releases", "tags", "v1.0.0"]:
            body = json.dumps(self.release_json(repo, host)).encode()
            self.api_answer(body, "application/json; charset=utf-8")
        elif rest == ["releases"]:
            body = json.dumps([self.release_json(repo, host)]).encode()
            self.api_answer(body, "application/json; charset=utf-8")
        elif len(rest) == 2 and rest[0] == "commits" and rest[1] in ("v1.0.0", commit_of(repo)):
            sha = commit_of(repo)
            if "vnd.github.sha" in accept:
                self.api_answer(sha.encode(), "application/vnd.github.sha; charset=utf-8")
            else:
                self.api_answer(json.dumps({"sha": sha}).encode(), "application/json")
        else:
            self.api_answer(b'{"message":"Not Found"}', "application/json", status=404)

    def release_json(self, repo, host):
        files = release_assets(self.state, repo, "v1.0.0")
        ident = int(commit_of(repo)[:6], 16)
        assets = []
        for i, (name, data) in enumerate(sorted(files.items())):
            assets.append(
                {
                    "id": ident * 10 + i,
                    "name": name,
                    "size": len(data),
                    "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
                    "browser_download_url": f"{host}/dl/{repo}/releases/download/v1.0.0/{name}",
                    "url": f"{host}/api/v3/repos/{repo}/releases/assets/{ident * 10 + i}",
                    "state": "uploaded",
                    "content_type": "application/octet-stream",
                }
            )
        return {
            "id": ident,
            "tag_name": "v1.0.0",
            "name": "v1.0.0",
            "draft": False,
            "prerelease": False,
            "body": "Release v1.0.0",
            "html_url": f"{host}/{repo}/releases/tag/v1.0.0",
            "published_at": "2024-03-06T12:00:00Z",
            "target_commitish": "main",
            "assets": assets,
        }

    def api_answer(self, body, content_type, status=200):
        st = self.state
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        inm = self.headers.get("If-None-Match")
        with st.lock:
            st.stats["api"] += 1
            if inm is not None:
                st.stats["conditional"] += 1
            not_modified = status == 200 and inm is not None and etag in [
                t.strip().removeprefix("W/") for t in inm.split(",")
            ]
            if not_modified:
                st.stats["api_304"] += 1
            elif status == 200:
                st.stats["api_200"] += 1
                st.rate_used += 1
            remaining = max(0, RATE_LIMIT - st.rate_used)
        headers = {
            "ETag": etag,
            "x-ratelimit-limit": str(RATE_LIMIT),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(int(time.time()) + 3600),
        }
        if not_modified:
            self.send(304, b"", None, headers)
        else:
            self.send(status, body, content_type, headers)

    def send(self, status, body, content_type, headers=None):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delay", type=float, default=0.1, help="seconds per request")
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--trace", help="append `start end path` of every request here")
    args = parser.parse_args()
    # The listen backlog is set when the socket is bound: on the class.
    ThreadingHTTPServer.request_queue_size = 1024
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(args.delay)
    server.state.trace = open(args.trace, "a", buffering=1) if args.trace else None
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
