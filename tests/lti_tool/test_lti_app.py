"""The app factory: configuration from the environment, migrations, the embedded outbox thread, editing."""

import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine

from lti_tool import create_app
from lti_tool.app import tool_of
from lti_tool.store import Base

INSTRUCTOR = {
    "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]
}


def test_config_comes_from_environment_and_secret_persists(tmp_path, monkeypatch):
    monkeypatch.setenv("CE_CREDIT_INSTANCE", str(tmp_path / "inst"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("CE_CREDIT_SECRET_KEY", raising=False)
    app = create_app({"OUTBOX_THREAD": False})
    assert app.config["DATABASE_URL"].endswith("env.db") and app.instance_path == str(tmp_path / "inst")
    secret = app.config["SECRET_KEY"]
    assert len(secret) == 64 and (tmp_path / "inst" / "secret_key").read_text() == secret
    assert create_app({"OUTBOX_THREAD": False}).config["SECRET_KEY"] == secret  # every worker shares it
    monkeypatch.setenv("CE_CREDIT_SECRET_KEY", "from-env")
    assert create_app({"OUTBOX_THREAD": False}).config["SECRET_KEY"] == "from-env"


def test_migrations_match_the_models(tmp_path, monkeypatch):
    from ce_xblock.cli import main

    url = f"sqlite:///{tmp_path / 'm.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CE_CREDIT_INSTANCE", str(tmp_path / "inst"))
    out = CliRunner().invoke(main, ["db", "upgrade"])
    assert out.exit_code == 0, out.output
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


@pytest.fixture
def app_config(app_config):
    # This module's app runs the embedded default's outbox thread.
    return {**app_config, "OUTBOX_THREAD": True, "OUTBOX_INTERVAL": 0.2}


def test_embedded_outbox_thread_sends_the_grade(lti, client, app, platform, examples, launch_id_from):
    from ce_xblock.core import olx

    assert tool_of(app).outbox_thread.is_alive()
    lid = launch_id_from(lti.full_launch(**INSTRUCTOR).get_data(as_text=True))
    text = (examples / "telehealth-ethics.xml").read_text()
    client.post(f"/lti/instructor/{lid}/olx", data={"olx": text}, base_url="https://tool.test")
    activity = olx.loads(text)
    launch_id = launch_id_from(lti.full_launch(sub="t1").get_data(as_text=True))
    form = client.post(f"/lti/api/{launch_id}", json={"action": "start"}, base_url="https://tool.test").get_json()[
        "form"
    ]
    responses = {q["id"]: sorted(activity.question(q["id"]).correct_ids) for q in form["questions"]}
    client.post(
        f"/lti/api/{launch_id}",
        json={"action": "submit", "payload": {"attempt": 1, "responses": responses}},
        base_url="https://tool.test",
    )
    deadline = time.time() + 15
    while not platform.scores and time.time() < deadline:
        time.sleep(0.1)
    assert [s["userId"] for s in platform.scores] == ["t1"]


def test_instructor_edit_changes_what_learners_see(lti, client, examples, launch_id_from):
    import html
    import re

    lid = launch_id_from(lti.full_launch(**INSTRUCTOR).get_data(as_text=True))
    text = (examples / "telehealth-ethics.xml").read_text()
    client.post(f"/lti/instructor/{lid}/olx", data={"olx": text}, base_url="https://tool.test")
    edited = re.sub(r'display_name="[^"]*"', 'display_name="Telehealth Ethics, Revised"', text, count=1)
    page = client.post(f"/lti/instructor/{lid}/olx", data={"olx": edited}, base_url="https://tool.test")
    assert page.status_code == 200 and "Telehealth Ethics, Revised" in html.unescape(page.get_data(as_text=True))
    learner = html.unescape(lti.full_launch(sub="z").get_data(as_text=True))
    assert "Telehealth Ethics, Revised" in learner
    # An edit that breaks a rule is refused with the problem, and the activity is unchanged.
    broken = edited.replace('pass_mark="75"', 'pass_mark="0"')
    page = client.post(f"/lti/instructor/{lid}/olx", data={"olx": broken}, base_url="https://tool.test")
    assert page.status_code == 422 and "pass mark" in page.get_data(as_text=True)
