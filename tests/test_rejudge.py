"""Recorded runs judged again from their recorded tables: the committed comparison tables are
what today's rules give, and rejudging rewrites only the comparison (its digest kept true)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from hpostudy import store
from hpostudy.study import rejudge

ROOT = Path(__file__).resolve().parents[1]
RECORDED = sorted(p.parent for p in (ROOT / "book" / "recorded").glob("*/*/comparison.csv"))


@pytest.mark.parametrize("folder", RECORDED, ids=lambda p: f"{p.parent.name}-{p.name}")
def test_every_recorded_comparison_is_what_todays_rules_give(folder, tmp_path):
    """A rule changed without `hpostudy rejudge`, or a table edited by hand, fails here."""
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    fresh = rejudge.rejudge(copy)
    committed = pd.read_csv(folder / "comparison.csv", keep_default_na=False)
    again = pd.read_csv(copy / "comparison.csv", keep_default_na=False)
    assert len(fresh) == len(committed)
    pd.testing.assert_frame_equal(again, committed, check_dtype=False)


def test_rejudging_rewrites_only_the_comparison_and_keeps_its_digest(tmp_path):
    folder = next(f for f in RECORDED if f.name == "dropout_seed")
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    before = {p.name: p.read_bytes() for p in copy.iterdir() if p.name != "comparison.csv"
              and p.name != "meta.json"}
    meta = json.loads((copy / "meta.json").read_text())
    meta["files"] = {p.name: store.file_digest(p) for p in copy.glob("*.csv")}
    store.write_meta(meta, copy)  # as a run of today writes it: digests, sealed
    (copy / "comparison.csv").write_text("finding,verdict\nedited by hand,agree\n")
    assert store.incomplete_reason(copy) is not None
    rejudge.rejudge(copy)
    assert "edited by hand" not in (copy / "comparison.csv").read_text()
    assert {p.name: p.read_bytes() for p in copy.iterdir() if p.name not in
            ("comparison.csv", "meta.json")} == before
    assert store.incomplete_reason(copy) is None  # complete again: digest and seal true


def test_rejudging_what_cannot_be_judged_says_why(tmp_path):
    with pytest.raises(rejudge.RejudgeError, match="meta.json"):
        rejudge.rejudge(tmp_path)
    (tmp_path / "meta.json").write_text(json.dumps({"settings": {"experiment": "nosuch"}}))
    with pytest.raises(rejudge.RejudgeError, match="no experiment 'nosuch'"):
        rejudge.rejudge(tmp_path)
    folder = next(f for f in RECORDED if f.name == "dropout_seed")
    copy = tmp_path / "renamed_knob"
    shutil.copytree(folder, copy)
    meta = json.loads((copy / "meta.json").read_text())
    meta["settings"]["no_such_knob"] = 1
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(rejudge.RejudgeError, match="no_such_knob"):
        rejudge.rejudge(copy)
    with pytest.raises(rejudge.RejudgeError, match="no recorded run"):
        rejudge.rejudge_all(tmp_path, ["absent"])
