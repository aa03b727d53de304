"""The time of a run summed over the sessions that worked on its key
(:mod:`hpostudy.study.session_time`): a resumed run's ``meta.json`` counts every session, a
killed session keeps what its clock last wrote, an unreadable file is moved aside."""
from __future__ import annotations

import json
import time

import pytest

from hpostudy.study import provenance
from hpostudy.study.session_time import TIMES, SessionClock


def _spin(cpu_seconds: float) -> None:
    end = time.process_time() + cpu_seconds
    while time.process_time() < end:
        pass


def test_sessions_of_one_key_are_summed(tmp_path):
    first = SessionClock(tmp_path, interval=0).start()
    _spin(0.2)
    first.stop()
    assert first.totals()["sessions"] == 1 and first.totals()["cpu_seconds"] >= 0.2

    second = SessionClock(tmp_path, interval=0).start()
    _spin(0.3)
    second.stop()
    sessions = json.loads((tmp_path / TIMES).read_text())["sessions"]
    assert len(sessions) == 2 and sessions[0] == first.session
    assert sessions[1]["cpu_seconds"] >= 0.3
    totals = second.totals()
    assert totals["sessions"] == 2
    assert totals["cpu_seconds"] == pytest.approx(sessions[0]["cpu_seconds"]
                                                  + sessions[1]["cpu_seconds"], abs=0.011)
    assert totals["seconds"] == pytest.approx(sessions[0]["seconds"] + sessions[1]["seconds"],
                                              abs=0.011)


def test_units_computed_in_other_processes_count_in_the_runs_cpu_time(tmp_path):
    """Under Ray, helpers compute units in their own processes: the executor reports each
    unit's CPU seconds (``add_elsewhere``) and they are the run's too (an entry written before
    the field existed counts none)."""
    (tmp_path / TIMES).write_text(json.dumps({"sessions": [
        {"started": "2026-01-01T00:00:00", "host": "old", "seconds": 10.0, "cpu_seconds": 4.0}]}))
    clock = SessionClock(tmp_path, interval=0).start()
    clock.add_elsewhere(1.5)
    clock.add_elsewhere(2.25)
    clock.stop()
    entry = json.loads((tmp_path / TIMES).read_text())["sessions"][1]
    assert entry["helpers_cpu_seconds"] == 3.75
    assert clock.totals()["cpu_seconds"] == pytest.approx(4.0 + entry["cpu_seconds"] + 3.75)
    assert clock.totals()["sessions"] == 2


def test_a_killed_session_keeps_what_its_clock_last_wrote(tmp_path):
    clock = SessionClock(tmp_path, interval=0.05).start()
    _spin(0.4)  # never stopped: as if killed; the background thread has rewritten the entry
    time.sleep(0.2)
    written = json.loads((tmp_path / TIMES).read_text())["sessions"]
    clock.stop()
    assert len(written) == 1 and written[0]["cpu_seconds"] >= 0.3


@pytest.mark.parametrize("content", ['{"sessions": [{"seconds": "x", "cpu_seconds": 1}]}',
                                     "{not json", '{"other": []}'])
def test_an_unreadable_time_file_is_moved_aside_with_a_warning(tmp_path, content):
    (tmp_path / TIMES).write_text(content)
    with pytest.warns(UserWarning, match="unreadable.*not counted"):
        clock = SessionClock(tmp_path, interval=0)
    assert clock.earlier == [] and not (tmp_path / TIMES).exists()
    assert [p.read_text() for p in tmp_path.glob(f"{TIMES}.unreadable-*")] == [content]
    clock.start().stop()
    assert clock.totals()["sessions"] == 1


def test_the_run_time_label_names_the_sessions_of_a_resumed_run():
    assert provenance.run_time_label(7200, 3600) == "2\u00a0h (60\u00a0min CPU)"
    assert provenance.run_time_label(7200, 3600, 3) == "2\u00a0h (60\u00a0min CPU, 3 sessions)"
    assert provenance.run_time_label(30, None, 2) == "30\u00a0s (2 sessions)"
