"""Probe the server with each nation's node and feed credentials: what is not theirs is refused.

For each user, every subject of every other nation (its link stream, its
internal subjects, its sensors), every link subject in any direction, and the
system account's requests: the server must refuse each publish and each
subscription that is not this user's, and allow exactly what the contract gives.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from airpicture.deploy import LINK_KINDS, Deployment, Role
from tests.deploy.helpers import connect

NATIONS = ("AUS", "JPN", "USA")
#: A subject nobody may use, probed last.
END = "ap.probe.end"


def _publish_targets() -> list[str]:
    links = [
        f"ap.link.{r}.{s}.{k}" for r, s in itertools.product(NATIONS, NATIONS) for k in LINK_KINDS
    ]
    others = [f"ap.{part}.{n}.probe" for part in ("node", "sensor") for n in NATIONS]
    return [*links, *others, "$SYS.REQ.SERVER.PING", "$JS.API.INFO"]


def _allowed_publish(d: Deployment, nation: str, role: Role, subject: str) -> bool:
    if role == "feed":
        return subject == f"ap.sensor.{nation}.probe"
    own = {f"ap.node.{nation}.probe", f"ap.sensor.{nation}.probe", "$JS.API.INFO"}
    imported = {r.subject for r in d.routes if r.sender == nation}
    return subject in own | imported


@pytest.mark.parametrize(("nation", "role"), list(itertools.product(NATIONS, ("node", "feed"))))
def test_every_publish_not_given_to_the_user_is_refused(
    pacific_up: Deployment, nation: str, role: Role
) -> None:
    async def main() -> list[str]:
        nc, errors = await connect(pacific_up, nation, role)
        for subject in [*_publish_targets(), END]:
            await nc.publish(subject, b"probe")
        # The server answers in order: once the last probe is refused, every answer is in.
        await errors.wait_for(f'permissions violation for publish to "{END}"')
        await nc.close()
        return errors.errors

    errors = asyncio.run(main())
    refused = {e.split('"')[1] for e in errors if "permissions violation for publish" in e}
    expected = {
        s.lower() for s in _publish_targets() if not _allowed_publish(pacific_up, nation, role, s)
    }
    assert refused == expected | {END}


@pytest.mark.parametrize(("nation", "role"), list(itertools.product(NATIONS, ("node", "feed"))))
def test_every_subscription_to_another_nations_subjects_is_refused(
    pacific_up: Deployment, nation: str, role: Role
) -> None:
    others = [n for n in NATIONS if n != nation]
    subjects = [f"ap.{part}.{n}.>" for part in ("link", "node", "sensor") for n in others] + [
        f"ap.link.{r}.{nation}.>" for r in others
    ]  # its own outgoing links, at the receiver

    async def main() -> list[str]:
        nc, errors = await connect(pacific_up, nation, role)
        for subject in [*subjects, END]:
            await nc.subscribe(subject)
        await errors.wait_for(f'permissions violation for subscription to "{END}"')
        await nc.close()
        return errors.errors

    errors = asyncio.run(main())
    refused = {e.split('"')[1] for e in errors if "permissions violation for subscription" in e}
    assert refused == {s.lower() for s in subjects} | {END}
