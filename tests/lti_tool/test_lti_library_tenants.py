"""One tool, several platforms: each platform's instructors have their own activities beside the
shared library, and can neither see nor change another platform's."""

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from lti_tool.app import tool_of
from lti_tool.registry import add_platform

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
INSTRUCTOR = {CLAIM + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]}
SLUG = "telehealth-ethics"
BASE = "https://tool.test"


@pytest.fixture
def other_platform(app, platform):
    p = type(platform)()  # conftest's TestPlatform: a second platform on 127.0.0.1
    add_platform(app, **{**p.registration(), "name": "Other platform"})
    yield p
    p.close()


@pytest.fixture
def shared(app, examples):
    """The administrator's import (`ce-credit library import`): the shared library."""
    from lti_tool.views.instructor import save_olx

    with app.test_request_context():
        row, problems = save_olx((examples / f"{SLUG}.xml").read_text())
    assert row is not None and row.owner_id == 0, problems
    return row


def _instructor(flow, link: str, **claims) -> str:
    page = flow.full_launch(**INSTRUCTOR, **{CLAIM + "resource_link": {"id": link}}, **claims).get_data(as_text=True)
    return re.search(r"/lti/instructor/([A-Za-z0-9_-]+)", page).group(1)


def _own_copy(examples, title: str, slug: str = SLUG) -> str:
    olx = (examples / f"{SLUG}.xml").read_text()
    olx = re.sub(r'display_name="[^"]*"', f'display_name="{title}"', olx, count=1)
    return olx.replace(f'id="{SLUG}"', f'id="{slug}"', 1) if slug != SLUG else olx


def _learner_title(flow, link: str) -> str:
    page = flow.full_launch(
        sub="learner-" + link, **{CLAIM + "resource_link": {"id": link}, CLAIM + "custom": {"ce_activity": SLUG}}
    ).get_data(as_text=True)
    return page


