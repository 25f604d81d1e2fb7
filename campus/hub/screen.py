"""What a sealed session's browser gets from its notebook server: notebooks and outputs to
read, a screenful at a time, and no files.

The server settings in ``hub/singleuser/`` plug in the two classes here, in every sealed
session (aggregates sessions included: results leave through the airlock, never as
downloads):

* `ReadingContentsManager`: the contents API serves folders and notebooks, never the body
  of any other file (``content=1`` on a file is refused, 403, saying what to do instead); a
  notebook is served and saved with its outputs within the caps below, and one whose cells
  and metadata alone are larger than `NOTEBOOK_BYTES` (rows written into a notebook's
  cells by the kernel) is not served;
* `ScreenedConnection`: the kernel's websocket. Every output of one request (a cell's run)
  shares one `Budget`: at most `ROWS` rows (lines of text, rows and blocks of HTML) and
  `TEXT_BYTES` of text; images at most `IMAGE_BYTES` each. What is over is cut, and the
  output says so once (`NOTE`). Any other message larger than `MESSAGE_BYTES` (an
  inspection, completions, a comm's data, a debugger's variables) is refused.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from tornado import web

ROWS = 200
TEXT_BYTES = 64 * 1024
IMAGE_BYTES = 1024 * 1024
MESSAGE_BYTES = 64 * 1024
NOTEBOOK_BYTES = 256 * 1024
REQUESTS_REMEMBERED = 256
NOTE = (f"[campus] Output cut: a campus session shows at most {ROWS} rows ({TEXT_BYTES // 1024} KiB) of a cell's "
        "output, for reading. Show fewer rows (df.head(50)) or aggregate in the query; results leave only "
        "through the airlock (campus.export_file).")
OUTPUTS = {"stream", "display_data", "execute_result", "update_display_data", "error"}
PICTURES = re.compile(r"image/.*")
HTML_ROWS = re.compile(r"<(tr|br|li|p|div|h\d)\b", re.IGNORECASE)


def rows_of(text: str, mime: str = "text/plain") -> int:
    """
    >>> rows_of("a\\nb\\n"), rows_of("<table><tr><td>1</td></tr>\\n<tr><td>2</td></tr></table>", "text/html")
    (2, 2)
    """
    return len(HTML_ROWS.findall(text)) if mime == "text/html" else text.count("\n")


def size_of(text: str) -> int:
    return len(text.encode())


class Budget:
    """What is left to show of one request's output."""

    def __init__(self) -> None:
        self.rows, self.bytes, self.told = ROWS, TEXT_BYTES, False

    def fits(self, text: str, mime: str) -> bool:
        return rows_of(text, mime) <= self.rows and size_of(text) <= self.bytes

    def prefix(self, text: str) -> str:
        """The longest run of whole lines of `text` that fits."""
        kept, rows, size = [], 0, 0
        for line in text.splitlines(keepends=True):
            rows += line.endswith("\n")
            size += size_of(line)
            if rows > self.rows or size > self.bytes:
                break
            kept.append(line)
        return "".join(kept)

    def spend(self, rows: int, size: int) -> None:
        self.rows, self.bytes = self.rows - rows, self.bytes - size

    def spend_text(self, text: str) -> None:
        self.spend(rows_of(text), size_of(text))


def _text(value) -> str:
    """A notebook stores multi-line text as a list of lines; a message as one string."""
    return "".join(value) if isinstance(value, list) else value if isinstance(value, str) else json.dumps(value)


def shown_bundle(data: dict, budget: Budget) -> tuple[dict, bool]:
    """The representations of one output that fit; a bundle holds alternatives, so the
    budget spends what the largest one kept takes. Returns (bundle, whether any was cut)."""
    kept, cut, rows, size = {}, False, 0, 0
    for mime, value in data.items():
        text = _text(value)
        if PICTURES.fullmatch(mime):
            cut |= size_of(text) > IMAGE_BYTES
            if size_of(text) <= IMAGE_BYTES:
                kept[mime] = value
            continue
        if mime == "text/plain":
            kept[mime] = text = budget.prefix(text)
            cut |= text != _text(value)
        elif budget.fits(text, mime):
            kept[mime] = value
        else:
            cut = True
            continue
        rows, size = max(rows, rows_of(text, mime)), max(size, size_of(text))
    budget.spend(rows, size)
    return kept, cut


def shown(kind: str, content: dict, budget: Budget) -> dict | None:
    """An output (a message's content, or a notebook's output; `kind` is its type) as far as
    `budget` lets it be shown, with `NOTE` the first time anything is cut; None when nothing
    is left to show."""
    content, cut = dict(content), False
    if kind == "stream":
        text = _text(content.get("text", ""))
        content["text"] = budget.prefix(text)
        cut, empty = content["text"] != text, not content["text"]
        budget.spend_text(content["text"])
    elif kind == "error":
        lines = [content.get("evalue", ""), *content.get("traceback", [])]
        kept = [budget.prefix(_text(line) + "\n")[:-1] for line in lines]
        for line in kept:
            budget.spend_text(line + "\n")
        cut, empty = kept != [_text(line) for line in lines], False
        content["evalue"], content["traceback"] = kept[0], kept[1:]
    else:
        content["data"], cut = shown_bundle(content.get("data", {}), budget)
        if size_of(json.dumps(content.get("metadata", {}))) > 4096:
            content["metadata"], cut = {}, True
        empty = not content["data"]
    if cut and not budget.told:
        budget.told = True
        return _noted(kind, content)
    return None if empty else content


