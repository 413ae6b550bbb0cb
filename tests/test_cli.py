"""The ``ticketguard`` command line, end to end in-process."""

import json

import pytest
from typer.testing import CliRunner

from tests.conftest import seed_rows, write_jsonl
from ticketguard.cli.main import app
from ticketguard.models.defaults import DEFAULT_BUILD_TIME
from ticketguard.service.settings import get_settings

runner = CliRunner()


def said(result) -> str:
    """The command's output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def test_predict_text_and_file(tiny_artifact, tmp_path):
    result = runner.invoke(app, ["predict", "You are a useless idiot.", "--model", str(tiny_artifact), "--json"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["label"] == "complaint" and line["model_version"] == "tiny-test-0"
    assert sum(line["scores"].values()) == pytest.approx(1.0, abs=1e-4)

    messages = tmp_path / "messages.txt"
    messages.write_text("first message\nsecond message\n\n")
    result = runner.invoke(app, ["predict", "--file", str(messages), "--model", str(tiny_artifact), "--json"])
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["text"] for x in result.stdout.strip().splitlines()] == ["first message", "second message"]


def test_predict_explain(tiny_artifact):
    text = "Cafe\u0301 staff, you useless idiots [bold]!"
    result = runner.invoke(app, ["predict", text, "--model", str(tiny_artifact), "--json", "--explain"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    spans = line["explanation"]["spans"]
    assert list(spans) == list(dict.fromkeys([line["label"], *line["flags"]])) and spans[line["label"]]
    assert all(text[s["start"]:s["end"]] == s["text"] for label_spans in spans.values() for s in label_spans)
    plain = runner.invoke(app, ["predict", text, "--model", str(tiny_artifact), "--json"])
    assert "explanation" not in json.loads(plain.stdout.strip().splitlines()[-1])
    table = runner.invoke(app, ["predict", text, "--model", str(tiny_artifact), "--explain"])
    assert table.exit_code == 0, table.output
    top = spans[line["label"]][0]
    assert f"{line['label']}: {top['text']!r} {top['score']:+.2f}" in said(table)
    assert "[bold]!" in said(table)  # the message's own brackets are text, not markup


def test_predict_errors_are_clear(tiny_artifact, tmp_path):
    result = runner.invoke(app, ["predict", "--model", str(tiny_artifact)])
    assert result.exit_code == 2 and "give either a TEXT argument or --file" in said(result)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"body": "no text field"}\n')
    result = runner.invoke(app, ["predict", "--file", str(bad), "--model", str(tiny_artifact)])
    assert result.exit_code == 2 and "bad.jsonl:1: expected a JSON object with a 'text' field" in said(result)
    result = runner.invoke(app, ["predict", "hello", "--model", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "does not exist" in said(result)


def test_predict_without_a_built_model_says_how_to_build_one(tmp_path, monkeypatch):
    monkeypatch.setenv("TICKETGUARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TICKETGUARD_MODEL_PATH", raising=False)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["predict", "hello"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "run `ticketguard build` once" in said(result)
    assert DEFAULT_BUILD_TIME in said(result)


def test_data_check_and_split(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "split"} for r in seed_rows()]
    corpus = write_jsonl(tmp_path / "corpus" / "seed.jsonl", rows)
    result = runner.invoke(app, ["data", "check", str(corpus.parent), "--no-targets"])
    assert result.exit_code == 1 and "split is missing" in said(result)
    result = runner.invoke(app, ["data", "split", str(corpus.parent)])
    assert result.exit_code == 0 and "20 row(s) assigned" in said(result)
    result = runner.invoke(app, ["data", "check", str(corpus.parent), "--no-targets"])
    assert result.exit_code == 0, result.output
    assert "corpus OK" in said(result) and "20 rows" in said(result)
    result = runner.invoke(app, ["data", "check", str(corpus.parent)])
    assert result.exit_code == 1 and "bg: fewer than 300 rows" in said(result)


def test_train_and_evaluate_tfidf(tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", seed_rows())
    result = runner.invoke(app, ["train", "--arch", "tfidf", "--data", str(corpus), "-o", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert "macro-F1 test" in said(result)
    result = runner.invoke(app, ["evaluate", "--model", str(tmp_path / "m"), "--data", f"{corpus}:test",
                                 "--data", str(corpus), "-o", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    report = (tmp_path / "r" / "report.md").read_text()
    assert "## c.jsonl [test]" in report and "## c.jsonl\n" in report
    result = runner.invoke(app, ["evaluate", "--model", str(tmp_path / "m"), "--data", f"{corpus}:challenge",
                                 "-o", str(tmp_path / "r")])
    assert result.exit_code == 2 and "no rows" in said(result)
    result = runner.invoke(app, ["train", "--arch", "svm", "--data", str(corpus), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "arch must be" in said(result)


def test_evaluate_keeps_sets_that_share_a_name_apart(tmp_path):
    """Two folders called ``public`` are two sets (named by their paths), and a split's name survives the
    console's markup; the same set twice is refused."""
    first = write_jsonl(tmp_path / "new" / "public" / "a.jsonl", seed_rows())
    second = write_jsonl(tmp_path / "old" / "public" / "a.jsonl", seed_rows()[:10])
    runner.invoke(app, ["train", "--arch", "tfidf", "--data", str(first), "-o", str(tmp_path / "m")])
    result = runner.invoke(app, ["evaluate", "--model", str(tmp_path / "m"), "--data", str(first.parent),
                                 "--data", str(second.parent), "--data", f"{first}:test", "-o", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    sets = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert list(sets) == ["public", str(second.parent), "a.jsonl [test]"]
    assert [sets[name][0]["metrics"]["n"] for name in list(sets)[:2]] == [20, 10]
    assert "a.jsonl [test] m: macro-F1" in said(result)
    result = runner.invoke(app, ["evaluate", "--model", str(tmp_path / "m"), "--data", str(first.parent),
                                 "--data", str(first.parent), "-o", str(tmp_path / "r")])
    assert result.exit_code == 2 and "given twice" in said(result)
