"""What a sealed session's browser gets (`campus.hub.screen`): no file bodies, notebooks
and outputs within the caps, said once. The contents manager is jupyter_server's own, on
a real folder; the websocket's part is checked here message by message, and through a
real sealed session in tests/test_sandbox.py."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tornado import web

from campus.hub.screen import (IMAGE_BYTES, MESSAGE_BYTES, NOTE, ROWS, TEXT_BYTES, Budget, ReadingContentsManager,
                               Screen, rows_of, size_of, trimmed)

ROW_TEXT = "".join(f"card{i:05d},Gangnam-gu,{i * 7 % 1000}\n" for i in range(20_000))


def notebook(outputs: list[dict], source: str = "print(rows)") -> dict:
    return {"cells": [{"cell_type": "code", "source": source, "metadata": {}, "execution_count": 1,
                       "outputs": outputs}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def get(manager, *args, **kwargs) -> dict:
    return asyncio.run(manager.get(*args, **kwargs))


def save(manager, *args) -> dict:
    return asyncio.run(manager.save(*args))


def stream(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


@pytest.fixture
def manager(tmp_path):
    (tmp_path / "rows.csv").write_text(ROW_TEXT)
    (tmp_path / "big.ipynb").write_text(json.dumps(notebook([stream(ROW_TEXT)])))
    (tmp_path / "rows.ipynb").write_text(json.dumps(notebook([], source=ROW_TEXT)))
    return ReadingContentsManager(root_dir=str(tmp_path))


def test_a_files_body_is_refused_in_every_format_and_its_listing_kept(manager):
    for format in (None, "text", "base64"):
        with pytest.raises(web.HTTPError) as refused:
            get(manager, "rows.csv", content=True, format=format)
        assert refused.value.status_code == 403 and "campus.export_file" in refused.value.log_message
        assert "card00001" not in refused.value.log_message
    with pytest.raises(web.HTTPError):
        get(manager, "rows.csv", content=True, type="file")
    assert (get(manager, "rows.csv", content=False))["size"] == len(ROW_TEXT)
    folder = get(manager, "", content=True)
    assert {m["name"] for m in folder["content"]} == {"rows.csv", "big.ipynb", "rows.ipynb"}


def test_a_notebook_is_served_with_its_outputs_cut_and_saved_so(manager, tmp_path):
    served = (get(manager, "big.ipynb"))["content"]
    text = served["cells"][0]["outputs"][0]["text"]
    assert text.endswith(NOTE + "\n") and rows_of(text) == ROWS + 1
    save(manager, {"type": "notebook", "format": "json", "content": notebook([stream(ROW_TEXT)])}, "saved.ipynb")
    on_disk = json.loads((tmp_path / "saved.ipynb").read_text())
    assert "".join(on_disk["cells"][0]["outputs"][0]["text"]).count("card") == ROWS


def test_a_notebook_holding_rows_in_its_cells_is_not_served(manager):
    with pytest.raises(web.HTTPError) as refused:
        get(manager, "rows.ipynb")
    assert refused.value.status_code == 403 and "split the notebook" in refused.value.log_message


texts = st.text(st.sampled_from("ab,\n<tr>é"), max_size=3000)
outputs = st.one_of(
    st.builds(stream, texts),
    st.builds(lambda plain, html: {"output_type": "display_data", "metadata": {},
                                   "data": {"text/plain": plain, "text/html": html}}, texts, texts),
    st.builds(lambda value, lines: {"output_type": "error", "ename": "E", "evalue": value, "traceback": lines},
              texts, st.lists(texts, max_size=5)))


def shown_text(output: dict) -> list[tuple[str, str]]:
    if output["output_type"] == "stream":
        return [("text/plain", output["text"])]
    if output["output_type"] == "error":
        return [("text/plain", "\n".join([output["evalue"], *output["traceback"]]))]
    return list(output["data"].items())


@settings(max_examples=150, deadline=None)
@given(st.lists(outputs, max_size=60))
def test_a_cells_outputs_never_show_more_than_the_caps_and_say_so_once(cell):
    shown = trimmed(notebook(cell))["cells"][0]["outputs"]
    notes = sum(text.count(NOTE) for output in shown for _, text in shown_text(output))
    assert notes <= 1
    for mime in ("text/plain", "text/html"):
        texts_shown = [text.replace(NOTE, "") for output in shown for m, text in shown_text(output) if m == mime]
        assert sum(rows_of(t, mime) for t in texts_shown) <= ROWS + len(cell) + 6  # + the lines an error joins
        assert sum(size_of(t) for t in texts_shown) <= TEXT_BYTES + len(cell) * 6
    if not notes:  # nothing was cut: everything is shown as it was
        assert shown == [o for o in cell if o["output_type"] != "stream" or o["text"]]


def test_twenty_thousand_printed_rows_show_two_hundred_and_the_note_once():
    screen, request = Screen(), "cell-1"
    seen = [screen.show("stream", request, {"name": "stdout", "text": line}, 40) for line in ROW_TEXT.splitlines(True)]
    shown = [s["text"] for s in seen if s is not None]
    assert len(shown) == ROWS + 1 and shown[-1].startswith(NOTE.split(":")[0]) and NOTE in shown[-1]
    assert screen.show("stream", "cell-2", {"name": "stdout", "text": "next cell\n"}, 10)["text"] == "next cell\n"


def test_a_picture_is_shown_up_to_its_cap_and_a_large_table_only_as_cut_text():
    budget = Budget()
    html = "<table>" + "".join(f"<tr><td>{i}</td></tr>" for i in range(ROWS + 1)) + "</table>"
    small = Screen().show("display_data", "r", {"data": {"image/png": "x" * 100, "text/plain": "<Figure>"},
                                                "metadata": {}}, 200)
    big = Screen().show("display_data", "r", {"data": {"image/png": "x" * (IMAGE_BYTES + 1)}, "metadata": {}}, 0)
    table = Screen().show("execute_result", "r", {"data": {"text/html": html, "text/plain": ROW_TEXT},
                                                  "metadata": {}, "execution_count": 1}, 0)
    assert small["data"] == {"image/png": "x" * 100, "text/plain": "<Figure>"}
    assert big["data"] == {"text/plain": NOTE}
    assert "text/html" not in table["data"] and table["data"]["text/plain"].count("card") == ROWS
    assert budget.fits(html[:1000], "text/html")


def test_any_other_message_larger_than_its_cap_is_refused():
    screen = Screen()
    small = {"status": "ok", "matches": ["rows", "rows_csv"]}
    assert screen.show("complete_reply", "r", small, 100) is small
    refused = screen.show("inspect_reply", "r", {"status": "ok", "data": {"text/plain": ROW_TEXT}}, len(ROW_TEXT))
    assert refused["status"] == "error" and "card" not in json.dumps(refused)
    assert screen.show("comm_msg", "r", {"data": {"rows": ROW_TEXT}}, MESSAGE_BYTES + 1) is None
