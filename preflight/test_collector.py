"""The collector is paused only while preflight works on a stack, and always comes back as it was."""

from __future__ import annotations

import gc

import pytest

from preflight import collector
from preflight.engine import ProgramError
from preflight.testing import render


def test_paused_turns_the_collector_off_and_back_on():
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "an inner pause must not restart the collector inside an outer one"
    assert gc.isenabled()


def test_paused_restores_the_collector_when_the_work_fails():
    with pytest.raises(ValueError), collector.paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_paused_leaves_a_collector_the_caller_turned_off_alone():
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_render_runs_with_the_collector_paused_and_restores_it_even_when_the_program_fails():
    seen = []
    render(lambda: seen.append(gc.isenabled()))
    assert seen == [False] and gc.isenabled()

    def failing() -> None:
        raise RuntimeError("the program broke")

    with pytest.raises(ProgramError):
        render(failing)
    assert gc.isenabled()