def test_an_instructor_edit_of_a_shared_activity_is_their_platform_s_copy_only(
    app, client, lti, other_platform, shared, examples
):
    a, b = lti, type(lti)(client, other_platform)
    lid_a = _instructor(a, "a-link")
    resp = client.post(
        f"/lti/instructor/{lid_a}/olx", data={"olx": _own_copy(examples, "Platform A edition")}, base_url=BASE
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    # Platform A's learners get A's copy; platform B's still get the shared activity as imported.
    assert "Platform A edition" in _learner_title(a, "a-learn")
    page_b = _learner_title(b, "b-learn")
    assert "Platform A edition" not in page_b and shared.title in page_b
    # Each platform's library lists the slug once, as that platform sees it.
    lid_b = _instructor(b, "b-link")
    lib_a = client.get(f"/lti/instructor/{lid_a}", base_url=BASE).get_data(as_text=True)
    lib_b = client.get(f"/lti/instructor/{lid_b}", base_url=BASE).get_data(as_text=True)
    assert "Platform A edition" in lib_a and "Platform A edition" not in lib_b
    # and says whose each one is: A's own copy, the shared one for B
    assert re.search(rf"Platform A edition \({SLUG}, made on this platform\)</option>", lib_a), lib_a
    assert re.search(rf"\({SLUG}, shared library\)</option>", lib_b) and "made on this platform" not in lib_b
    # A link that uses the activity says so above its editor.
    chosen_a = client.post(f"/lti/instructor/{lid_a}/choose", data={"activity": SLUG}, base_url=BASE)
    chosen_b = client.post(f"/lti/instructor/{lid_b}/choose", data={"activity": SLUG}, base_url=BASE)
    assert chosen_a.status_code == chosen_b.status_code == 302  # back to the instructor page
    assert "Made on this platform" in client.get(f"/lti/instructor/{lid_a}", base_url=BASE).get_data(as_text=True)
    assert "From the shared library" in client.get(f"/lti/instructor/{lid_b}", base_url=BASE).get_data(as_text=True)
    # The exported OLX is each platform's own version.
    assert "Platform A edition" in client.get(f"/lti/instructor/{lid_a}/olx/{SLUG}", base_url=BASE).get_data(
        as_text=True
    )
    assert "Platform A edition" not in client.get(f"/lti/instructor/{lid_b}/olx/{SLUG}", base_url=BASE).get_data(
        as_text=True
    )
    with tool_of(app).sessions() as s:
        owners = s.execute(
            text("SELECT owner_id, title FROM ce_activity WHERE slug = :s ORDER BY owner_id"), {"s": SLUG}
        )
        rows = list(owners)
    assert [r[0] for r in rows][0] == 0 and len(rows) == 2 and rows[0][1] == shared.title


def test_a_platform_s_own_activity_is_invisible_and_unusable_from_another_platform(
    app, client, lti, other_platform, examples
):
    a, b = lti, type(lti)(client, other_platform)
    lid_a = _instructor(a, "a-link")
    mine = _own_copy(examples, "Only for A", slug="a-only")
    assert client.post(f"/lti/instructor/{lid_a}/olx", data={"olx": mine}, base_url=BASE).status_code == 200
    lid_b = _instructor(b, "b-link")
    assert "Only for A" not in client.get(f"/lti/instructor/{lid_b}", base_url=BASE).get_data(as_text=True)
    # Choosing it, exporting it or launching a link that names it all fail from platform B.
    resp = client.post(f"/lti/instructor/{lid_b}/choose", data={"activity": "a-only"}, base_url=BASE)
    assert resp.status_code == 400 and "a-only" in resp.get_data(as_text=True)
    assert client.get(f"/lti/instructor/{lid_b}/olx/a-only", base_url=BASE).status_code == 404
    page = b.full_launch(
        sub="intruder", **{CLAIM + "resource_link": {"id": "b-forged"}, CLAIM + "custom": {"ce_activity": "a-only"}}
    ).get_data(as_text=True)
    assert "Only for A" not in page
    # Platform A's own learners do get it.
    page = a.full_launch(
        sub="a-learner", **{CLAIM + "resource_link": {"id": "a-new"}, CLAIM + "custom": {"ce_activity": "a-only"}}
    ).get_data(as_text=True)
    assert "Only for A" in page


def test_library_list_names_each_activity_s_owner(
    app, client, lti, platform, shared, examples, app_config, monkeypatch
):
    from ce_xblock.cli import main

    lid = _instructor(lti, "a-link")
    client.post(f"/lti/instructor/{lid}/olx", data={"olx": _own_copy(examples, "Own")}, base_url=BASE)
    monkeypatch.setenv("DATABASE_URL", app_config["DATABASE_URL"])
    monkeypatch.setenv("CE_CREDIT_INSTANCE", app_config["INSTANCE_PATH"])
    out = CliRunner().invoke(main, ["library", "list"])
    assert out.exit_code == 0, out.output
    lines = [x for x in out.output.splitlines() if x.startswith(SLUG)]
    assert len(lines) == 2 and lines[0].endswith("[shared]")
    assert platform.issuer in lines[1] and platform.client_id in lines[1]


@pytest.fixture
def empty_pg(pg_url):
    """A database of its own: the session's pg_url already holds the tables at their newest."""
    import uuid

    admin = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    name = "ce_migrate_" + uuid.uuid4().hex[:10]
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield pg_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + "/" + name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_migrating_an_existing_library_makes_it_the_shared_library(db, tmp_path, request):
    from lti_tool import migrate

    url = f"sqlite:///{tmp_path / 'old.db'}" if db == "sqlite" else request.getfixturevalue("empty_pg")
    migrate.upgrade(url, revision="0006_lineitem_claim")
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO ce_activity (slug, title, version, olx, created_at, updated_at) "
                "VALUES ('old-one', 'Old', '1', '<x/>', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    migrate.upgrade(url)
    with engine.begin() as c:
        assert list(c.execute(text("SELECT owner_id, slug FROM ce_activity"))) == [(0, "old-one")]
        # The same id may now exist once per owner, and still only once per owner.
        c.execute(
            text(
                "INSERT INTO ce_activity (owner_id, slug, title, version, olx, created_at, updated_at) "
                "VALUES (7, 'old-one', 'Mine', '1', '<x/>', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    with pytest.raises(Exception, match="(?i)unique"), engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO ce_activity (owner_id, slug, title, version, olx, created_at, updated_at) "
                "VALUES (7, 'old-one', 'Twice', '1', '<x/>', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()
