"""GET /api/jobs/{name}/autolabel: who may read it, and its shape without iterations."""

from __future__ import annotations

from support import bearer


def test_report_over_http(ws, setup_factory, client):
    setup = setup_factory(ws, n_items=20, n_workers=1)
    setup.job("plain")
    setup.job("auto", workers_per_item=1, settings={"auto_label": {"target_accuracy": 0.9}})
    admin = bearer(setup.admin_token)
    r = client.get("/api/jobs/plain/autolabel", headers=admin)
    assert r.status_code == 200
    assert r.json() == {"enabled": False, "settings": None, "iterations": [], "pending": None}
    r = client.get("/api/jobs/auto/autolabel", headers=admin)
    body = r.json()
    assert body["enabled"] and body["settings"]["target_accuracy"] == 0.9
    # The server's executor may already have run the first iteration (seeding priorities).
    assert all(i["auto_labeled"] == 0 for i in body["iterations"])
    assert body["pending"] is None or body["pending"]["state"] in ("queued", "running")
    r = client.get("/api/jobs/missing/autolabel", headers=admin)
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    worker = bearer(setup.worker_tokens["w00"])
    assert client.get("/api/jobs/auto/autolabel", headers=worker).status_code == 403


def test_sdk_reads_the_report_and_names_a_missing_model(ws, setup_factory, client, tmp_path):
    import pytest

    from truthset.sdk.client import Client, TruthsetError

    setup = setup_factory(ws, n_items=20, n_workers=1)
    setup.job("auto", workers_per_item=1, settings={"auto_label": True})
    sdk = Client("http://testserver", setup.admin_token, http=client)
    client.headers["Authorization"] = f"Bearer {setup.admin_token}"
    assert sdk.autolabel_report("auto")["enabled"] is True
    with pytest.raises(TruthsetError) as raised:
        sdk.download_model("auto", tmp_path / "m.joblib")
    assert raised.value.status == 404 and "not trained" in str(raised.value.detail)
    assert not (tmp_path / "m.joblib").exists()
