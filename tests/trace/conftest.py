"""A harvest ready to be batched, and the organisations a batch travels through."""
import datetime as dt

import pytest

from tests.conftest import PASSWORD

TZ = dt.timezone(dt.timedelta(hours=8))


class Journey:
    def __init__(self, world):
        from farms import service as farms
        from web.accounts import service as accounts

        self.world = world
        self.now = dt.datetime.now(TZ).replace(microsecond=0)
        self.retailer = accounts.create_organisation("南昌果品超市", "retailer", division_code="360121")
        self.processor = accounts.create_organisation("赣南果汁厂", "processor", division_code="360722")
        self.retail_user = accounts.create_user("retail1", PASSWORD, "operator", organisation=self.retailer)
        self.processor_user = accounts.create_user("juice1", PASSWORD, "operator", organisation=self.processor)
        self.harvest = farms.create_log(world.farmer_a, world.farm_a, {
            "kind": "harvest", "timestamp": self.now - dt.timedelta(days=3), "plots": [world.plot_a.id],
            "planting": world.planting_a.id, "quantity": 5000, "unit": "kg", "lot_number": "XF-2611-01"})

    def at(self, days_ago, hours=0):
        return self.now - dt.timedelta(days=days_ago, hours=hours)


@pytest.fixture
def journey(world):
    return Journey(world)
