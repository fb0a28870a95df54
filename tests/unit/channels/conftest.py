"""Fixtures of the channel tests: one HTTP session, the national and partner adapters on it, a national CAP
receiver."""
from __future__ import annotations

import pytest
import requests

from channels.national import NationalChannel
from channels.partners import PartnerChannel
from devtools.fakes.cap_receiver import CapReceiver


@pytest.fixture
def session():
    with requests.Session() as session:
        yield session


@pytest.fixture
def national(session):
    return NationalChannel(session, timeout=0.5, connect_timeout=0.5)


@pytest.fixture
def partners(session):
    return PartnerChannel(session, timeout=0.5, allow_private=True)


@pytest.fixture
def cap_fake():
    with CapReceiver() as fake:
        yield fake
