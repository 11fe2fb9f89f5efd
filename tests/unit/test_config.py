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


def test_every_bad_key_is_named_at_once():
    raw = _raw(replay={"days": 0, "port": 70000})
    raw["prices"].update(assets=["bitcoin", "Bit Coin"], colour="red")
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    message = str(err.value)
    assert "\n" not in message  # `config check` prints one line
    for part in ("prices.assets[1]: 'Bit Coin' is not a CoinGecko id", "prices.colour: unknown key (allowed: ",
                 "replay.days: must be >= 1, got 0", "replay.port: must be <= 65535, got 70000"):
        assert part in message


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r["prices"].update(provider=None), "prices.provider: required key is missing"),
        (lambda r: r.update(source_path="x"), "source_path: unknown key"),
        (lambda r: r.update(http=5), "http: expected a mapping, got int"),
        (lambda r: r.update(linking={"staleness_minutes": {"1h": 0}}), "linking.staleness_minutes.1h: must be >= 1"),
        (lambda r: r.update(linking={"staleness_minutes": {60: 5}}), "linking.staleness_minutes.60: "),
        (lambda r: r.update(news={"sources": [{"name": "a", "feeds": ["http://h/f"], "tz": "UTC"}]}),
         "news.sources[0].tz: unknown key"),
        (lambda r: r.update(maintenance={"data_docs_days": 1.5}), "maintenance.data_docs_days: expected an integer, got 1.5"),
    ],
)
def test_more_bad_keys_are_named(mutate, message):
    raw = _raw()
    mutate(raw)
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert message in str(err.value)


def test_empty_sections_mean_defaults_and_values_are_normalised():
    cfg = parse_config(_raw(http=None, news=None, linking={"horizons": ["4h", "1h"], "staleness_minutes": {"4h": 100}},
                            replay={"start": __import__("datetime").date(2026, 2, 1)}))
    assert cfg.http.allow_private_networks is False and cfg.news.sources == ()
    assert cfg.linking.horizons == ("1h", "4h") and cfg.linking.staleness_minutes == (("1h", 65), ("4h", 100))
    assert cfg.replay.start == "2026-02-01" and cfg.prices.rate_limit_per_minute == 25.0
    hash(cfg)  # frozen all the way down


def test_objects_built_in_code_are_not_revalidated():
    import dataclasses

    from newsmarkets.config import PricesConfig

    # Clients keep their own checks for configs built in code (see test_coingecko_client).
    prices = PricesConfig(provider="coingecko", base_url="file:///etc/passwd", assets=("bitcoin",))
    cfg = dataclasses.replace(parse_config(_raw()), prices=prices)
    assert cfg.prices.base_url == "file:///etc/passwd" and cfg.prices.vs_currency == "usd"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.warehouse = "elsewhere"


@pytest.mark.parametrize("share", [1.5, -0.1, "half"])
def test_max_failed_fetch_share_is_a_share(share):
    raw = _raw()
    raw["quality"] = {"max_failed_fetch_share": share}
    with pytest.raises(ConfigError, match=r"quality\.max_failed_fetch_share"):
        parse_config(raw)


def test_max_failed_fetch_share_defaults_to_half_and_accepts_zero_to_one():
    assert parse_config(_raw()).quality.max_failed_fetch_share == 0.5
    for share in (0, 0.25, 1):
        raw = _raw()
        raw["quality"] = {"max_failed_fetch_share": share}
        assert parse_config(raw).quality.max_failed_fetch_share == share
