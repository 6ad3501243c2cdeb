"""Settings precedence: env LAKEHOUSE_* over .env over lakehouse.toml; secrets never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse_core.settings import load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("LAKEHOUSE_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_embedded_under_data(tmp_path: Path) -> None:
    s = load_settings()
    assert s.mode == "embedded"
    assert s.data_path == tmp_path / "data"
    assert s.catalog_url == f"sqlite:///{tmp_path / 'data' / 'catalog.db'}"
    assert s.warehouse_uri == (tmp_path / "data" / "warehouse").as_uri()
    assert s.orders == 5000 and s.seed == 42


def test_precedence_env_over_dotenv_over_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lakehouse.toml").write_text(
        'orders = 111\nseed = 7\nmode = "stack"\n[nessie]\nref = "dev"\n'
    )
    assert load_settings().orders == 111
    (tmp_path / ".env").write_text("LAKEHOUSE_ORDERS=222\n")
    s = load_settings()
    assert (s.orders, s.seed, s.mode, s.nessie.ref) == (222, 7, "stack", "dev")
    monkeypatch.setenv("LAKEHOUSE_ORDERS", "333")
    monkeypatch.setenv("LAKEHOUSE_NESSIE__REF", "etl")
    s = load_settings()
    assert (s.orders, s.nessie.ref) == (333, "etl")
    assert load_settings(orders=444).orders == 444


def test_config_file_path_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "conf" / "x.toml"
    other.parent.mkdir()
    other.write_text("orders = 999\n")
    monkeypatch.setenv("LAKEHOUSE_CONFIG_FILE", str(other))
    assert load_settings().orders == 999


def test_secrets_are_not_rendered() -> None:
    s = load_settings()
    text = repr(s) + str(s.model_dump())
    assert "minioadmin123" not in text and "admin123" not in text
    assert s.minio.secret_key.get_secret_value() == "minioadmin123"


def test_invalid_mode_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_MODE", "cloud")
    with pytest.raises(ValueError, match="mode"):
        load_settings()
