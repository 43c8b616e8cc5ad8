"""The artifact browser service: one folder level at a time, bounded previews, no traversal."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from seedbed.errors import Invalid, NotFound
from seedbed.registry import model_format
from seedbed.storage import ArtifactStore
from seedbed.tracking import artifact_browser as browser
from seedbed.workspace import Workspace

ROOT = "runs/0123456789abcdef0123456789abcdef/artifacts"


@pytest.fixture
def store(local_workspace: Workspace) -> ArtifactStore:
    store = local_workspace.artifacts
    store.put_bytes(f"{ROOT}/notes.txt", b"hello\n")
    store.put_bytes(f"{ROOT}/plots/loss.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    store.put_bytes(f"{ROOT}/plots/deep/curve.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    store.put_bytes(f"{ROOT}/Zeta.csv", b"a,b\n1,2\n")
    return store


def save_model(store: ArtifactStore, tmp_path: Path, key: str) -> None:
    frame = pd.DataFrame({"distance": [100.0, 900.0, 300.0, 2000.0], "hour": [5, 18, 9, 21]})
    model = LogisticRegression().fit(frame, [0, 1, 0, 1])
    inputs = model_format.infer_inputs(frame)
    folder = model_format.save_sklearn_model(model, tmp_path / "m", inputs, {"distance": 1.0})
    store.put_dir(folder, key)


def test_lists_one_level_folders_first_with_sizes(store: ArtifactStore) -> None:
    store.put_bytes(f"{ROOT}/plots/deep/x.tmp-{'0' * 32}", b"half-written")  # in-progress write
    top = browser.list_folder(store, ROOT)
    assert [(e.name, e.is_dir) for e in top.entries] == [
        ("plots", True),
        ("notes.txt", False),
        ("Zeta.csv", False),
    ]
    notes = top.entries[1]
    assert (notes.path, notes.size, notes.kind) == ("notes.txt", 6, "text")
    plots = browser.list_folder(store, ROOT, "plots")
    assert [e.path for e in plots.entries] == ["plots/deep", "plots/loss.png"]
    deep = browser.list_folder(store, ROOT, "plots/deep/")
    assert [e.name for e in deep.entries] == ["curve.svg"]
    assert deep.crumbs == [("plots", "plots"), ("deep", "plots/deep")]


def test_missing_folder_is_404_and_an_empty_root_is_empty(store: ArtifactStore) -> None:
    with pytest.raises(NotFound):
        browser.list_folder(store, ROOT, "nope")
    assert browser.list_folder(store, "runs/" + "f" * 32 + "/artifacts").entries == []
    with pytest.raises(NotFound):
        browser.file_entry(store, ROOT, "plots")  # a folder is not a file
    with pytest.raises(NotFound):
        browser.preview(store, ROOT, "missing.txt")


@pytest.mark.parametrize(
    "path",
    [
        "../secret.txt",
        "plots/../../other-run",
        "/etc/passwd",
        "%2e%2e/secret",
        "plots%2f..%2f..%2fx",
        "%252e%252e/secret",
        "plots\\..\\x",
        "C:/Windows",
        "a/\x00b",
    ],
)
def test_traversal_is_refused(store: ArtifactStore, path: str) -> None:
    for call in (browser.list_folder, browser.file_entry, browser.preview, browser.browse):
        with pytest.raises(Invalid):
            call(store, ROOT, path)


def test_preview_kinds_and_inline_types() -> None:
    assert browser.preview_kind("a.PNG") == "image"
    assert browser.preview_kind("plot.svg") == "image"
    assert browser.preview_kind("train.log") == "text"
    assert browser.preview_kind("MLmodel") == "text"
    assert browser.preview_kind("data.tsv") == "table"
    assert browser.preview_kind("fig.html") == "html"
    assert browser.preview_kind("model.pkl") == "binary"
    assert browser.content_type("plot.svg") == "image/svg+xml"
    assert browser.content_type("train.csv") == "text/plain; charset=utf-8"
    assert browser.content_type("fig.htm") == "text/html; charset=utf-8"
    assert browser.content_type("model.pkl") is None
    assert browser.content_type("page.xhtml") is None


def test_text_preview_is_bounded_and_keeps_characters_whole(store: ArtifactStore) -> None:
    # 'é' is two bytes: the cut at 100,000 bytes falls inside one of them.
    store.put_bytes(f"{ROOT}/big.log", b"a" + "é".encode() * 200_000)
    head = browser.read_text_head(store, ROOT, "big.log")
    assert head is not None and head.truncated
    assert head.text == "a" + "é" * 49_999 and "\ufffd" not in head.text
    small = browser.read_text_head(store, ROOT, "notes.txt")
    assert small == browser.TextHead("hello\n", truncated=False)


def test_json_is_indented_and_binary_is_not_text(store: ArtifactStore) -> None:
    store.put_bytes(f"{ROOT}/m.json", b'{"auc": 0.9, "labels": ["a"]}')
    store.put_bytes(f"{ROOT}/broken.json", b'{"auc": ')
    store.put_bytes(f"{ROOT}/blob.txt", b"abc\x00def")
    pretty = browser.read_text_head(store, ROOT, "m.json")
    assert pretty is not None and pretty.text.startswith('{\n  "auc": 0.9')
    broken = browser.read_text_head(store, ROOT, "broken.json")
    assert broken is not None and broken.text == '{"auc": '
    assert browser.read_text_head(store, ROOT, "blob.txt") is None
    assert browser.preview(store, ROOT, "blob.txt").text is None


def test_table_preview_shows_the_first_rows(store: ArtifactStore) -> None:
    lines = ["id,name"] + [f"{i},row {i}" for i in range(1_000)]
    store.put_bytes(f"{ROOT}/t.csv", "\n".join(lines).encode())
    head = browser.read_table_head(store, ROOT, "t.csv")
    assert head is not None and head.columns == ["id", "name"]
    assert len(head.rows) == 100 and head.rows[-1] == ["99", "row 99"] and head.truncated
    store.put_bytes(f"{ROOT}/t.tsv", b"x\ty\n1\t2\n")
    assert browser.read_table_head(store, ROOT, "t.tsv") == browser.TableHead(
        ["x", "y"], [["1", "2"]], truncated=False
    )
    store.put_bytes(f"{ROOT}/semi.csv", b"x;y\n1;2\n3;4\n")
    semi = browser.read_table_head(store, ROOT, "semi.csv")
    assert semi is not None and semi.columns == ["x", "y"] and semi.rows == [["1", "2"], ["3", "4"]]


def test_a_csv_that_is_no_table_is_shown_as_text(store: ArtifactStore) -> None:
    store.put_bytes(f"{ROOT}/odd.csv", b'a\n"' + b"x" * 200_000 + b'"\n')  # over csv's field limit
    shown = browser.preview(store, ROOT, "odd.csv")
    assert shown.table is None and shown.text is not None and shown.text.truncated


def test_previews_never_read_a_whole_large_file(store: ArtifactStore) -> None:
    row = b"1234567890,abcdefghij,0.123456789\n"
    store.put_bytes(f"{ROOT}/large.csv", b"a,b,c\n" + row * 600_000)  # about 20 MB
    store.put_bytes(f"{ROOT}/large.txt", row * 600_000)
    tracemalloc.start()
    try:
        table = browser.preview(store, ROOT, "large.csv").table
        text = browser.preview(store, ROOT, "large.txt").text
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert table is not None and len(table.rows) == 100 and table.truncated
    assert text is not None and text.truncated and len(text.text) == browser.TEXT_BYTES
    assert peak < 8_000_000, f"previews of 20 MB files allocated {peak:,} bytes"


def test_a_model_folder_reads_as_a_model(store: ArtifactStore, tmp_path: Path) -> None:
    save_model(store, tmp_path, f"{ROOT}/model")
    top = browser.list_folder(store, ROOT)
    assert next(e for e in top.entries if e.name == "model").is_model
    assert not next(e for e in top.entries if e.name == "plots").is_model
    shown = browser.browse(store, ROOT, "model")
    assert shown.folder.is_model and shown.key == f"{ROOT}/model" and shown.preview is None
    assert shown.model is not None
    flavors = dict(shown.model.flavors)
    assert set(flavors) == {"python_function", "sklearn"}
    assert "sklearn version" in flavors["sklearn"]
    assert shown.model.inputs == [("distance", "double"), ("hour", "long")]
    assert shown.model.outputs == [("#0", "tensor int64 [-1]")]


def test_browse_to_a_file_opens_its_folder_and_previews_it(store: ArtifactStore) -> None:
    shown = browser.browse(store, ROOT, "plots/loss.png")
    assert shown.folder.path == "plots" and shown.model is None
    assert shown.preview is not None and shown.preview.entry.kind == "image"
    assert shown.preview.entry.size == 108
    with pytest.raises(NotFound):
        browser.browse(store, ROOT, "plots/nothing.png")