def _noted(kind: str, content: dict) -> dict:
    if kind == "stream":
        content["text"] += ("" if content["text"].endswith("\n") or not content["text"] else "\n") + NOTE + "\n"
    elif kind == "error":
        content["traceback"] = [*content["traceback"], NOTE]
    else:
        content["data"]["text/plain"] = (content["data"].get("text/plain", "") + "\n" + NOTE).lstrip("\n")
    return content


def refused_reply(kind: str) -> dict:
    """What stands for a reply too large to show."""
    return {"status": "error", "ename": "OutputTooLarge", "traceback": [],
            "evalue": f"{NOTE} This {kind} was larger than {MESSAGE_BYTES // 1024} KiB and was not shown."}


class Screen:
    """The budgets of a kernel's recent requests, by the request's message id."""

    def __init__(self) -> None:
        self.budgets: OrderedDict[str, Budget] = OrderedDict()

    def budget(self, request: str) -> Budget:
        found = self.budgets.pop(request, None) or Budget()
        self.budgets[request] = found
        while len(self.budgets) > REQUESTS_REMEMBERED:
            self.budgets.popitem(last=False)
        return found

    def show(self, kind: str, request: str, content: dict, size: int) -> dict | None:
        """`content` as the browser may see it (the same object if untouched); None: nothing.
        `size` is the message's size in bytes (its content and buffers)."""
        if kind in OUTPUTS:
            return shown(kind, content, self.budget(request))
        if size <= MESSAGE_BYTES:
            return content
        return refused_reply(kind) if kind.endswith("_reply") else None


def trimmed(notebook: dict) -> dict:
    """The notebook with each code cell's outputs within one request's budget."""
    for cell in notebook.get("cells", []):
        if cell.get("outputs"):
            budget = Budget()
            outputs = (shown(output.get("output_type", ""), output, budget) for output in cell["outputs"])
            cell["outputs"] = [output for output in outputs if output is not None]
    return notebook


def without_outputs_size(notebook: dict) -> int:
    """The size of a notebook's cells and metadata, outputs aside."""
    cells = [{k: v for k, v in cell.items() if k != "outputs"} for cell in notebook.get("cells", [])]
    return size_of(json.dumps({**notebook, "cells": cells}))


class ReadingContentsManager(AsyncLargeFileManager):
    """Folders and notebooks (outputs within the caps) to the browser; no file's body."""

    async def get(self, path, content=True, type=None, format=None, **kwargs):
        if content:
            kind = type or (await super().get(path, content=False))["type"]
            if kind == "file":
                raise web.HTTPError(403, f"In a campus session the browser is shown notebooks, not files: {path} "
                                         "stays in the session. Read it in a notebook cell (a screenful at a time), "
                                         "or hand a result to the airlock with campus.export_file for review.")
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        if content and model["type"] == "notebook":
            if without_outputs_size(model["content"]) > NOTEBOOK_BYTES:
                raise web.HTTPError(403, f"{path} holds more than {NOTEBOOK_BYTES // 1024} KiB in its cells and "
                                         "metadata, more than a campus session shows in a notebook. Keep data in "
                                         "the data service, not in a notebook's cells, and split the notebook.")
            trimmed(model["content"])
        return model

    async def save(self, model, path=""):
        if model.get("type") == "notebook" and model.get("content"):
            trimmed(model["content"])
        return await super().save(model, path)


class ScreenedConnection(ZMQChannelsWebsocketConnection):
    """The kernel's websocket, with each message from the kernel as `Screen` shows it."""

    @property
    def screen(self) -> Screen:
        if "_screen" not in self.__dict__:
            self.__dict__["_screen"] = Screen()
        return self.__dict__["_screen"]

    def handle_outgoing_message(self, stream, outgoing_msg) -> None:
        idents, parts = self.session.feed_identities(outgoing_msg)
        if len(parts) < 5:  # not a message: jupyter_server's own handling logs it
            return super().handle_outgoing_message(stream, outgoing_msg)
        header, parent, content = (self.session.unpack(parts[i]) for i in (1, 2, 4))
        size = sum(len(part) for part in parts[4:])
        seen = self.screen.show(header.get("msg_type", ""), parent.get("msg_id", ""), content, size)
        if seen is None:
            return
        if seen is not content:
            packed = [*parts[1:4], self.session.pack(seen)]  # its buffers are not shown either
            outgoing_msg = [*idents, b"<IDS|MSG>", self.session.sign(packed), *packed]
        super().handle_outgoing_message(stream, outgoing_msg)
