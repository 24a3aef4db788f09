import pytest


@pytest.fixture
def greenhouse(app, world):
    """A greenhouse on farm A with a device reporting air and soil metrics; returns (plot, device, token)."""
    from farms import service as farms
    from sensors import service

    plot = farms.create_plot(world.farmer_a, world.farm_a, {"name": "1号大棚", "kind": "greenhouse", "area": 1})
    with app.test_request_context():
        device, token = service.create_device(world.farmer_a, plot.id, "大棚气象站", [
            "air_temperature", "air_humidity", "co2", "soil_moisture", "soil_temperature", "soil_ec"],
            uid="gh1-station")
    return plot, device, token
