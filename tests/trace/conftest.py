"""A harvest ready to be batched, and the organisations a batch travels through."""
import pytest

from tests.helpers import Journey


@pytest.fixture
def journey(world):
    return Journey(world)
