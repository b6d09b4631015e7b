"""The admin pages: who may use them, force scoping (another force's ids are 404), forces, users,
roles, line managers, org units and deactivation."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from flask.testing import FlaskClient

from engine import org
from engine.models import User
from web.extensions import unit_of_work

if TYPE_CHECKING:
    from conftest import AuthActions, Builder, People

ADMIN_PAGES = ["/admin/", "/admin/users", "/admin/forces", "/admin/org-units", "/admin/users/new"]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_send_signed_out_visitors_to_sign_in(
    client: FlaskClient, people: People, url: str,
) -> None:
    response = client.get(url)
    assert response.status_code == 302 and response.location.startswith("/auth/sign-in?next=")


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_refuse_people_without_an_admin_role(
    client: FlaskClient, auth: AuthActions, people: People, url: str,
) -> None:
    auth.login("jordan.hale")
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", ["/admin/users", "/admin/users/new", "/admin/org-units", "/admin/forces"])
def test_force_manager_reaches_their_own_force(
    client: FlaskClient, auth: AuthActions, people: People, url: str,
) -> None:
    auth.login("leanne.burke")
    assert client.get(url).status_code == 200


def test_force_manager_gets_404_for_another_forces_things(
    client: FlaskClient, auth: AuthActions, people: People,
) -> None:
    auth.login("leanne.burke")
    other = people.other_force_user
    urls = ["/admin/users?force=NTHN", "/admin/org-units?force=NTHN", "/admin/users/new?force=NTHN",
            "/admin/users?force=NOPE", f"/admin/users/{other}/edit", f"/admin/users/{other}/roles",
            f"/admin/users/{other}/deactivate"]
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/admin/users/{other}/reactivate").status_code == 404
    assert client.post(f"/admin/users/{other}/edit", data={"full_name": "Taken Over"}).status_code == 404


def test_force_manager_list_shows_only_their_force(
    client: FlaskClient, auth: AuthActions, people: People,
) -> None:
    auth.login("leanne.burke")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Jordan Hale" in page and "Mark Osei" not in page and "Ada Admin" not in page
    forces = client.get("/admin/forces").get_data(as_text=True)
    assert "CHES" in forces and "NTHN" not in forces and "Add a force" not in forces


def test_platform_admin_switches_between_all_forces(
    client: FlaskClient, auth: AuthActions, people: People,
) -> None:
    auth.login("ada.admin")
    assert "Mark Osei" in client.get("/admin/users?force=NTHN").get_data(as_text=True)
    assert "Ada Admin" in client.get("/admin/users").get_data(as_text=True)  # defaults to their own force


def test_platform_admin_adds_and_edits_a_force(
    client: FlaskClient, auth: AuthActions, people: People,
) -> None:
    auth.login("ada.admin")
    response = client.post("/admin/forces/new", data={"code": "NOTT", "name": "Nottinghamshire Police",
                                                      "parent": "MFSS"})
    assert response.status_code == 302
    response = client.post("/admin/forces/NOTT/edit", data={"name": "Notts Police", "parent": ""})
    assert response.status_code == 302
    page = client.get("/admin/forces").get_data(as_text=True)
    assert "Notts Police" in page and "Inactive" in page  # an unticked box deactivates


@pytest.mark.parametrize(("data", "message"), [
    ({"code": "notts", "name": "Nottinghamshire Police", "parent": ""}, "2 to 16 capital letters"),
    ({"code": "CHES", "name": "Cheshire again", "parent": ""}, "already exists"),
    ({"code": "NOTT", "name": "", "parent": ""}, "Enter the force&#39;s name"),
])
def test_bad_force_input_is_shown_on_the_form(
    client: FlaskClient, auth: AuthActions, people: People, data: dict[str, str], message: str,
) -> None:
    auth.login("ada.admin")
    response = client.post("/admin/forces/new", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_force_parent_loop_is_refused(client: FlaskClient, auth: AuthActions, people: People) -> None:
    auth.login("ada.admin")
    data = {"name": "Shared", "parent": "CHES", "active": "y"}
    response = client.post("/admin/forces/MFSS/edit", data=data)
    assert response.status_code == 422 and "loop" in response.get_data(as_text=True)


def test_force_manager_cannot_add_or_edit_forces(
    client: FlaskClient, auth: AuthActions, people: People,
) -> None:
    auth.login("leanne.burke")
    assert client.get("/admin/forces/new").status_code == 403
    assert client.post("/admin/forces/CHES/edit", data={"name": "Mine now", "parent": ""}).status_code == 403


def test_add_user_with_manager_unit_and_roles(
    client: FlaskClient, auth: AuthActions, build: Builder, people: People,
) -> None:
    unit = build.run(org.add_org_unit, "CHES", "Northwich LPU").id
    auth.login("leanne.burke")
    response = client.post("/admin/users/new?force=CHES", data={
        "username": "Aisha.Rahman", "full_name": "PS Aisha Rahman", "email": "aisha@example.police.uk",
        "manager": str(people.manager), "org_unit": str(unit), "password": "a good password",
        "roles": ["employee", "line_manager"],
    })
    assert response.status_code == 302 and response.location == "/admin/users?force=CHES"
    page = client.get("/admin/users").get_data(as_text=True)
    assert "PS Aisha Rahman" in page and "aisha.rahman" in page and "Northwich LPU" in page
    assert "line_manager" in page and "Leanne Burke" in page


def test_duplicate_username_is_shown_on_the_username_field(
    client: FlaskClient, auth: AuthActions, people: People,
) -> None:
    auth.login("leanne.burke")
    response = client.post("/admin/users/new", data={"username": "mark.osei", "full_name": "Another Mark",
                                                     "manager": "", "org_unit": ""})
    assert response.status_code == 422
    assert 'id="username-error"' in response.get_data(as_text=True)


def test_force_manager_cannot_make_a_platform_admin(
    client: FlaskClient, auth: AuthActions, people: People,
) -> None:
    auth.login("leanne.burke")
    data = {"username": "sneaky", "full_name": "Sneaky", "manager": "", "org_unit": "",
            "roles": ["platform_admin"]}
    response = client.post("/admin/users/new", data=data)
    assert response.status_code == 422
    response = client.post(f"/admin/users/{people.employee}/roles", data={"roles": ["platform_admin"]})
    assert response.status_code == 422
    assert not org.is_platform_admin(_user(client, people.employee))


def test_force_manager_cannot_touch_a_platform_admin_in_their_force(
    client: FlaskClient, auth: AuthActions, build: Builder, people: People,
) -> None:
    admin = build.user("ches.admin", "CHES", roles=("platform_admin",))
    auth.login("leanne.burke")
    assert client.get(f"/admin/users/{admin}/edit").status_code == 403
    assert client.post(f"/admin/users/{admin}/deactivate").status_code == 403


def test_edit_user_changes_details_and_refuses_a_manager_loop(
    client: FlaskClient, auth: AuthActions, build: Builder, people: People,
) -> None:
    report = build.user("aisha.rahman", "CHES", manager=people.employee)
    auth.login("leanne.burke")
    edit = f"/admin/users/{people.employee}/edit"
    ok = client.post(edit, data={"full_name": "PC Jordan Hale", "email": "", "manager": str(people.manager),
                                 "org_unit": ""})
    assert ok.status_code == 302
    assert "PC Jordan Hale" in client.get("/admin/users").get_data(as_text=True)
    loop = client.post(edit, data={"full_name": "PC Jordan Hale", "email": "", "manager": str(report),
                                   "org_unit": ""})
    assert loop.status_code == 422 and "reports to this person" in loop.get_data(as_text=True)


def test_deactivation_flags_open_items_and_the_list_shows_them(
    client: FlaskClient, auth: AuthActions, build: Builder, people: People,
) -> None:
    build.work_item("CHES", assignee_id=people.employee)
    build.work_item("CHES", candidate_user_id=people.employee)
    auth.login("leanne.burke")
    assert "Deactivate Jordan Hale?" in client.get(f"/admin/users/{people.employee}/deactivate").get_data(
        as_text=True)
    response = client.post(f"/admin/users/{people.employee}/deactivate", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "2 open work items flagged for reassignment" in page
    assert "2 items to reassign" in page and "Inactive" in page


def test_administrator_cannot_deactivate_themselves(
    client: FlaskClient, auth: AuthActions, people: People,
) -> None:
    auth.login("leanne.burke")
    assert client.post(f"/admin/users/{people.manager}/deactivate").status_code == 403


def test_reactivated_user_can_sign_in_again(
    client: FlaskClient, auth: AuthActions, build: Builder, people: People,
) -> None:
    build.run(org.deactivate_user, "CHES", people.employee)
    auth.login("leanne.burke")
    assert client.post(f"/admin/users/{people.employee}/reactivate").status_code == 302
    auth.logout()
    assert auth.login("jordan.hale").location == "/"


def test_roles_page_sets_own_force_roles_and_cross_force_grants(
    client: FlaskClient, auth: AuthActions, people: People,
) -> None:
    auth.login("ada.admin")
    roles = f"/admin/users/{people.employee}/roles"
    assert client.post(roles, data={"roles": ["employee", "ssc_ap_officer"]}).status_code == 302
    assert client.post(roles + "/grant", data={"role": "ssc_ap_officer", "force": "NTHN"}).status_code == 302
    user = _user(client, people.employee)
    assert {(g.role, g.force_code) for g in user.roles} == {
        ("employee", "CHES"), ("ssc_ap_officer", "CHES"), ("ssc_ap_officer", "NTHN")}
    assert client.post(roles + "/revoke", data={"role": "ssc_ap_officer", "force": "NTHN"}).status_code == 302
    grants = {(g.role, g.force_code) for g in _user(client, people.employee).roles}
    assert ("ssc_ap_officer", "NTHN") not in grants


def test_force_manager_cannot_grant_in_another_force(
    client: FlaskClient, auth: AuthActions, people: People,
) -> None:
    auth.login("leanne.burke")
    response = client.post(f"/admin/users/{people.employee}/roles/grant",
                           data={"role": "ssc_ap_officer", "force": "NTHN"})
    assert response.status_code == 422  # NTHN is not among the offered forces
    assert "NTHN" not in {g.force_code for g in _user(client, people.employee).roles}


def test_org_units_are_added_under_a_parent_and_named_once(
    client: FlaskClient, auth: AuthActions, people: People,
) -> None:
    auth.login("leanne.burke")
    assert client.post("/admin/org-units", data={"name": "Northwich LPU", "parent": ""}).status_code == 302
    unit = client.get("/admin/org-units").get_data(as_text=True)
    parent_id = unit.split('<option value="')[2].split('"')[0]
    response = client.post("/admin/org-units", data={"name": "Response Team 2", "parent": parent_id})
    assert response.status_code == 302
    assert "Northwich LPU › Response Team 2" in client.get("/admin/org-units").get_data(as_text=True)
    again = client.post("/admin/org-units", data={"name": "Northwich LPU", "parent": ""})
    assert again.status_code == 422 and "already a unit called Northwich LPU" in again.get_data(as_text=True)


def _user(client: FlaskClient, user_id: int) -> User:
    with client.application.app_context(), unit_of_work(read_only=True) as session:
        user = session.get(User, user_id)
    assert user is not None
    return user
