"""The alert life cycle's transition table, row by row, and every pair it forbids."""

from __future__ import annotations

import itertools

import pytest

from airpicture.threat.lifecycle import (
    CLOSED,
    EVENTS,
    TRANSITIONS,
    Alert,
    Cancelled,
    Event,
    FellAtSea,
    ImpactAreaIssued,
    LaunchDeclared,
    LifecycleError,
    NoPrediction,
    PassedOver,
    State,
    Tracked,
    UpdateIssued,
    next_state,
)
from airpicture.threat.warning import CLOSING_KINDS

FORBIDDEN = [
    (state, event)
    for state, event in itertools.product(State, EVENTS)
    if (state, event) not in TRANSITIONS
]


@pytest.mark.parametrize(("state", "event"), list(TRANSITIONS), ids=str)
def test_each_row_of_the_table_moves_the_alert(state: State, event: type[Event]) -> None:
    alert = Alert("W1", state=state, sequence=3)
    assert alert.apply(event, 10.0) is TRANSITIONS[(state, event)]
    assert alert.state is TRANSITIONS[(state, event)]
    # A row is counted only for events that issue one.
    assert alert.sequence == 3 + (event.kind is not None)


@pytest.mark.parametrize(("state", "event"), FORBIDDEN, ids=str)
def test_every_pair_not_in_the_table_is_refused_with_its_data(
    state: State, event: type[Event]
) -> None:
    alert = Alert("W1", state=state, sequence=2)
    with pytest.raises(LifecycleError) as info:
        alert.apply(event, 10.0)
    assert (info.value.warning_id, info.value.state, info.value.event) == ("W1", state, event)
    assert alert.state is state and alert.sequence == 2  # nothing changed


def test_closed_states_are_final_and_closing_rows_close() -> None:
    for state in CLOSED:
        assert not any((state, event) in TRANSITIONS for event in EVENTS)
    closing_events = {event.kind for (_, event), new in TRANSITIONS.items() if new in CLOSED}
    assert closing_events == CLOSING_KINDS


def test_every_open_state_can_be_cancelled_and_reached_from_new() -> None:
    reachable = {State.NEW}
    while True:
        more = {new for (state, _), new in TRANSITIONS.items() if state in reachable}
        if more <= reachable:
            break
        reachable |= more
    assert reachable == set(State)
    for state in set(State) - CLOSED:
        assert next_state(state, Cancelled) is State.CANCELLED


def test_a_ballistic_alert_from_launch_to_fall() -> None:
    alert = Alert("USA-L001")
    path = [LaunchDeclared, Tracked, NoPrediction, ImpactAreaIssued, UpdateIssued, PassedOver,
            UpdateIssued, FellAtSea]  # fmt: skip
    states = [alert.apply(event, float(t)) for t, event in enumerate(path)]
    assert states == [State.LAUNCH_DETECTED, State.TRACKED, State.REPORTED, State.WARNED,
                      State.UPDATED, State.OVERFLIGHT, State.UPDATED, State.FELL]  # fmt: skip
    assert alert.closed and alert.sequence == 7  # Tracked issues no row
    assert alert.history == list(enumerate(states))
    with pytest.raises(LifecycleError, match="USA-L001"):
        alert.apply(UpdateIssued, 9.0)


def test_recipients_only_grow() -> None:
    alert = Alert("USA-L001")
    assert alert.tell(("USA", "JPN", "AUS")) == ("USA", "JPN", "AUS")
    assert alert.tell(("USA",)) == ("USA", "JPN", "AUS")
