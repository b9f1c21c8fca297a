"""The admin for coordinators: each one manages only their own networks' conventions."""

import datetime

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils.html import escape

from partners.enums import ConventionStatus, MembershipRole
from partners.models import Convention, ConventionMembership
from tests.factories import (
    ConventionFactory,
    CoordinatorFactory,
    MembershipFactory,
    NetworkFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.allow_unknown_template_variables]


@pytest.fixture
def networks():
    return NetworkFactory(name="Réseau précarité"), NetworkFactory(name="Réseau santé")


@pytest.fixture
def mine(networks):
    return ConventionFactory(network=networks[0], title="Convention précarité")


@pytest.fixture
def theirs(networks):
    return ConventionFactory(network=networks[1], title="Convention santé")


@pytest.fixture
def coordinator(networks):
    return CoordinatorFactory(networks=[networks[0]])


def convention_form_data(convention, **overrides):
    data = {
        "network": convention.network_id,
        "title": convention.title,
        "status": convention.status,
        "signed_on": "",
        "valid_from": convention.valid_from.isoformat(),
        "valid_until": convention.valid_until.isoformat() if convention.valid_until else "",
        "document_url": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        # Former members: a read-only inline, which still posts its management form.
        "memberships-2-TOTAL_FORMS": "0",
        "memberships-2-INITIAL_FORMS": "0",
        "memberships-2-MIN_NUM_FORMS": "0",
        "memberships-2-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_coordinator_lists_only_their_networks_conventions(client_for, coordinator, mine, theirs):
    response = client_for(coordinator).get(reverse("admin:partners_convention_changelist"))

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [mine]


def test_coordinator_opens_and_edits_their_convention(client_for, coordinator, mine):
    client = client_for(coordinator)
    url = reverse("admin:partners_convention_change", args=[mine.pk])

    assert client.get(url).status_code == 200
    response = client.post(url, convention_form_data(mine, title="Convention précarité 2026"))

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    mine.refresh_from_db()
    assert mine.title == "Convention précarité 2026"


@pytest.mark.parametrize("view", ["change", "delete"])
def test_coordinator_gets_403_on_another_networks_convention_by_direct_url(
    client_for, coordinator, theirs, view
):
    url = reverse(f"admin:partners_convention_{view}", args=[theirs.pk])

    assert client_for(coordinator).get(url).status_code == 403


def test_coordinator_cannot_change_another_networks_convention_by_post(client_for, coordinator, theirs):
    url = reverse("admin:partners_convention_change", args=[theirs.pk])

    response = client_for(coordinator).post(url, convention_form_data(theirs, title="Piraté"))

    assert response.status_code == 403
    theirs.refresh_from_db()
    assert theirs.title == "Convention santé"


def test_coordinator_cannot_delete_another_networks_convention_by_post(client_for, coordinator, theirs):
    url = reverse("admin:partners_convention_delete", args=[theirs.pk])

    response = client_for(coordinator).post(url, {"post": "yes"})

    assert response.status_code == 403
    assert Convention.objects.filter(pk=theirs.pk).exists()


def test_coordinator_cannot_read_another_networks_convention_history(client_for, coordinator, theirs):
    url = reverse("admin:partners_convention_history", args=[theirs.pk])

    assert client_for(coordinator).get(url).status_code in (403, 404)


def test_coordinator_cannot_file_a_convention_under_another_network(client_for, coordinator, mine, networks):
    template = ConventionFactory.build(network=networks[1], title="Convention intruse")
    response = client_for(coordinator).post(
        reverse("admin:partners_convention_add"), convention_form_data(template, network=networks[1].pk)
    )

    assert response.status_code == 200
    assert "network" in response.context["adminform"].form.errors
    assert not Convention.objects.filter(title="Convention intruse").exists()


def test_coordinator_adds_a_convention_with_members_to_their_network(client_for, coordinator, networks):
    first, second = ServiceFactory.create_batch(2)
    template = ConventionFactory.build(network=networks[0], title="Nouvelle convention")
    data = convention_form_data(
        template,
        **{
            "memberships-TOTAL_FORMS": "2",
            "memberships-0-service": first.pk,
            "memberships-0-role": MembershipRole.PILOT,
            "memberships-0-joined_on": "2026-01-01",
            "memberships-1-service": second.pk,
            "memberships-1-role": MembershipRole.MEMBER,
            "memberships-1-joined_on": "2026-02-01",
        },
    )

    response = client_for(coordinator).post(reverse("admin:partners_convention_add"), data)

    assert response.status_code == 302
    convention = Convention.objects.get(title="Nouvelle convention")
    assert set(convention.members.all()) == {first, second}


def test_coordinator_gets_403_on_another_networks_membership(client_for, coordinator, theirs):
    membership = MembershipFactory(convention=theirs)
    url = reverse("admin:partners_conventionmembership_change", args=[membership.pk])

    assert client_for(coordinator).get(url).status_code == 403


def test_coordinator_cannot_move_a_membership_into_another_networks_convention(
    client_for, coordinator, mine, theirs
):
    membership = MembershipFactory(convention=mine)
    url = reverse("admin:partners_conventionmembership_change", args=[membership.pk])

    response = client_for(coordinator).post(
        url,
        {
            "convention": theirs.pk,
            "service": membership.service_id,
            "role": MembershipRole.MEMBER,
            "joined_on": membership.joined_on.isoformat(),
            "left_on": "",
        },
    )

    assert response.status_code == 200
    assert "convention" in response.context["adminform"].form.errors
    membership.refresh_from_db()
    assert membership.convention == mine


def test_staff_without_a_network_cannot_open_conventions(client_for, mine):
    staff = UserFactory(is_staff=True)

    response = client_for(staff).get(reverse("admin:partners_convention_changelist"))

    assert response.status_code == 403


def test_worker_is_sent_to_the_admin_login(client_for, mine):
    worker = UserFactory(worker=True)

    response = client_for(worker).get(reverse("admin:partners_convention_change", args=[mine.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_administrator_sees_every_convention(client_for, mine, theirs):
    admin_user = UserFactory(admin=True)

    response = client_for(admin_user).get(reverse("admin:partners_convention_changelist"))

    assert set(response.context["cl"].result_list) == {mine, theirs}


def test_coordinator_cannot_add_networks_or_change_coordinators(client_for, coordinator, networks):
    client = client_for(coordinator)

    assert client.get(reverse("admin:partners_network_add")).status_code == 403
    response = client.get(reverse("admin:partners_network_change", args=[networks[0].pk]))
    assert response.status_code == 200
    assert "coordinators" in response.context["adminform"].readonly_fields
    assert client.get(reverse("admin:partners_network_change", args=[networks[1].pk])).status_code == 403


def test_changes_of_conventions_and_memberships_are_kept_in_history(client_for, coordinator, mine):
    client = client_for(coordinator)
    service = ServiceFactory()
    data = convention_form_data(
        mine,
        status=ConventionStatus.ENDED,
        **{
            "memberships-TOTAL_FORMS": "1",
            "memberships-0-service": service.pk,
            "memberships-0-role": MembershipRole.MEMBER,
            "memberships-0-joined_on": "2026-03-01",
        },
    )

    client.post(reverse("admin:partners_convention_change", args=[mine.pk]), data)

    latest = mine.history.latest()
    assert latest.status == ConventionStatus.ENDED
    assert latest.history_user == coordinator
    membership = ConventionMembership.objects.get(convention=mine, service=service)
    assert membership.history.latest().history_user == coordinator
    response = client.get(reverse("admin:partners_convention_history", args=[mine.pk]))
    assert response.status_code == 200
    assert coordinator.email in response.content.decode() or str(coordinator) in response.content.decode()


def test_membership_inline_finds_services_through_autocomplete(client_for, coordinator, mine):
    epicerie = ServiceFactory(name="Épicerie solidaire du Blosne")
    ServiceFactory(name="Mission locale")

    response = client_for(coordinator).get(
        reverse("admin:autocomplete"),
        {
            "app_label": "partners",
            "model_name": "conventionmembership",
            "field_name": "service",
            "term": "blosne",
        },
    )

    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(epicerie.pk)]


def test_convention_changelist_query_count_does_not_grow(
    client_for, coordinator, networks, django_assert_max_num_queries
):
    client = client_for(coordinator)
    for _ in range(3):
        MembershipFactory(convention=ConventionFactory(network=networks[0]))
    url = reverse("admin:partners_convention_changelist")
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    for _ in range(10):
        MembershipFactory(convention=ConventionFactory(network=networks[0]))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_membership_dates_are_checked(client_for, coordinator, mine):
    service = ServiceFactory()
    data = convention_form_data(
        mine,
        **{
            "memberships-TOTAL_FORMS": "1",
            "memberships-0-service": service.pk,
            "memberships-0-role": MembershipRole.MEMBER,
            "memberships-0-joined_on": "2026-03-01",
            "memberships-0-left_on": "2026-02-01",
        },
    )

    response = client_for(coordinator).post(reverse("admin:partners_convention_change", args=[mine.pk]), data)

    assert response.status_code == 200
    assert escape("La date de sortie doit suivre la date d'entrée.") in response.content.decode()
    assert not ConventionMembership.objects.filter(service=service).exists()


def test_convention_dates_are_checked(client_for, coordinator, mine):
    data = convention_form_data(mine, valid_from="2026-06-01", valid_until="2026-01-01")

    response = client_for(coordinator).post(reverse("admin:partners_convention_change", args=[mine.pk]), data)

    assert response.status_code == 200
    mine.refresh_from_db()
    assert mine.valid_until != datetime.date(2026, 1, 1)


# --- History and revert views are scoped like change views -----------------------------------


def revert_url(model_name, obj, history_id):
    return reverse(f"admin:partners_{model_name}_simple_history", args=[obj.pk, history_id])


@pytest.mark.parametrize("how", ["saved", "updated"])
def test_coordinator_cannot_open_or_revert_a_convention_moved_to_another_network(
    client_for, coordinator, mine, networks, how
):
    old_version = mine.history.latest()  # created under the coordinator's network
    if how == "saved":
        mine.network = networks[1]
        mine.title = "Convention reprise"
        mine.save()
    else:  # moved without a history row: the last version still says "their network"
        Convention.objects.filter(pk=mine.pk).update(network=networks[1], title="Convention reprise")
    client = client_for(coordinator)
    url = revert_url("convention", mine, old_version.history_id)

    assert client.get(reverse("admin:partners_convention_history", args=[mine.pk])).status_code in (403, 404)
    assert client.get(url).status_code in (403, 404)
    response = client.post(url, convention_form_data(old_version.instance, network=networks[0].pk))

    assert response.status_code in (403, 404)
    mine.refresh_from_db()
    assert (mine.network, mine.title) == (networks[1], "Convention reprise")


@pytest.mark.parametrize("how", ["saved", "updated"])
def test_coordinator_cannot_open_or_revert_a_membership_moved_to_another_network(
    client_for, coordinator, mine, theirs, how
):
    membership = MembershipFactory(convention=mine)
    old_version = membership.history.latest()
    if how == "saved":
        membership.convention = theirs
        membership.save()
    else:
        ConventionMembership.objects.filter(pk=membership.pk).update(convention=theirs)
    client = client_for(coordinator)
    url = revert_url("conventionmembership", membership, old_version.history_id)

    history = reverse("admin:partners_conventionmembership_history", args=[membership.pk])
    assert client.get(history).status_code in (403, 404)
    assert client.get(url).status_code in (403, 404)
    response = client.post(
        url,
        {
            "convention": mine.pk,
            "service": membership.service_id,
            "role": MembershipRole.MEMBER,
            "joined_on": membership.joined_on.isoformat(),
            "left_on": "",
        },
    )

    assert response.status_code in (403, 404)
    membership.refresh_from_db()
    assert membership.convention == theirs


def test_coordinator_opens_and_reverts_their_own_convention(client_for, coordinator, mine):
    old_version = mine.history.latest()
    mine.title = "Titre erroné"
    mine.save()
    client = client_for(coordinator)
    url = revert_url("convention", mine, old_version.history_id)

    assert client.get(url).status_code == 200
    response = client.post(url, convention_form_data(old_version.instance))

    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.title == "Convention précarité"


@pytest.mark.parametrize(
    ("object_id", "version_id"),
    [("abc", "1"), ("mine", "abc"), ("99999999999999999999", "1"), ("mine", "9" * 30), ("mine", "-1")],
)
def test_malformed_history_urls_are_404_not_500(client_for, mine, object_id, version_id):
    client = client_for(UserFactory(admin=True))
    object_id = str(mine.pk) if object_id == "mine" else object_id

    history = client.get(f"/admin/partners/convention/{object_id}/history/")
    assert history.status_code == (200 if object_id == str(mine.pk) else 404)
    assert client.get(f"/admin/partners/convention/{object_id}/history/{version_id}/").status_code == 404


# --- National reference lists -----------------------------------------------------------------


@pytest.mark.parametrize("model_name", ["domain", "public", "accessmode", "fee", "servicetype", "language"])
def test_administrator_opens_and_saves_every_national_reference_item(client_for, model_name):
    model = apps.get_model("partners", model_name)
    item = model.objects.create(code=f"national-{model_name}", label="Libellé national", is_national=True)
    local = model.objects.create(code=f"local-{model_name}", label="Libellé local")
    client = client_for(UserFactory(admin=True))
    url = reverse(f"admin:partners_{model_name}_change", args=[item.pk])

    assert client.get(url).status_code == 200
    assert client.get(reverse(f"admin:partners_{model_name}_change", args=[local.pk])).status_code == 200
    assert client.get(reverse(f"admin:partners_{model_name}_add")).status_code == 200
    data = {"label": "Libellé renommé", "description": "", "is_active": "on"}
    if model_name == "domain":
        data["parent"] = ""
    response = client.post(url, {**data, "code": "code-pirate"})

    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.label, item.code) == ("Libellé renommé", f"national-{model_name}")


# --- The service changelist's network filter ---------------------------------------------------


def test_service_network_filter_offers_only_the_coordinators_networks(client_for, coordinator, mine, theirs):
    ours = MembershipFactory(convention=mine).service
    MembershipFactory(convention=theirs)
    client = client_for(coordinator)
    url = reverse("admin:partners_service_changelist")

    response = client.get(url)
    choices = [
        c["display"]
        for spec in response.context["cl"].filter_specs
        for c in spec.choices(response.context["cl"])
    ]
    assert "Réseau précarité" in choices
    assert "Réseau santé" not in choices
    response = client.get(url, {"reseau": mine.network_id})
    assert list(response.context["cl"].result_list) == [ours]
    # Another network's id is not offered: ignored, it reveals nothing about that network's members.
    response = client.get(url, {"reseau": theirs.network_id})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 2


def test_service_network_filter_offers_every_network_to_administrators(client_for, mine, theirs):
    response = client_for(UserFactory(admin=True)).get(reverse("admin:partners_service_changelist"))

    cl = response.context["cl"]
    choices = [c["display"] for spec in cl.filter_specs for c in spec.choices(cl)]
    assert {"Réseau précarité", "Réseau santé"} <= set(choices)


@pytest.mark.parametrize("value", ["abc", "99999999999999999999", "-1", "1.5", "", "1' OR 1=1", "١"])
@pytest.mark.parametrize("who", ["admin", "coordinator"])
def test_service_network_filter_ignores_malformed_values(client_for, coordinator, mine, value, who):
    MembershipFactory(convention=mine)
    user = UserFactory(admin=True) if who == "admin" else coordinator

    response = client_for(user).get(reverse("admin:partners_service_changelist"), {"reseau": value})

    assert response.status_code == 200


BAD_FILTER_VALUES = ["abc", "99999999999999999999", "-1", "2026-13-45", "\x00", "é" * 300]


@pytest.mark.parametrize(
    ("changelist", "parameters"),
    [
        ("service", ["q", "fraicheur", "modifiable", "is_active__exact", "capacity_status__exact", "reseau"]),
        ("organisation", ["q", "legal_kind__exact", "modifiable"]),
        (
            "convention",
            ["validite", "status__exact", "network__id__exact", "valid_from__year", "valid_from__month"],
        ),
        ("conventionmembership", ["convention__network__id__exact", "role__exact"]),
        ("domain", ["q", "is_active__exact", "parent__id__exact"]),
        ("public", ["q", "is_active__exact", "is_national__exact"]),
        ("commune", ["q", "department"]),
        ("network", ["q"]),
    ],
)
@pytest.mark.parametrize("who", ["admin", "coordinator"])
def test_admin_filters_never_answer_500_to_malformed_values(
    client_for, coordinator, mine, changelist, parameters, who
):
    user = UserFactory(admin=True) if who == "admin" else coordinator
    client = client_for(user)
    url = reverse(f"admin:partners_{changelist}_changelist")
    for parameter in parameters:
        for value in BAD_FILTER_VALUES:
            response = client.get(url, {parameter: value})
            assert response.status_code in (200, 302, 400, 403), (parameter, value, response.status_code)


@pytest.mark.parametrize("term", ["\x00", "abc\x00def", "é" * 300])
def test_member_picker_autocomplete_never_answers_500(client_for, coordinator, mine, term):
    ServiceFactory(name="Épicerie solidaire")

    response = client_for(coordinator).get(
        reverse("admin:autocomplete"),
        {
            "app_label": "partners",
            "model_name": "conventionmembership",
            "field_name": "service",
            "term": term,
        },
    )

    assert response.status_code in (200, 400)


def test_convention_change_page_query_count_does_not_grow_with_members(
    client_for, coordinator, mine, django_assert_max_num_queries
):
    today = datetime.date.today()
    client = client_for(coordinator)
    url = reverse("admin:partners_convention_change", args=[mine.pk])
    MembershipFactory(convention=mine)
    MembershipFactory(convention=mine, joined_on=today - datetime.timedelta(days=90), left_on=today)
    with django_assert_max_num_queries(60) as few:
        assert client.get(url).status_code == 200
    for _ in range(10):
        MembershipFactory(convention=mine)
        MembershipFactory(convention=mine, joined_on=today - datetime.timedelta(days=90), left_on=today)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.context["inline_admin_formsets"][0].formset.forms) == 12  # 11 current + 1 empty row
    assert len(response.context["inline_admin_formsets"][1].formset.forms) == 11


def test_current_and_former_members_are_shown_apart(client_for, coordinator, mine):
    today = datetime.date.today()
    current = MembershipFactory(convention=mine, service__name="Épicerie solidaire")
    leaving = MembershipFactory(convention=mine, joined_on=today - datetime.timedelta(days=9), left_on=today)
    future = MembershipFactory(convention=mine, joined_on=today + datetime.timedelta(days=9))

    response = client_for(coordinator).get(reverse("admin:partners_convention_change", args=[mine.pk]))

    current_inline, former_inline = response.context["inline_admin_formsets"]
    assert {f.instance for f in current_inline.formset.initial_forms} == {current, future}
    assert [f.instance for f in former_inline.formset.initial_forms] == [leaving]
    assert not former_inline.has_change_permission and not former_inline.has_add_permission
    page = response.content.decode()
    assert 'aria-label="Service — membre « Épicerie solidaire »"' in page
    assert 'aria-label="Supprimer — membre « Épicerie solidaire »"' in page
    # The picker shows the row's service, taken from the row rather than one query per row.
    assert f'<option value="{current.service_id}" selected>{escape(str(current.service))}</option>' in page
