"""A traced batch whose journey is anchored on a chain: in process (eth-tester) or a real anvil."""
import pytest
from eth_account import Account

from tests.helpers import Journey, bearer

# A fixed admin for the in-process chain (funded by the test); never a real key.
TEST_ADMIN_KEY = "0x" + "42" * 32


class Anchored:
    """The journey test's batch: harvested, shipped by the co-op, received by the supermarket."""

    def __init__(self, app, client, world, journey):
        self.app, self.client, self.world, self.journey = app, client, world, journey
        farmer, coop, retail = bearer(world.farmer_a), bearer(world.operator), bearer(journey.retail_user)
        batch = client.post("/api/v1/batches", headers=farmer, json={"harvest_log": journey.harvest.id})
        assert batch.status_code == 201, batch.json
        self.batch = batch.json
        for headers, body in ((coop, {"biz_step": "storing", "event_time": journey.at(2, hours=6).isoformat(),
                                      "place": "信丰冷库"}),
                              (world.inspector and bearer(world.inspector),
                               {"biz_step": "inspecting", "event_time": journey.at(2, hours=3).isoformat(),
                                "passed": True, "items": [{"name": "毒死蜱", "result": 0.01, "limit": 0.05}]}),
                              (coop, {"biz_step": "shipping", "event_time": journey.at(2).isoformat(),
                                      "destination": journey.retailer.id}),
                              (retail, {"biz_step": "receiving", "event_time": journey.at(1).isoformat()})):
            response = client.post(f"/api/v1/batches/{self.batch['id']}/events", headers=headers, json=body)
            assert response.status_code == 201, response.json
        self.admin = bearer(world.admin)

    def cli(self, *args):
        result = self.app.test_cli_runner().invoke(args=list(args))
        assert result.exit_code == 0, result.output
        return result.output

    def verification(self):
        response = self.client.get(f"/api/v1/batches/{self.batch['id']}/verification", headers=self.admin)
        assert response.status_code == 200, response.json
        return response.json

    def page(self):
        return self.client.get(f"/t/{self.batch['code']}").get_data(as_text=True)


@pytest.fixture
def in_process_chain(app):
    """The app on the in-process chain, with the registry deployed and an admin that holds ether."""
    from chain import service

    app.config.update(CHAIN_RPC_URL=service.IN_PROCESS, CHAIN_ADMIN_KEY=TEST_ADMIN_KEY, CHAIN_CONFIRMATIONS=0)
    with app.app_context():
        w3 = service.web3()
        admin = Account.from_key(TEST_ADMIN_KEY)
        if w3.eth.get_balance(admin.address) < 10 ** 20:
            w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": admin.address, "value": 10 ** 21})
    return app


@pytest.fixture
def anchored(in_process_chain, client, world, journey):
    return Anchored(in_process_chain, client, world, journey)


@pytest.fixture
def journey(world):
    return Journey(world)
