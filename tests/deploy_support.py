"""The production files of ``deploy/`` made runnable on a test machine: the nginx site on free ports with a
self-signed certificate in front of real server processes, the systemd units pointing at this checkout."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from pathlib import Path

from server.launcher import ROOT

DEPLOY = ROOT / "deploy"
NGINX_SITE = DEPLOY / "nginx" / "hall.conf"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def nginx_binary() -> str | None:
    return shutil.which("nginx") or (str(Path("/usr/sbin/nginx")) if Path("/usr/sbin/nginx").exists() else None)


def self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


def nginx_config(directory: Path, *, https_port: int, http_port: int, upstreams: list[str],
                 metrics_port: int) -> Path:
    """``deploy/nginx/hall.conf`` changed only where a test machine differs: the ports it listens on (loopback),
    the process ports /metrics/PORT admits (any 4-5 digits),
    the certificate, and the processes of its upstream. Wrapped in a main configuration with its files here."""
    cert, key = self_signed(directory)
    site = NGINX_SITE.read_text(encoding="utf-8")
    site = re.sub(r"^\s*listen \[::\]:\d+[^;]*;\n", "", site, flags=re.M)
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = re.sub(r"listen [\d.]+:9180;", f"listen 127.0.0.1:{metrics_port};", site)
    site = site.replace("/etc/ssl/hall/fullchain.pem", str(cert)).replace("/etc/ssl/hall/privkey.pem", str(key))
    servers = re.findall(r"^\s*server 127\.0\.0\.1:\d+ ([^;]*);\n", site, flags=re.M)
    assert servers, "the site's upstream lists its processes"
    site = re.sub(r"^(\s*)server 127\.0\.0\.1:\d+ [^;]*;\n", "", site, count=len(servers) - 1, flags=re.M)
    site = re.sub(r"^(\s*)server 127\.0\.0\.1:\d+ ([^;]*);\n",
                  lambda m: "".join(f"{m.group(1)}server {address} {m.group(2)};\n" for address in upstreams),
                  site, count=1, flags=re.M)
    site = site.replace("location ~ ^/metrics/(80[0-9][0-9])$", 'location ~ "^/metrics/([0-9]{4,5})$"')
    (directory / "hall.conf").write_text(site, encoding="utf-8")
    main = directory / "nginx.conf"
    main.write_text(f"""
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log {directory}/access.log;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {directory}/hall.conf;
}}
""", encoding="utf-8")
    return main
