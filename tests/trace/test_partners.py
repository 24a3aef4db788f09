"""The directory of trading partners: an operator adds a buyer while shipping to it, and the buyer's people
claim it later by invitation. Through the pages, as the cooperative's operator and the buyer's manager."""
import re

from tests.helpers import PASSWORD, login
from trace import service as trace
from trace.models import Batch, Event
from web.accounts.models import Invitation, Organisation, User

BUYER = "赣州鲜果批发行"


def _text(response):
    return response.get_data(as_text=True)


def _meta_token(page):
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def _token(page):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def _ship(client, batch, journey, **fields):
    page = _text(client.get(f"/batches/{batch.id}"))
    data = {"event-csrf_token": _meta_token(page), "event-biz_step": "shipping",
            "event-event_time": journey.at(1).strftime("%Y-%m-%dT%H:%M"), "event-place": "信丰冷库"}
    data.update({f"event-{k}": v for k, v in fields.items()})
    return client.post(f"/batches/{batch.id}/events", data=data)


def _shipments(batch):
    return Event.select().where((Event.batch == batch) & (Event.biz_step == "shipping")).count()


def test_an_operator_adds_a_buyer_while_shipping_and_the_buyer_claims_it(app, client, world, journey):
    with app.test_request_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id})
    login(client, "operator")
    page = _text(client.get(f"/batches/{batch.id}"))
    assert 'name="event-new_destination"' in page and "或填写新买家名称" in page

    both = _ship(client, batch, journey, destination=journey.retailer.id, new_destination=BUYER)
    assert both.status_code == 422 and "二者选一" in _text(both)
    assert _shipments(batch) == 0 and not Organisation.select().where(Organisation.name == BUYER).exists()

    shipped = _ship(client, batch, journey, new_destination=BUYER, new_destination_kind="buyer")
    assert shipped.status_code == 302, _text(shipped)[:2000]
    buyer = Organisation.get(Organisation.name == BUYER)
    assert (buyer.kind, buyer.added_by_id) == ("buyer", world.operator.organisation_id)
    assert Batch.get_by_id(batch.id).destination_id == buyer.id
    assert BUYER in _text(client.application.test_client().get(f"/t/{batch.code}"))  # the journey names it

    # Named again as new, it is refused and nothing is recorded: it is in the list now.
    again = _ship(client, batch, journey, new_destination=BUYER)
    assert again.status_code == 422 and _shipments(batch) == 1
    assert "该单位已在名录中，请从列表中选择" in _text(again)
    assert Organisation.select().where(Organisation.name == BUYER).count() == 1

    directory = _text(client.get("/organisations/"))
    entry = re.search(rf'<li><a href="/organisations/{buyer.id}">{BUYER}</a>(.*?)</li>', directory, re.S)
    assert entry and "买家" in entry.group(1) and "尚无人加入" in entry.group(1)

    # The cooperative's manager invites the buyer's manager, who claims the organisation by accepting.
    from web.accounts import service as accounts

    accounts.create_user("buyer1", PASSWORD, "farmer")  # an account an administrator made, in no organisation yet
    page = _text(client.get(f"/organisations/{buyer.id}"))
    assert "还没有人加入" in page and 'name="username"' in page
    assert '<option selected value="manager">' in page  # the first to join claims it
    invited = client.post(f"/organisations/{buyer.id}", data={"csrf_token": _token(page), "username": "buyer1",
                                                              "role": "manager"})
    assert invited.status_code == 302
    invitation = Invitation.get(Invitation.organisation == buyer)
    buyer_client = client.application.test_client()
    login(buyer_client, "buyer1")
    account = _text(buyer_client.get("/account"))
    assert BUYER in account
    accepted = buyer_client.post(f"/invitations/{invitation.id}/accept", data={"csrf_token": _meta_token(account)})
    assert accepted.status_code == 302
    assert (User.get(User.username == "buyer1").organisation_id, User.get(User.username == "buyer1")
            .organisation_role) == (buyer.id, "manager")

    # Claimed: its own manager runs it now, the cooperative no longer invites into it.
    page = _text(client.get(f"/organisations/{buyer.id}"))
    assert 'name="username"' not in page and "尚无人加入" not in _text(client.get("/organisations/"))
    refused = client.post(f"/organisations/{buyer.id}", data={"csrf_token": _meta_token(page),
                                                              "username": "stranger", "role": "member"})
    assert refused.status_code == 403
    assert 'name="username"' in _text(buyer_client.get(f"/organisations/{buyer.id}"))
    # And the buyer receives the batch it was shipped.
    page = _text(buyer_client.get(f"/batches/{batch.id}"))
    received = buyer_client.post(f"/batches/{batch.id}/events", data={
        "event-csrf_token": _meta_token(page), "event-biz_step": "receiving",
        "event-event_time": journey.at(0, 2).strftime("%Y-%m-%dT%H:%M"), "event-place": "赣州鲜果批发市场"})
    assert received.status_code == 302, _text(received)[:2000]
    assert Batch.get_by_id(batch.id).holder_id == buyer.id


def test_the_directory_refuses_what_it_should(app, client, world, journey):
    login(client, "operator")
    page = _text(client.get("/organisations/"))
    token = _token(page)
    bad = client.post("/organisations/", data={"csrf_token": token, "name": "", "kind": "bureau"})
    assert bad.status_code == 422 and not Organisation.select().where(Organisation.kind == "bureau",
                                                                      Organisation.added_by.is_null(False)).exists()
    taken = client.post("/organisations/", data={"csrf_token": token, "name": "南昌果品超市", "kind": "retailer"})
    assert taken.status_code == 422 and "已在名录中" in _text(taken)
    added = client.post("/organisations/", data={"csrf_token": token, "name": "赣南冷链物流", "kind": "logistics",
                                                 "contact_phone": "0797-8123456"})
    assert added.status_code == 302
    logistics = Organisation.get(Organisation.name == "赣南冷链物流")
    assert added.headers["Location"] == f"/organisations/{logistics.id}" and logistics.contact_phone == "0797-8123456"

    loner = client.application.test_client()
    login(loner, "stranger")  # a farmer in no organisation
    listing = _text(loner.get("/organisations/"))
    assert "赣南冷链物流" in listing and 'name="name"' not in listing
    assert loner.post("/organisations/", data={"csrf_token": _meta_token(listing), "name": "X",
                                               "kind": "buyer"}).status_code == 403
    # Nobody but the adding organisation's managers invites into an unclaimed partner.
    page = _text(loner.get(f"/organisations/{logistics.id}"))
    assert 'name="username"' not in page
    assert loner.post(f"/organisations/{logistics.id}", data={"csrf_token": _meta_token(page),
                                                              "username": "stranger"}).status_code == 403
    assert client.get("/organisations/999999").status_code == 404
    assert client.application.test_client().get("/organisations/").status_code in (302, 401)
