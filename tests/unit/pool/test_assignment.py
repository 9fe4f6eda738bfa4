"""The pool's camera → worker assignment: stable, complete, minimal moves (property tests)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from camops_operator.assignment import Assignment, assign, capacity_left, moves, worker_of, workers_needed

NAMES = st.sets(st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True), max_size=40)
PER_WORKER = st.integers(min_value=1, max_value=7)


def _flat(assignment: Assignment) -> list[str]:
    return [name for members in assignment for name in members]


@st.composite
def histories(draw: st.DrawFn) -> tuple[Assignment, set[str], int, int]:
    """A previous assignment reached by assign() itself, then a new camera set and per_worker."""
    per_before = draw(PER_WORKER)
    previous: Assignment = ()
    for cameras in draw(st.lists(NAMES, min_size=1, max_size=4)):
        previous = assign(previous, cameras, per_before)
    return previous, draw(NAMES), per_before, draw(PER_WORKER)


@settings(max_examples=120, deadline=None)
@given(histories())
def test_every_camera_on_exactly_one_worker_within_capacity(case: tuple[Assignment, set[str], int, int]) -> None:
    previous, cameras, _, per = case
    after = assign(previous, cameras, per)
    flat = _flat(after)
    assert sorted(flat) == sorted(cameras), "a camera is missing, unknown or on two workers"
    assert all(len(members) <= per for members in after)
    assert not after or after[-1], "the pool keeps an empty worker at its end"


@settings(max_examples=120, deadline=None)
@given(histories())
def test_cameras_keep_their_worker_unless_capacity_went_down(case: tuple[Assignment, set[str], int, int]) -> None:
    previous, cameras, per_before, per = case
    after = assign(previous, cameras, per)
    if per >= per_before:
        assert moves(previous, after) == 0
    else:  # only the excess of a worker over the new capacity moves
        excess = sum(max(0, len([c for c in m if c in cameras]) - per) for m in previous)
        assert moves(previous, after) == excess


@settings(max_examples=120, deadline=None)
@given(histories())
def test_new_cameras_fill_the_lowest_worker_with_room(case: tuple[Assignment, set[str], int, int]) -> None:
    previous, cameras, _, per = case
    after = assign(previous, cameras, per)
    before = set(_flat(previous))
    for name in cameras - before:
        ordinal = worker_of(after, name)
        assert ordinal is not None
        assert all(len(after[lower]) == per for lower in range(ordinal)), f"{name} skipped a worker with room"


@settings(max_examples=100, deadline=None)
@given(NAMES, PER_WORKER)
def test_from_scratch_the_pool_has_the_fewest_workers(cameras: set[str], per: int) -> None:
    after = assign((), cameras, per)
    assert len(after) == workers_needed(len(cameras), per)
    assert capacity_left(after, per) == len(after) * per - len(cameras)


def test_a_removed_camera_frees_its_slot_for_the_next_one() -> None:
    first = assign((), ["a", "b", "c", "d", "e"], 2)
    assert first == (("a", "b"), ("c", "d"), ("e",))
    second = assign(first, ["a", "b", "d", "e", "z"], 2)
    assert second == (("a", "b"), ("d", "z"), ("e",))


def test_shrinks_only_from_the_end() -> None:
    before = (("a", "b"), ("c", "d"), ("e",))
    assert assign(before, ["c", "d", "e"], 2) == ((), ("c", "d"), ("e",))
    assert assign(before, ["a", "b", "c"], 2) == (("a", "b"), ("c",))
