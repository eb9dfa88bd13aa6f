"""Secrets never leak: every command, run with a service-account key and token-bearing environment variables, at DEBUG.

The key is a real RSA service-account key whose token endpoint is a local server minting a recognisable access
token, so the GCS path really signs, fetches and uses a token (HTTPS goes to a dead local proxy: nothing leaves
this machine). Every stdout, stderr, file written and dashboard page is searched for the key's body, its id, the
minted token and the environment tokens. Bad key files must fail as a ConfigError naming the file, not its contents.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from faults.workspace import cli_env, dump_tables, run_cli
from paths import REPO
from servers import free_port

from job_run_aggregator.cli import app

COMMANDS = sorted(typer.main.get_command(app).commands)
NOW = "2026-11-20T12:00:00"
JOB = "periodic-ci-openshift-release-master-ci-4.14-upgrade-from-stable-4.13-e2e-aws-ovn-upgrade"
TAG = uuid.uuid4().hex
ACCESS_TOKEN = f"ya29.jra-access-token-{TAG}"
KEY_ID = f"jra-private-key-id-{TAG}"
BAD_KEY_SECRET = f"jra-bad-key-secret-{TAG}"
ENV_SECRETS = {
    "GOOGLE_OAUTH_ACCESS_TOKEN": f"jra-env-google-oauth-{TAG}",
    "CLOUDSDK_AUTH_ACCESS_TOKEN": f"jra-env-cloudsdk-{TAG}",
    "GITHUB_TOKEN": f"jra-env-github-{TAG}",
    "AWS_SECRET_ACCESS_KEY": f"jra-env-aws-{TAG}",
}


@dataclass
class Creds:
    root: Path
    key: Path
    secrets: list[str]
    bad_keys: dict[str, Path]
    token_requests: list[str]
    dead_proxy: str


class _TokenHandler(BaseHTTPRequestHandler):
    """Google's OAuth token endpoint, as far as a service-account JWT grant needs it."""

    requests: list[str]

    def do_POST(self) -> None:  # http.server's name
        self.requests.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
        body = json.dumps({"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("secrets")
    handler = type("Handler", (_TokenHandler,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    info = {
        "type": "service_account", "project_id": "jra-secrets", "private_key_id": KEY_ID, "private_key": pem,
        "client_email": "jra@jra-secrets.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": f"http://127.0.0.1:{server.server_address[1]}/token",
    }
    key = root / "key.json"
    key.write_text(json.dumps(info))
    body_lines = [line for line in pem.splitlines() if not line.startswith("-----")]
    bad = {
        "not-json": f"{BAD_KEY_SECRET} is not JSON".encode(),
        "json-array": json.dumps([BAD_KEY_SECRET]).encode(),
        "pem-garbage": json.dumps({**info, "private_key": f"-----BEGIN PRIVATE KEY-----\n{BAD_KEY_SECRET}\n"
                                                          "-----END PRIVATE KEY-----\n"}).encode(),
        "key-not-a-string": json.dumps({**info, "private_key": [BAD_KEY_SECRET]}).encode(),
        "no-client-email": json.dumps({k: v for k, v in info.items() if k != "client_email"}).encode(),
        "not-utf8": b"\xff\xfe" + BAD_KEY_SECRET.encode(),
    }
    bad_keys = {}
    for name, content in bad.items():
        bad_keys[name] = root / f"bad-{name}.json"
        bad_keys[name].write_bytes(content)
    bad_keys["a-directory"] = root / "bad-dir.json"
    bad_keys["a-directory"].mkdir()
    bad_keys["missing"] = root / "missing.json"
    yield Creds(root, key, [*body_lines, KEY_ID, ACCESS_TOKEN, BAD_KEY_SECRET, *ENV_SECRETS.values()],
                bad_keys, handler.requests, f"http://127.0.0.1:{free_port()}")
    server.shutdown()
    server.server_close()


def _env(creds: Creds, **extra: str) -> dict[str, str]:
    # HTTPS to Google goes to a dead local proxy; the token endpoint and everything local stay direct.
    proxy = {k: creds.dead_proxy for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")}
    return cli_env(JRA_LOG_LEVEL="DEBUG", JRA_RETRY_ATTEMPTS="2", JRA_RETRY_BASE_DELAY="0.01",
                   NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", **proxy, **ENV_SECRETS, **extra)


def _cli(creds: Creds, *args: str, key: Path | None = None, cwd: Path | None = None, **env: str):
    flag = () if key is None else ("--google-service-account-credential-file", str(key))
    return run_cli(*flag, *args, env=_env(creds, **env), cwd=cwd or creds.root, timeout=180)


# Runs many invocations in one process (CliRunner per invocation, its own environment each): cheap commands
# need no interpreter start each. Prints {name: [exit code, stdout, stderr]} as JSON.
BATCH_DRIVER = """
import json, sys, traceback
from typer.testing import CliRunner
from job_run_aggregator.cli import app
out = {}
for name, args, env in json.load(sys.stdin):
    r = CliRunner().invoke(app, args, env=env)
    err = r.stderr
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        err += "".join(traceback.format_exception(r.exception))
    out[name] = [r.exit_code, r.stdout, err]
json.dump(out, sys.stdout)
"""


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def _batch(creds: Creds, cases: dict[str, tuple[tuple[str, ...], Path | None, dict[str, str]]],
           cwd: Path) -> dict[str, Outcome]:
    items = []
    for name, (args, key, env) in cases.items():
        flag = () if key is None else ("--google-service-account-credential-file", str(key))
        items.append((name, [*flag, *args], env))
    done = subprocess.run([sys.executable, "-c", BATCH_DRIVER], input=json.dumps(items), env=_env(creds), cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not _leaks(done.stderr, creds.secrets), done.stderr[-3000:]
    return {name: Outcome(*result) for name, result in json.loads(done.stdout).items()}


@pytest.fixture(scope="module")
def workspace(creds: Creds) -> dict[str, Outcome]:
    """Run every command once (help, real invocations, error paths); setup first, then the rest concurrently."""
    w = creds.root / "work"
    w.mkdir()
    url = f"duckdb:///{w / 'w.duckdb'}"
    key = creds.key
    out: dict[str, Outcome] = {}

    def cli(name: str, *args: str, key: Path | None = key, **env: str) -> tuple[str, Outcome]:
        done = _cli(creds, *args, key=key, cwd=w, **env)
        return name, Outcome(done.returncode, done.stdout, done.stderr)

    setup = [
        ("generate-sample-data", ("generate-sample-data", "--out", str(w / "bucket"), "--jobs", "2", "--days", "2",
                                  "--seed", "3", "--now", NOW, "--job-names-file", str(w / "jobs.txt"))),
        ("create-tables", ("--warehouse", url, "create-tables")),
        ("prime-job-table", ("--warehouse", url, "prime-job-table", "--job-names-file", str(w / "jobs.txt"))),
        ("copy-primed", ()),
        ("upload-all", ("--warehouse", url, "--bucket", str(w / "bucket"), "upload-all")),
        ("export-historical-data", ("--warehouse", url, "export-historical-data", "--release", "4.14",
                                    "--min-job-runs", "1", "--now", NOW, "--out", str(w / "q.json"))),
    ]
    for name, args in setup:
        if name == "copy-primed":
            for copy in ("dry", "gcs", "adc", "schedule"):
                shutil.copyfile(w / "w.duckdb", w / f"{copy}.duckdb")
            continue
        out[name] = cli(name, *args)[1]
        assert out[name].returncode == 0, out[name].stderr
    run = str(min((w / "bucket" / "logs" / JOB).glob("1*")))

    def own(name: str) -> str:
        target = w / f"{name}.duckdb"
        shutil.copyfile(w / "w.duckdb", target)
        return f"duckdb:///{target}"

    # Separate processes: what talks to the (fake) network, writes a lot, or must show a real crash.
    processes = [
        # The key is really used: a JWT signed with it buys the access token, which then rides to a dead proxy.
        ("upload-all-gcs-with-key", ("--warehouse", f"duckdb:///{w / 'gcs.duckdb'}", "--bucket", "gs://jra-secrets",
                                     "upload-all"), {}),
        ("upload-all-gcs-with-adc", ("--warehouse", f"duckdb:///{w / 'adc.duckdb'}", "--bucket", "gs://jra-secrets",
                                     "upload-all"), {"key": None, "GOOGLE_APPLICATION_CREDENTIALS": str(key)}),
        ("dry-run-upload-all-gcs", ("--dry-run", "--warehouse", own("dry-gcs"), "--bucket", "gs://jra-secrets",
                                    "upload-all"), {}),
        ("adc-bad-key", ("--warehouse", own("adc-bad"), "--bucket", "gs://jra-secrets", "upload-all"),
         {"key": None, "GOOGLE_APPLICATION_CREDENTIALS": str(creds.bad_keys["not-json"])}),
        ("analyze-job-runs", ("--warehouse", own("ajr"), "--bucket", str(w / "bucket"), "analyze-job-runs", "--job",
                              JOB, "--run-ids", Path(run).name, "--working-dir", str(w / "ajr"), "--timeout", "0s",
                              "--now", NOW), {}),
        ("schedule-once", ("--warehouse", f"duckdb:///{w / 'schedule.duckdb'}", "--bucket", str(w / "bucket"),
                           "schedule", "--once", "--job-names-file", str(w / "jobs.txt"), "--export-dir",
                           str(w / "exports")), {}),
        ("demo", ("demo", "--dir", str(w / "demo"), "--jobs", "2", "--days", "2"), {}),
        ("bad-key-gcs-json-array-process", ("--bucket", "gs://jra-secrets", "upload-all"),
         {"key": creds.bad_keys["json-array"]}),
    ]
    batch: dict[str, tuple[tuple[str, ...], Path | None, dict[str, str]]] = {
        f"help-{c}": ((c, "--help"), key, {}) for c in COMMANDS}
    batch["help"] = (("--help",), key, {})
    batch |= {
        "status": (("--warehouse", own("status"), "status"), key, {}),
        "status-json": (("--warehouse", own("status-json"), "status", "--json"), key, {}),
        "jobs-json": (("--warehouse", own("jobs-json"), "jobs", "--json"), key, {}),
        "dry-run-create-tables": (("--dry-run", "--warehouse", f"duckdb:///{w / 'new.duckdb'}", "create-tables"),
                                  key, {}),
        "dry-run-prime-job-table": (("--dry-run", "--warehouse", own("dry-prime"), "prime-job-table",
                                     "--job-names-file", str(w / "jobs.txt")), key, {}),
        "dry-run-upload-all": (("--dry-run", "--warehouse", f"duckdb:///{w / 'dry.duckdb'}", "--bucket",
                                str(w / "bucket"), "upload-all"), key, {}),
        "export-stdout": (("--warehouse", own("export"), "export-historical-data", "--release", "4.14",
                           "--min-job-runs", "1", "--now", NOW), key, {}),
        "analyze-historical-data": (("--warehouse", own("analyze"), "analyze-historical-data", "--current",
                                     str(w / "q.json"), "--new", str(w / "q.json"), "--output-file",
                                     str(w / "o.json"), "--pr-message", str(w / "pr.md")), key, {}),
        "match": (("match", "--data", str(w / "q.json"), "--job-name", JOB, "--backend",
                   "kube-api-new-connections", "--json"), key, {}),
        "check-run": (("check-run", "--data", str(w / "q.json"), "--run", run, "--json"), key, {}),
        "generate-job-names": (("generate-job-names", "--release-repo",
                                str(REPO / "tests" / "fixtures" / "release-repo"), "--releases", "4.14"), key, {}),
    }
    for name, path in creds.bad_keys.items():
        batch[f"bad-key-gcs-{name}"] = (("--bucket", "gs://jra-secrets", "upload-all"), path, {})
        batch[f"bad-key-bigquery-{name}"] = (("--warehouse", "bigquery://jra-secrets/ci_data", "status"), path, {})

    def one(item: tuple[str, tuple[str, ...], dict]) -> tuple[str, Outcome]:
        name, args, opts = item
        opts = dict(opts)
        return cli(name, *args, key=opts.pop("key", key), **opts)

    with ThreadPoolExecutor(max_workers=4) as pool:
        batched = pool.submit(_batch, creds, batch, w)
        out |= dict(pool.map(one, processes))
        out |= batched.result()
    return out


# Expected exit codes: a usage error (2) would mean the real path was never reached.
EXIT = {"analyze-job-runs": 1, "generate-job-names": 3, "upload-all-gcs-with-key": 75, "upload-all-gcs-with-adc": 75,
        "dry-run-upload-all-gcs": 75, "adc-bad-key": 2, "bad-key-gcs-json-array-process": 2}
CASES = [f"help-{c}" for c in COMMANDS] + [
    "help", "generate-sample-data", "create-tables", "prime-job-table", "upload-all", "export-historical-data",
    "status", "status-json", "jobs-json", "dry-run-create-tables", "dry-run-prime-job-table", "dry-run-upload-all",
    "export-stdout", "analyze-historical-data", "match", "check-run", "analyze-job-runs", "schedule-once", "demo",
    "generate-job-names", "upload-all-gcs-with-key", "upload-all-gcs-with-adc", "dry-run-upload-all-gcs",
    "adc-bad-key", "bad-key-gcs-json-array-process",
]
BAD_KEYS = [
    pytest.param("not-json", "JSONDecodeError", id="not-json"),
    pytest.param("json-array", "AttributeError", id="json-array"),
    pytest.param("pem-garbage", r"\w+", id="pem-garbage"),
    pytest.param("key-not-a-string", r"\w+", id="key-not-a-string"),
    pytest.param("no-client-email", r"\w+", id="no-client-email"),
    pytest.param("not-utf8", "UnicodeDecodeError", id="not-utf8"),
    pytest.param("a-directory", "IsADirectoryError", id="a-directory"),
    pytest.param("missing", "FileNotFoundError", id="missing"),
]


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


@pytest.mark.parametrize("case", CASES)
def test_no_secret_in_any_output(workspace, creds, case):
    done = workspace[case]
    output = done.stdout + done.stderr
    assert done.returncode == EXIT.get(case, 0), output[-3000:]
    assert not _leaks(output, creds.secrets), f"{case} printed a secret:\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]


@pytest.mark.parametrize(("name", "cause"), BAD_KEYS)
@pytest.mark.parametrize("where", ["gcs", "bigquery"])
def test_bad_key_file_is_a_config_error_naming_the_file_not_its_contents(workspace, creds, where, name, cause):
    done = workspace[f"bad-key-{where}-{name}"]
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    path = re.escape(str(creds.bad_keys[name]))
    expected = rf"^error: {path}: not a usable service-account key \({cause}\)$"
    assert re.search(expected, done.stderr, re.MULTILINE), output
    assert not _leaks(output, creds.secrets), output
    assert "Traceback" not in output, output


def test_the_key_was_really_used_and_the_failure_names_the_bucket_not_the_token(workspace, creds):
    # The search for the token above means something only if a token was minted and used.
    assert creds.token_requests and all("assertion=" in r for r in creds.token_requests)
    for case in ("upload-all-gcs-with-key", "upload-all-gcs-with-adc"):
        errors = [line for line in workspace[case].stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and re.fullmatch(
            r"error: gs://jra-secrets/logs/\S+/: network error \(\w+\) \(gave up after 2 attempts\); no run was "
            r"committed before it, nothing partial; .*", errors[0]
        ), workspace[case].stderr
    adc = [line for line in workspace["adc-bad-key"].stderr.splitlines() if line.startswith("error:")]
    assert adc == [(
        "error: no Google credentials for GCS: pass --google-service-account-credential-file, set up Application "
        "Default Credentials, or use --anonymous for a public bucket (DefaultCredentialsError)"
    )]


def test_no_secret_in_files_written_or_tables_loaded(workspace, creds):
    work = creds.root / "work"
    written = [p for p in work.rglob("*") if p.is_file() and p.suffix != ".duckdb" and p.suffix != ".wal"]
    assert any(p.name == "pr.md" for p in written) and any(p.suffix == ".html" for p in written)
    for path in written:
        data = path.read_bytes()
        assert not [s for s in creds.secrets if s.encode() in data], path
    for db in ("w.duckdb", "schedule.duckdb", "dry.duckdb"):
        text = repr(dump_tables(f"duckdb:///{work / db}"))
        assert not _leaks(text, creds.secrets), db


def test_no_secret_on_the_dashboard(workspace, creds):
    work = creds.root / "work"
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "job_run_aggregator", "--google-service-account-credential-file", str(creds.key),
         "--warehouse", f"duckdb:///{work / 'w.duckdb'}", "--bucket", str(work / "bucket"), "serve", "--port",
         str(port), "--historical-data", str(work / "q.json"), "--min-job-runs", "1"],
        env=_env(creds), cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    pages = {}
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/overview.json", timeout=5)
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
        for path in ("/", "/overview.json", "/trend", "/trend.json", "/cell.json", "/match.json", "/compare.json",
                     "/bucket/logs/", f"/bucket/logs/{JOB}/", "/no-such-page"):
            try:
                with urllib.request.urlopen(base + path, timeout=30) as resp:
                    pages[path] = (resp.status, resp.read().decode("utf-8", "replace"))
            except urllib.error.HTTPError as exc:
                pages[path] = (exc.code, exc.read().decode("utf-8", "replace"))
    finally:
        proc.terminate()
        log, _ = proc.communicate(timeout=30)
    assert pages.get("/", (0,))[0] == 200 and pages["/no-such-page"][0] == 404, (pages.keys(), log[-3000:])
    for path, (_, body) in pages.items():
        assert not _leaks(body, creds.secrets), path
    assert not _leaks(log, creds.secrets), log[-3000:]
    assert "Traceback" not in log, log[-3000:]
