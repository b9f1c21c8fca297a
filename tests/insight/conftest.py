import pytest

from .dataset import build_network_data


@pytest.fixture
def network_data(db):
    """The hand-checked network of dataset.py."""
    return build_network_data()
