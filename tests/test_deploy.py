"""The deployable stack: compose file valid, dashboards' queries all resolve against a scrape."""

from __future__ import annotations

import json
import re

import aiohttp
import pytest
import yaml
from compose_spec import PyCompose

from stylestream.extractors import CATALOG
from stylestream.services.stack import Stack

from .conftest import ROOT
from .support.wire import collect

DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
CPU_EXTRACTORS = [n for n, s in CATALOG.items()
                  if s.target.startswith("stylestream.") and s.kind == "function"]
METRIC = re.compile(r"\bstylestream_[a-z_]+")


@pytest.fixture(scope="module")
def compose() -> dict:
    # PyYAML resolves merge keys (<<) as docker compose does; compose-spec validates the result
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    PyCompose.from_json(json.dumps(doc)).to_spec()  # raises on any schema violation
    return doc


def test_compose_has_every_service_healthy_and_ordered(compose: dict) -> None:
    services = compose["services"]
    assert {"nats", "gateway", "prometheus", "grafana"} <= set(services)
    for name, service in services.items():
        assert "healthcheck" in service, name
    assert services["gateway"]["depends_on"]["nats"]["condition"] == "service_healthy"
    assert "max_payload" in (ROOT / "deploy" / "nats.conf").read_text()


def test_one_scalable_worker_service_per_cpu_extractor(compose: dict) -> None:
    prometheus = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    scraped = {name for job in prometheus["scrape_configs"]
               for sd in job.get("dns_sd_configs", []) for name in sd["names"]}
    for extractor in CPU_EXTRACTORS:
        service = compose["services"][f"worker-{extractor}"]
        assert service["command"][:3] == ["stylestream", "worker", extractor]
        assert "--metrics-port" in service["command"]
        assert "ports" not in service and "container_name" not in service  # --scale works
        assert f"worker-{extractor}" in scraped


def test_model_worker_has_a_gpu_and_a_cpu_profile(compose: dict) -> None:
    gpu, cpu = compose["services"]["models"], compose["services"]["models-cpu"]
    assert gpu["profiles"] == ["gpu"] and cpu["profiles"] == ["cpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and devices[0]["capabilities"] == ["gpu"]
    assert "deploy" not in cpu and cpu["environment"]["STYLESTREAM_MODEL_DEVICE"] == "cpu"
    for service in (gpu, cpu):
        assert service["command"][:3] == ["stylestream", "worker", "models"]
        assert service["build"]["target"] == "models"
    assert re.search(r"^FROM app AS models$", (ROOT / "Dockerfile").read_text(), re.M)


def test_dockerfile_is_multi_stage_and_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    assert re.search(r"^USER stylestream$", text, re.M)
    assert "slim" in text


def test_grafana_provisioning_matches_dashboards() -> None:
    datasource = yaml.safe_load(
        (ROOT / "grafana/provisioning/datasources/prometheus.yml").read_text())["datasources"][0]
    uids = set()
    for path in DASHBOARDS:
        dash = json.loads(path.read_text())
        assert dash["uid"] not in uids
        uids.add(dash["uid"])
        for panel in dash["panels"]:
            assert panel["datasource"]["uid"] == datasource["uid"], (path.name, panel["title"])
    assert {"stylestream-ttfr", "stylestream-extractors", "stylestream-bus"} <= uids


async def test_every_dashboard_query_names_an_exported_metric(stack: Stack, screenshot_png: bytes) -> None:
    for mode in ("atomic", "tier"):
        await collect(stack.url, screenshot_png, extractors=["fast", "boom", "ai"], mode=mode)
    async with aiohttp.ClientSession() as session:
        scrapes = []
        for url in [f"{stack.url}/metrics", *stack.worker_metrics]:
            async with session.get(url) as resp:
                scrapes.append(await resp.text())
    exported = set(re.findall(r"^# TYPE (stylestream_[a-z_]+) ", "\n".join(scrapes), re.M))
    used = set()
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                used |= {re.sub(r"_(bucket|sum|count|total)$", "", m) for m in METRIC.findall(target["expr"])}
    exported_bases = {re.sub(r"_total$", "", m) for m in exported}
    missing = used - exported_bases
    assert not missing, f"dashboards query metrics nobody exports: {sorted(missing)}"
    # and the histograms the TTFR dashboard is about were filled by those requests
    body = "\n".join(scrapes)
    assert re.search(r'stylestream_time_to_first_result_seconds_count\{mode="atomic"\} [1-9]', body)
    assert re.search(r'stylestream_time_to_first_result_seconds_count\{mode="tier"\} [1-9]', body)
