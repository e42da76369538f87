"""The benchmark's pure parts: the table with its ratios, the black-box copy of a served target file."""

from __future__ import annotations

from pathlib import Path

from conformance.bench import _SCHEMATHESIS, COMPARED, Measurement, black_box, table


def row(name: str, wall: float, cpu: float) -> Measurement:
    return Measurement(name, 0, wall, cpu, 287, 596, 1.0, 2.0, 0.1)


def test_the_table_gives_the_ratio_of_each_full_black_box_run_to_plain_schemathesis() -> None:
    text = table([row(COMPARED, 4.0, 3.0), row(f"{COMPARED}, case cache off", 6.0, 4.5),
                  row(_SCHEMATHESIS, 8.0, 6.0)])
    assert f"ratio {COMPARED} / plain Schemathesis (same serve): 0.50 wall, 0.50 cpu" in text
    assert f"ratio {COMPARED}, case cache off / plain Schemathesis (same serve): 0.75 wall, 0.75 cpu" in text
    assert "ratio" not in table([row(COMPARED, 4.0, 3.0)])


def test_the_black_box_copy_drops_relay_platform_and_upstream(tmp_path: Path) -> None:
    served = tmp_path / "serve.toml"
    served.write_text(
        '[target]\nbase_url = "http://127.0.0.1:1/v1"\napi_key = "k"\n'
        'features = ["chat", "relay", "relay.images", "platform", "platform.writes"]\n'
        '[models]\nchat = "c"\nrelay_chat = "r"\n'
        '[upstream]\nlisten = "127.0.0.1:0"\nkey = "u"\n'
        '[platform]\naccess_token = "t"\n', encoding="utf-8")
    text = black_box(served).read_text(encoding="utf-8")
    assert 'features = ["chat"]' in text and 'chat = "c"' in text
    assert "relay" not in text and "platform" not in text and "upstream" not in text
