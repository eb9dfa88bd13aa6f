"""An HTTP proxy on 127.0.0.1 in front of fake-gcs-server that counts object-list requests and, on demand, gives
`matchGlob` the meaning real GCS gives it (fake-gcs-server ignores the parameter) or refuses it with a 400.

`mode`: "ignore" forwards as-is (fake-gcs-server's behaviour); "honour" answers a list request carrying
matchGlob with only the matching objects, in one page as GCS does when few match (the proxy pages through the
upstream itself); "refuse" answers such a request with 400 Bad Request, as a server without the feature might.
List requests without maxResults get GCS's default page size (1,000): fake-gcs-server would answer in one page.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qsl, urlencode, urlsplit

from job_run_aggregator.artifacts.buckets.gcs import glob_regex

GCS_PAGE = 1000  # objects per list page when the request does not say (GCS's default and maximum)


class GlobProxy:
    def __init__(self, upstream: str, mode: str = "ignore") -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.mode = mode
        self.list_requests = 0  # object-list requests received from the client
        self.glob_requests = 0  # of which carried matchGlob
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                # The body, written after the headers, would otherwise wait ~40 ms for the client's delayed ACK
                # (Nagle), as in faults/proxy.py.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                super().setup()

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                params = dict(parse_qsl(query, keep_blank_values=True))
                is_list = path.rstrip("/").endswith("/o")
                if is_list:
                    with proxy._lock:
                        proxy.list_requests += 1
                        proxy.glob_requests += "matchGlob" in params
                if is_list and "matchGlob" in params and proxy.mode == "refuse":
                    self._answer(400, b'{"error": {"code": 400, "message": "Invalid matchGlob"}}')
                    return
                if is_list and "matchGlob" in params and proxy.mode == "honour":
                    self._answer(200, json.dumps(proxy._honour(path, params)).encode())
                    return
                if is_list and "maxResults" not in params:
                    params["maxResults"] = str(GCS_PAGE)
                    status, body = proxy._get(f"{path}?{urlencode(params)}")
                else:
                    status, body = proxy._get(self.path)
                self._answer(status, body)

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _get(self, path: str) -> tuple[int, bytes]:
        con = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            con.request("GET", path)
            response = con.getresponse()
            return response.status, response.read()
        finally:
            con.close()

    def _honour(self, path: str, params: dict[str, str]) -> dict[str, object]:
        pattern = glob_regex(params.pop("matchGlob"))
        params.pop("pageToken", None)
        items: list[dict[str, object]] = []
        while True:
            status, body = self._get(f"{path}?{urlencode(params)}")
            assert status == 200, body[:300]
            page = json.loads(body)
            items += [i for i in page.get("items", []) if pattern.fullmatch(i["name"])]
            if not page.get("nextPageToken"):
                return {"kind": "storage#objects", "items": items}
            params["pageToken"] = page["nextPageToken"]

    def __enter__(self) -> Self:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
