"""Issue 15, finding 8: the dashboard reads no server file it was not given, and bad input is a plain 400.

Each case was a reproduction of the audit: `/compare?current=/etc/shadow` told whether the file existed and
echoed its values, `current=/dev/zero` ate memory, deep `[[[` uploads were a RecursionError (500), a 60 MB upload
froze the server, `now=0001-01-01` was a 500, `leeway=nan` a 503 and `/bucket/logs/%00` a 500.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest
import uvicorn
from servers import free_port
from starlette.applications import Starlette
from starlette.testclient import TestClient
from web.site import Demo

from job_run_aggregator.web.app import MAX_UPLOAD_BYTES


@pytest.mark.parametrize("path", ["/etc/shadow", "/etc/passwd", "/nonexistent", "/dev/zero", "../../etc/hosts",
                                  "backend_query_results.json/../../etc/passwd"])
def test_compare_reads_only_the_files_given_to_serve(client: TestClient, demo: Demo, path: str) -> None:
    for twin in ("/compare.json", "/compare"):
        response = client.get(twin, params={"current": path})
        assert response.status_code == 400
        # The same words whether the path exists, is readable, is a device or is missing: no oracle.
        assert f"current={path!r} is not one of the files given to serve --historical-data " \
               f"({demo.backend_file.name})".replace("'", "&#39;" if twin == "/compare" else "'") in response.text
        assert "root:" not in response.text and "No such file" not in response.text


def test_compare_by_name_never_leaves_the_list(client: TestClient, demo: Demo) -> None:
    data = client.get("/compare.json", params={"current": demo.backend_file.name, "new": demo.backend_file.name,
                                               "now": demo.now_param}).json()
    assert data["state"] == "ok" and data["counts"]["unchanged"] > 0
    assert data["sources"] == {"current": demo.backend_file.name, "new": demo.backend_file.name}
    assert str(demo.backend_file.parent) not in json.dumps(data)


@pytest.mark.parametrize(("params", "message"), [
    pytest.param({"now": "0001-01-01"}, "now='0001-01-01' is out of range (2000-01-01 to 2100-01-01)", id="year-1"),
    pytest.param({"now": "0001-01-01T00:00:00+05:00"}, "now='0001-01-01T00:00:00+05:00' is out of range "
                 "(2000-01-01 to 2100-01-01)", id="year-1-offset"),
    pytest.param({"now": "9999-12-31"}, "now='9999-12-31' is out of range (2000-01-01 to 2100-01-01)", id="year-9999"),
    pytest.param({"days": "9" * 30}, f"days='{'9' * 30}' is not a whole number", id="huge-days"),
    pytest.param({"min_runs": "-1"}, "min_runs=-1 is out of range (0 to 1000000000)", id="negative-min-runs"),
])
def test_bad_window_parameters_are_400_everywhere(client: TestClient, params: dict, message: str) -> None:
    for path in ("/overview.json", "/trend.json", "/cell.json", "/compare.json", "/match.json"):
        response = client.get(path, params=params)
        assert (response.status_code, response.json()["message"]) == (400, message), path


@pytest.mark.parametrize("leeway", ["-50", "nan", "inf", "-inf", "1e400", "x" * 100])
def test_bad_leeway_is_400(client: TestClient, demo: Demo, leeway: str) -> None:
    response = client.get("/compare.json", params={"current": demo.backend_file.name, "leeway": leeway})
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith("leeway=") and ("is out of range (0 to 10000)" in message
                                              or "is not a number" in message)
    assert len(message) < 120


@pytest.mark.parametrize(("body", "message"), [
    pytest.param(b"[" * 100_000, "deep.json: nested too deeply (at byte 1025)", id="deep-unclosed"),
    pytest.param(b"[" * 5000 + b"]" * 5000, "deep.json: nested too deeply (at byte 1025)", id="deep-closed"),
    pytest.param(b'[{"BackendName": [[[[1]]]]}]', "deep.json: row 0: 'BackendName' holds an array; rows hold only "
                 "strings and numbers", id="nested-value"),
    pytest.param(b'{"a": 1}', "deep.json: expected a JSON array of rows, found an object", id="object"),
])
def test_deep_or_nested_uploads_are_400(client: TestClient, body: bytes, message: str) -> None:
    response = client.post("/compare.json", files={"current": ("deep.json", body)})
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)


def test_an_upload_over_the_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    body = b"[" + b'{"BackendName": "x"},' * (MAX_UPLOAD_BYTES // 20) + b"]"
    assert len(body) > MAX_UPLOAD_BYTES
    response = client.post("/compare.json", files={"current": ("big.json", body)})
    assert response.status_code == 400
    assert response.json()["message"] == "the upload is larger than 32 MB; query_results.json files are a few MB"
    page = client.post("/compare", files={"current": ("big.json", body)})
    assert page.status_code == 400 and "larger than 32 MB" in page.text


def test_uploaded_file_names_show_as_names_only(client: TestClient, demo: Demo) -> None:
    data = demo.backend_file.read_bytes()
    response = client.post("/compare.json", files={"current": ("/home/someone/\x1b[31mq.json", data),
                                                   "new": ("new.json", data)})
    assert response.status_code == 200
    assert response.json()["sources"] == {"current": "?[31mq.json", "new": "new.json"}


# ---- a heavy request does not hold up the others ---------------------------------------------------------------


@pytest.fixture()
def live(make_app: Callable[..., Starlette]) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def multipart(fields: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "jra-test-boundary-7f3a"
    parts = []
    for name, (filename, data) in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: application/json\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_a_heavy_compare_does_not_block_other_pages(live: str, demo: Demo) -> None:
    rows = json.loads(demo.backend_file.read_bytes())
    # ~20 MB of valid rows with distinct names: parsed, compared and rendered as HTML in a worker thread.
    big = [dict(r, BackendName=f"{r['BackendName']}-{i}") for i in range(250) for r in rows]
    current = json.dumps(big).encode()
    for r in big:
        r["P99"] = str(float(r["P99"]) * 2 + 1)
    body, content_type = multipart({"current": ("current.json", current), "new": ("new.json", json.dumps(big).encode())})
    assert len(body) < MAX_UPLOAD_BYTES
    finished: dict[str, float] = {}

    def heavy() -> None:
        request = urllib.request.Request(f"{live}/compare", data=body, headers={"content-type": content_type})
        with urllib.request.urlopen(request, timeout=300) as response:
            assert response.status == 200
            response.read()
        finished["heavy"] = time.monotonic()

    thread = threading.Thread(target=heavy)
    thread.start()
    time.sleep(0.5)  # the upload is on its way
    answered = []
    for path in ("/static/dashboard.css", f"/overview.json?now={demo.now_param.replace('+', '%2B')}",
                 "/favicon.ico"):
        try:
            with urllib.request.urlopen(live + path, timeout=120) as response:
                answered.append((path, response.status, time.monotonic()))
        except urllib.error.HTTPError as error:
            answered.append((path, error.code, time.monotonic()))
    thread.join(timeout=300)
    assert "heavy" in finished
    assert [status for _, status, _ in answered] == [200, 200, 200]
    # Ordering, not timing: every light request was answered while the heavy one was still being worked on.
    assert all(at < finished["heavy"] for _, _, at in answered), (answered, finished)
