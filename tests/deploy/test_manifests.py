"""deploy/kubernetes and the Containerfile: what an operator applies must hold together.

Every CronJob's arguments are parsed by the real CLI (click's parser through `make_context`, then the command run
with `--help` against the ConfigMap's own TOML), the config's keys are Settings fields, and credentials are only
referenced, never inlined.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from servers import REPO
from typer.testing import CliRunner

from job_run_aggregator.cli import app
from job_run_aggregator.config import Settings, load_settings
from job_run_aggregator.pipeline.schedule import JOB_TABLE_UPDATER

DEPLOY = REPO / "deploy" / "kubernetes"
UPLOADERS = {
    # CronJob name (as in the real system) -> (subcommand, minute past every fourth hour)
    "job-table-updater": ("schedule", 0),
    "job-run-uploader": ("upload-job-runs", 10),
    "disruption-uploader": ("upload-disruptions", 20),
    "alert-uploader": ("upload-alerts", 30),
}
CONFIG_MOUNT = "/etc/job-run-aggregator"
SECRET_MOUNT = "/var/run/secrets/gcp"
OUR_IMAGE = "job-run-aggregator"  # kustomize's `images:` maps it to the registry


def documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        docs.extend(d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d)
    return docs


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in documents() if d["kind"] == kind]


CRONJOBS = {c["metadata"]["name"]: c for c in of_kind("CronJob")}


def pod(cronjob: dict[str, Any]) -> dict[str, Any]:
    return cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def our_container(cronjob: dict[str, Any]) -> dict[str, Any]:
    (container,) = [c for c in pod(cronjob)["containers"] if c["image"] == OUR_IMAGE]
    return container


def configmap_toml() -> str:
    (cm,) = of_kind("ConfigMap")
    return cm["data"]["config.toml"]


def test_every_file_in_the_folder_is_a_kustomization_resource():
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    on_disk = {p.name for p in DEPLOY.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk
    assert {i["name"] for i in kustomization["images"]} == {OUR_IMAGE}


def test_one_cronjob_per_uploader_as_in_the_real_system():
    assert set(CRONJOBS) == set(UPLOADERS)


@pytest.mark.parametrize("name", sorted(UPLOADERS))
def test_cronjob_runs_every_four_hours_after_the_job_table_updater(name):
    spec = CRONJOBS[name]["spec"]
    minute = UPLOADERS[name][1]
    assert spec["schedule"] == f"{minute} */4 * * *"
    assert spec["timeZone"] == "Etc/UTC"
    if name != JOB_TABLE_UPDATER:
        assert minute > UPLOADERS[JOB_TABLE_UPDATER][1]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert 0 < spec["startingDeadlineSeconds"] <= 600
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] >= 1
    # A stuck run is killed before the same CronJob's next period (4 h).
    assert 0 < job["activeDeadlineSeconds"] < 4 * 3600
    assert pod(CRONJOBS[name])["restartPolicy"] == "Never"  # required by podFailurePolicy


@pytest.mark.parametrize("name", sorted(UPLOADERS))
def test_pods_are_locked_down(name):
    spec = pod(CRONJOBS[name])
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0
    volumes = {v["name"]: v for v in spec["volumes"]}
    for container in spec.get("initContainers", []) + spec["containers"]:
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        resources = container["resources"]
        assert set(resources["requests"]) >= {"cpu", "memory"} and set(resources["limits"]) >= {"cpu", "memory"}
        for mount in container["volumeMounts"]:
            assert mount["name"] in volumes, f"{name}/{container['name']}: mount of an undefined volume"
    tmp = [m for m in our_container(CRONJOBS[name])["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert len(tmp) == 1 and "emptyDir" in volumes[tmp[0]["name"]]


@pytest.mark.parametrize("name", sorted(UPLOADERS))
def test_credentials_come_from_a_referenced_secret_mounted_as_a_file(name):
    spec = pod(CRONJOBS[name])
    volumes = {v["name"]: v for v in spec["volumes"]}
    container = our_container(CRONJOBS[name])
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == SECRET_MOUNT]
    assert mount["readOnly"] is True
    secret = volumes[mount["name"]]["secret"]
    assert secret["secretName"] == "job-run-aggregator-gcp"
    assert f"--google-service-account-credential-file={SECRET_MOUNT}/credentials.json" in container["args"]
    # No key material in any environment variable either.
    assert not any("valueFrom" in e or "CREDENTIAL" in e["name"].upper() for e in container.get("env", []))


def test_no_secret_is_inlined_anywhere():
    assert of_kind("Secret") == []
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert "secretGenerator" not in kustomization
    for path in DEPLOY.glob("*.yaml"):
        text = path.read_text()
        assert "private_key" not in text and "BEGIN PRIVATE KEY" not in text, path.name


def test_the_configmap_is_a_valid_config_of_settings_fields(tmp_path):
    text = configmap_toml()
    keys = set(tomllib.loads(text))
    assert keys <= set(Settings.model_fields)
    assert "google_service_account_credential_file" not in keys  # credentials are passed from the Secret mount
    config = tmp_path / "config.toml"
    config.write_text(text)
    settings = load_settings(config)
    assert settings.warehouse.startswith("bigquery://") and settings.bucket.startswith("gs://")
    assert settings.maximum_bytes_billed and settings.maximum_bytes_billed > 0


def split_arguments(args: list[str]) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """Parse a container's args exactly as the CLI would: the global options, the subcommand, its options.

    Raises click's UsageError (NoSuchOption, BadParameter…) when an argument is not valid.
    """
    group = typer.main.get_command(app)
    commands = set(group.commands)
    index = next((i for i, a in enumerate(args) if a in commands), None)
    assert index is not None, f"no subcommand in {args}"
    # With the subcommand name included (a group without arguments shows its help); click keeps the name aside.
    parent = group.make_context("job-run-aggregator", args[: index + 1])
    assert parent.args == [], f"global arguments left over: {parent.args}"
    command = group.get_command(parent, args[index])
    sub = command.make_context(args[index], args[index + 1 :], parent=parent)
    assert sub.args == [], f"{args[index]}: arguments left over: {sub.args}"
    return parent.params, args[index], sub.params


@pytest.mark.parametrize("name", sorted(UPLOADERS))
def test_every_cronjob_command_is_a_real_subcommand_with_valid_options(name, tmp_path):
    container = our_container(CRONJOBS[name])
    assert "command" not in container  # the image's entrypoint is job-run-aggregator
    args = container["args"]
    global_params, subcommand, params = split_arguments(args)
    assert subcommand == UPLOADERS[name][0]
    assert global_params["config"] == f"{CONFIG_MOUNT}/config.toml"
    (config_mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == CONFIG_MOUNT]
    cm_volume = {v["name"]: v for v in pod(CRONJOBS[name])["volumes"]}[config_mount["name"]]
    assert cm_volume["configMap"]["name"] == of_kind("ConfigMap")[0]["metadata"]["name"]
    if name == JOB_TABLE_UPDATER:
        assert params["once"] is True and params["only"] == [JOB_TABLE_UPDATER]
        # The checkout the init container clones into, on the volume both containers mount.
        (clone,) = pod(CRONJOBS[name])["initContainers"]
        assert str(params["release_repo"]) in clone["args"][0]
        shared = {m["name"] for m in clone["volumeMounts"]} & {m["name"] for m in container["volumeMounts"]}
        assert shared == {"scratch"}
    # And the whole invocation, global callback included, runs with the ConfigMap's TOML as its config.
    config = tmp_path / "config.toml"
    config.write_text(configmap_toml())
    local = [a.replace(f"{CONFIG_MOUNT}/config.toml", str(config)) for a in args]
    result = CliRunner().invoke(app, [*local, "--help"])
    assert result.exit_code == 0, result.output
    assert f" {subcommand} [OPTIONS]" in result.output.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["upload-alerts", "--bogus"], "No such option: --bogus", id="unknown-option"),
        pytest.param(["--workers", "3", "upload-alerts"], "No such option: --workers", id="global-misplaced"),
        pytest.param(["schedule", "--every"], "Option '--every' requires an argument", id="missing-value"),
    ],
)
def test_the_argument_check_catches_bad_arguments(args, message):
    import typer._click.exceptions as click_errors

    with pytest.raises(click_errors.UsageError, match=re.escape(message)):
        split_arguments(args)


def test_the_containerfile_builds_the_package_with_its_cloud_extras_as_a_non_root_user():
    lines = [ln.strip() for ln in (REPO / "Containerfile").read_text().splitlines()]
    instructions = [ln for ln in lines if ln and not ln.startswith("#")]
    assert instructions[0].startswith("FROM ") and instructions[0].endswith("python:3.11-slim")
    assert any(ln.startswith("RUN pip install '.[gcs,bigquery]'") for ln in instructions)
    (user,) = [ln for ln in instructions if ln.startswith("USER ")]
    uid = user.split()[1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0  # numeric, so runAsNonRoot can verify it
    assert all(int(uid) == pod(c)["securityContext"]["runAsUser"] for c in CRONJOBS.values())
    assert 'ENTRYPOINT ["job-run-aggregator"]' in instructions
    # It copies only what the build reads; those must exist.
    for line in instructions:
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), source


def test_the_readme_explains_deploying():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Deploying"):]
    for needle in ("schedule", "deploy/kubernetes", "Containerfile", "--google-service-account-credential-file",
                   "Workload Identity", "--maximum-bytes-billed", *CRONJOBS):
        assert needle in section, needle
    assert Path(DEPLOY).is_dir()


# ---- the optional weekly origin update (deploy/kubernetes/update-origin) -------------------------------------

OVERLAY = DEPLOY / "update-origin"


def overlay_documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())
    assert kustomization["resources"][0] == "../"  # on top of the base deployment
    docs = []
    for name in kustomization["resources"][1:]:
        docs.extend(d for d in yaml.safe_load_all((OVERLAY / name).read_text()) if d)
    assert {p.name for p in OVERLAY.glob("*.yaml")} - {"kustomization.yaml"} == set(kustomization["resources"][1:])
    return docs


def test_update_origin_cronjob_runs_weekly_and_is_locked_down():
    (cronjob,) = [d for d in overlay_documents() if d["kind"] == "CronJob"]
    spec = cronjob["spec"]
    assert spec["schedule"] == "0 6 * * 1" and spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert 0 < spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] < 7 * 24 * 3600
    spec_pod = pod(cronjob)
    assert spec_pod["securityContext"]["runAsNonRoot"] is True
    volumes = {v["name"]: v for v in spec_pod["volumes"]}
    for container in spec_pod["initContainers"] + spec_pod["containers"]:
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert set(container["resources"]["limits"]) >= {"cpu", "memory"}
        for mount in container["volumeMounts"]:
            assert mount["name"] in volumes


def test_update_origin_cronjob_arguments_parse_and_the_token_stays_in_its_secret(tmp_path):
    docs = overlay_documents()
    (cronjob,) = [d for d in docs if d["kind"] == "CronJob"]
    container = our_container(cronjob)
    _, subcommand, params = split_arguments(container["args"])
    assert subcommand == "update-origin"
    assert params["open_pr"] is True and params["push"] == "fork"
    (clone,) = pod(cronjob)["initContainers"]
    assert str(params["origin_dir"]) in clone["args"][0] and "git remote add fork" in clone["args"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["GITHUB_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "job-run-aggregator-github"
    assert all("value" not in e or "ghp_" not in str(e["value"]) for e in env.values())
    # git asks the mounted script for the push credentials; the script only echoes the variable.
    (askpass,) = [d for d in docs if d["kind"] == "ConfigMap"]
    mount = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    script = env["GIT_ASKPASS"]["value"]
    assert script == f"{mount['git-askpass']}/askpass.sh"
    assert '"$GITHUB_TOKEN"' in askpass["data"]["askpass.sh"]
    assert "git" in (REPO / "Containerfile").read_text().split("apt-get install", 1)[1].split("\n", 1)[0]
    config = tmp_path / "config.toml"
    config.write_text(configmap_toml())
    local = [a.replace(f"{CONFIG_MOUNT}/config.toml", str(config)) for a in container["args"]]
    result = CliRunner().invoke(app, [*local, "--help"])
    assert result.exit_code == 0, result.output
