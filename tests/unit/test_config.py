"""Config validation: every bad key is named, the bundled config loads, env overrides work."""

import pytest

from newsmarkets.config import BUNDLED_CONFIG, ConfigError, load_config, parse_config


def _raw(**overrides):
    raw = {
        "warehouse": "data/warehouse",
        "prices": {
            "provider": "coingecko",
            "base_url": "https://api.coingecko.com/api/v3",
            "vs_currency": "usd",
            "assets": ["bitcoin", "ethereum"],
        },
    }
    raw.update(overrides)
    return raw


def test_bundled_config_loads():
    cfg = load_config(BUNDLED_CONFIG)
    assert cfg.prices.provider == "coingecko"
    assert cfg.http.allow_private_networks is True
    assert "bitcoin" in cfg.prices.assets


def test_defaults_are_safe_for_production():
    cfg = parse_config(_raw())
    assert cfg.http.allow_private_networks is False
    assert cfg.prices.api_key is None


def test_warehouse_env_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSMARKETS_WAREHOUSE", str(tmp_path / "wh"))
    assert parse_config(_raw()).warehouse == str(tmp_path / "wh")


def test_catalog_defaults_beside_tables():
    assert parse_config(_raw()).catalog_path.endswith("data/warehouse/warehouse.duckdb")


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r.pop("warehouse"), "warehouse: required key is missing"),
        (lambda r: r["prices"].pop("assets"), "prices.assets: required key is missing"),
        (lambda r: r["prices"].update(assets=[]), "prices.assets: expected a non-empty list"),
        (lambda r: r["prices"].update(assets=["bitcoin", "Bit Coin"]), "prices.assets[1]"),
        (lambda r: r["prices"].update(assets=["bitcoin", "bitcoin"]), "listed twice"),
        (lambda r: r["prices"].update(provider="yahoo"), "prices.provider: unknown provider 'yahoo'"),
        (lambda r: r["prices"].update(base_url="ftp://x"), "prices.base_url: must be an http(s) URL"),
        (lambda r: r["prices"].update(per_page=500), "prices.per_page: CoinGecko allows at most 250"),
        (lambda r: r["prices"].update(rate_limit_per_minute=0), "prices.rate_limit_per_minute: must be > 0"),
        (lambda r: r["prices"].update(colour="red"), "prices.colour: unknown key"),
        (lambda r: r.update(http={"allow_private_networks": "yes"}), "http.allow_private_networks: expected true or false"),
        (lambda r: r.update(replay={"start": "5 Jan"}), "replay.start: expected an ISO date"),
        (lambda r: r.update(wharehouse="x"), "wharehouse: unknown key"),
    ],
)
def test_bad_keys_are_named(mutate, message):
    raw = _raw()
    mutate(raw)
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert message in str(err.value)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("prices: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_error_names_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("warehouse: x\nprices: {provider: coingecko, base_url: 'http://h', assets: [BTC]}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value) and "prices.assets[0]" in str(err.value)


def test_api_key_read_from_named_env(monkeypatch):
    raw = _raw()
    raw["prices"]["api_key_env"] = "MY_CG_KEY"
    monkeypatch.setenv("MY_CG_KEY", "secret-value")
    assert parse_config(raw).prices.api_key == "secret-value"
