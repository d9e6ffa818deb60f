from __future__ import annotations

from tests.conftest import Api


def test_ping_needs_credentials(api: Api) -> None:
    response = api.get("/api/ping", as_=None)
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Unauthorized"}


def test_customer_round_trip(api: Api) -> None:
    created = api.post("/api/customers", json={"name": "Acme", "visible": True})
    assert created.status_code == 200, created.text
    customer = created.json()
    assert customer["number"] == "0002"
    assert api.get(f"/api/customers/{customer['id']}").json() == customer
    assert [c["name"] for c in api.get("/api/customers").json()] == ["Acme"]
