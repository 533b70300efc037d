"""The hall document and its pieces: split then join gives the document back (empty lists aside), each piece
named by its code, and retired pieces leave the document."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from server.config import HALL_SECTIONS
from server.domain.hall_document import BRANCH_LISTS, CODE_KEY, HallItemKind, join, split

ROOT = Path(__file__).resolve().parents[2]
codes = st.text(alphabet="ABCDEFGHJK0123456789-", min_size=1, max_size=6)
values = st.one_of(st.integers(-5, 500), st.text(max_size=8), st.booleans(),
                   st.lists(st.text(max_size=3), max_size=3))


def tables(kind: HallItemKind) -> st.SearchStrategy[list[dict[str, Any]]]:
    key = CODE_KEY[kind]
    return st.lists(codes, max_size=4, unique=True).flatmap(lambda names: st.tuples(*[
        st.dictionaries(st.sampled_from(["name", "colour", "x", "y"]), values, max_size=3).map(
            lambda d, n=n: {key: n, **d}) for n in names]).map(list))


branch = st.builds(lambda code, own, lists: {"code": code, **own, **{k: v for k, v in lists.items() if v}},
                   codes, st.dictionaries(st.sampled_from(["name", "timezone", "hours"]), values, max_size=3),
                   st.fixed_dictionaries({key: tables(kind) for key, kind in BRANCH_LISTS.items()}))
documents = st.builds(
    lambda branches, staff, ratings: {"branches": branches, **({"staff": staff} if staff else {}),
                                      **({"ratings": ratings} if ratings else {})},
    st.lists(branch, min_size=1, max_size=3, unique_by=lambda b: b["code"]),
    tables(HallItemKind.ACCOUNT),
    st.dictionaries(st.sampled_from(["scale", "pad_timeout_s"]), values, max_size=2))


@given(documents)
def test_split_then_join_gives_the_document_back(document: dict[str, Any]) -> None:
    assert join(split(document)) == document


@given(documents)
def test_every_piece_is_named_by_its_code_and_the_order_is_kept(document: dict[str, Any]) -> None:
    items = split(document)
    assert len({(i.kind, i.branch_code, i.code) for i in items}) == len(items)
    for b in document["branches"]:
        for key, kind in BRANCH_LISTS.items():
            mine = [i for i in items if i.kind == kind and i.branch_code == b["code"]]
            assert [i.code for i in mine] == [t[CODE_KEY[kind]] for t in b.get(key, [])]


def test_a_retired_piece_leaves_the_document() -> None:
    data = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    document = {key: data[key] for key in HALL_SECTIONS if key in data}
    items = split(document)
    service = next(i for i in items if i.kind == HallItemKind.SERVICE)
    joined = join([dataclasses.replace(i, retired=True) if i is service else i for i in items])
    assert service.code not in {s["code"] for s in joined["branches"][0]["services"]}
    assert join(items) == document  # the demo's own document comes back whole, dates of its holidays included
