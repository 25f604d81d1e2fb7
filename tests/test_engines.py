"""What every engine must do beyond running SQL: say which version of the files it reads."""

from __future__ import annotations

import os
from importlib import import_module

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from campus.engines import ENGINES


def engine_class(name: str):
    module, _, cls = ENGINES[name].partition(":")
    return getattr(import_module(module), cls)


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_the_data_version_follows_the_files(name, tmp_path):
    path = tmp_path / "part-0.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), path)
    engine = engine_class(name)
    first = engine.data_version([path])
    assert engine.data_version([path]) == first, "the same files give the same version"
    pq.write_table(pa.table({"x": [1, 2, 3]}), path)
    os.utime(path, ns=(1, 1))
    assert engine.data_version([path]) != first, "rewritten files give another version"
