"""Open a pull request through GitHub's REST API (`POST /repos/{owner}/{repo}/pulls`), with the standard library.

The token goes only into the Authorization header: it is never logged, and no error message carries a header or
the request. The API's base URL is `https://api.github.com` unless `JRA_GITHUB_API_URL` names another (tests point
it at a local server; GitHub Enterprise users at theirs).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

from job_run_aggregator.errors import ConfigError, TransientError

DEFAULT_API_URL = "https://api.github.com"
TIMEOUT_SECONDS = 30.0


def open_pull_request(repo: str, title: str, body: str, head: str, base: str, token: str,
                      api_url: str | None = None) -> str:
    """Open a pull request of `head` into `base` of `repo` ("owner/name"); return its html_url.

    Raises:
        ConfigError: a bad repo or API URL, or GitHub refused the request (its message and status included).
        TransientError: GitHub could not be reached, or answered 5xx.
    """
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name:
        raise ConfigError(f"--github-repo {repo!r}: give owner/name, e.g. openshift/origin")
    base_url = (api_url or DEFAULT_API_URL).rstrip("/")
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise ConfigError(f"GitHub API URL {base_url!r} is not http(s)")
    url = f"{base_url}/repos/{quote(owner, safe='')}/{quote(name, safe='')}/pulls"
    payload = json.dumps({"title": title, "body": body, "head": head, "base": base}).encode()
    request = urllib.request.Request(url, data=payload, method="POST", headers={
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {token}",
        "X-GitHub-Api-Version": "2022-11-28",
        "Content-Type": "application/json",
        "User-Agent": "job-run-aggregator",
    })
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # the scheme is checked above
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        detail = _message(error.read())
        text = f"GitHub refused to open the pull request on {repo} ({error.code} {error.reason}{detail})"
        raise (TransientError if error.code >= 500 else ConfigError)(_redact(text, token)) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise TransientError(_redact(f"GitHub API at {base_url} not reachable ({reason})", token)) from None
    html_url = answer.get("html_url") if isinstance(answer, dict) else None
    if not isinstance(html_url, str):
        raise ConfigError(f"GitHub answered without the pull request's html_url ({url})")
    return html_url


def _message(raw: bytes) -> str:
    try:
        answer = json.loads(raw)
    except ValueError:
        return ""
    if not isinstance(answer, dict) or not isinstance(answer.get("message"), str):
        return ""
    errors = answer.get("errors")
    extra = ""
    if isinstance(errors, list):
        extra = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    return f": {answer['message']}" + (f" ({extra})" if extra else "")


def _redact(text: str, token: str) -> str:
    return text.replace(token, "***") if token else text
