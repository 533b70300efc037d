"""The files of ``deploy/`` (docs/deploy.md) are what the server reads: the production configuration loads with the
environment file's variables and agrees with the nginx site's limits; nginx and systemd accept the site and units;
the alert rules name only series that ``GET /metrics`` serves."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from server.config import load_config
from server.launcher import ROOT
from server.metrics import HallMetrics
from tests.deploy_support import DEPLOY, NGINX_SITE, free_port, nginx_binary, nginx_config
from tests.support import IN_CI

PRODUCTION = DEPLOY / "config.production.toml"
ENVIRONMENT = DEPLOY / "hall.env.example"


def production_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The production file with a hall set-up appended (the demo's branches and staff), as docs/deploy.md does."""
    demo = (ROOT / "config.toml").read_text(encoding="utf-8")
    hall = demo[demo.index("[[branches]]"):]
    path = tmp_path / "config.toml"
    path.write_text(PRODUCTION.read_text(encoding="utf-8") + "\n" + hall, encoding="utf-8")
    for line in ENVIRONMENT.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            monkeypatch.setenv(key, value)
    return path


def test_the_production_configuration_loads_with_the_environment_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(production_config(tmp_path, monkeypatch)).server
    assert config.database_url == "postgresql+psycopg://hall:CHANGE-ME@db.internal:5432/hall"  # the file's wins
    assert config.redis_url == "redis://127.0.0.1:6379/0"
    assert config.secret_key.startswith("CHANGE-ME")
    assert config.proxy_hops == 1 and config.session_cookie_secure and not config.allow_demo_passwords
    assert config.public_url.startswith("https://")
    assert [str(network) for network in config.metrics_from] == ["127.0.0.0/8", "::1/128"]  # nginx's internal block
    source = (ROOT / "server" / "config.py").read_text(encoding="utf-8")
    for key in re.findall(r"^(HALL_\w+)=", ENVIRONMENT.read_text(encoding="utf-8"), flags=re.M):
        assert f'os.environ.get("{key}")' in source, f"{key} is read by the server"


def test_the_nginx_site_keeps_the_servers_limits() -> None:
    settings = tomllib.loads(PRODUCTION.read_text(encoding="utf-8"))
    site = NGINX_SITE.read_text(encoding="utf-8")

    def directive(name: str) -> str:
        found = re.search(rf"^\s*{name} (\S+);", site, flags=re.M)
        assert found is not None, name
        return found.group(1)

    assert directive("client_header_timeout") == f"{settings['limits']['header_timeout_s']}s"
    assert directive("client_body_timeout") == f"{settings['limits']['body_timeout_s']}s"
    assert int(directive("client_max_body_size").removesuffix("m")) > settings["media"]["max_video_mb"]
    socket_block = site[site.index("location /socket.io/"):]
    socket_block = socket_block[:socket_block.index("}")]
    assert "proxy_set_header Upgrade $http_upgrade;" in socket_block
    assert "proxy_set_header Connection $connection_upgrade;" in socket_block
    read_timeout = re.search(r"proxy_read_timeout (\d+)s;", socket_block)
    assert read_timeout is not None and int(read_timeout.group(1)) > settings["limits"]["socket_timeout_s"]
    assert re.search(r"location = /metrics \{\s*return 404;", site)
    assert settings["server"]["proxy_hops"] == 1 and "X-Forwarded-For $remote_addr" in site


def test_nginx_accepts_the_site(tmp_path: Path) -> None:
    nginx = nginx_binary()
    if nginx is None:
        if IN_CI:
            pytest.fail("nginx is not installed; CI checks the deploy/ site (apt-get install nginx-light)")
        pytest.skip("nginx is not installed")
    main = nginx_config(tmp_path, https_port=free_port(), http_port=free_port(),
                        upstreams=["127.0.0.1:8001", "127.0.0.1:8002"], metrics_port=free_port())
    checked = subprocess.run([nginx, "-t", "-c", str(main)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr and "test is successful" in checked.stderr


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")  # not part of CI's image: checked where systemd is
    units = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        text = unit.read_text(encoding="utf-8").replace("/opt/hall", str(ROOT))  # the checkout instead
        name = unit.name.replace("@.service", "@8001.service")
        (tmp_path / name).write_text(text, encoding="utf-8")
        units.append(str(tmp_path / name))
    checked = subprocess.run([analyze, "verify", "--man=no", *units], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0 and not checked.stderr.strip(), checked.stderr


def test_the_alert_rules_name_only_series_the_server_serves() -> None:
    metrics = HallMetrics(in_flight=lambda: 0, socket_clients=lambda: 0, database_up=lambda: True,
                          branches=lambda: [("SZ-FUTIAN", 3, datetime.now(UTC))], clock=lambda: datetime.now(UTC))
    metrics.note_events("SZ-FUTIAN", [{"kind": "issued"}])
    metrics.note_request("POST", "/api/branches/<branch>/tickets", 201, 0.01)
    metrics.note_refresh(0.002, 0.1)
    served = set(re.findall(r"^(\w+)", metrics.exposition().decode(), flags=re.M))
    rules = yaml.safe_load((DEPLOY / "prometheus" / "hall-alerts.yml").read_text(encoding="utf-8"))
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert len(expressions) >= 6
    named = {name for expr in expressions for name in re.findall(r"\b(hall_\w+)", expr)}
    assert named and named <= served, named - served
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    assert scrape["rule_files"] == ["hall-alerts.yml"]
    hall = next(job for job in scrape["scrape_configs"] if job["job_name"] == "hall")
    paths = [target["labels"]["__metrics_path__"] for target in hall["static_configs"]]
    site = NGINX_SITE.read_text(encoding="utf-8")
    ports = re.findall(r"server 127\.0\.0\.1:(\d+)", site)
    assert paths == [f"/metrics/{port}" for port in ports], "one scrape target per process of the upstream"
    location = re.search(r"location ~ \^/metrics/\((\S+)\)\$", site)
    assert location is not None and all(re.fullmatch(location.group(1), port) for port in ports)
