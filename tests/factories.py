"""Accounts for tests, made through the same services the API uses, and signed in through the API."""
import pytest

from tests.support import Account, next_phone

PASSWORD = "correct horse battery"


def sign_in(client, login: str, password: str = PASSWORD) -> dict:
    response = client.post("/api/v1/auth/login", json={"login": login, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _account(client, user, login: str) -> Account:
    tokens = sign_in(client, login)
    return Account(id=str(user.id), role=user.role, login=login, password=PASSWORD,
                   headers={"Authorization": f"Bearer {tokens['access_token']}"},
                   refresh_token=tokens["refresh_token"])


@pytest.fixture
def make_admin(app, client):
    def make(email: str | None = None) -> Account:
        from volunteer_api.people.services import create_admin

        login = email or f"admin{next_phone()[-7:]}@example.kz"
        with app.app_context():
            user = create_admin(login=login, password=PASSWORD, full_name="Admin Adminov")
            return _account(client, user, login)

    return make


@pytest.fixture
def make_inspector(app, client):
    def make(districts=("taraz",), *, language: str = "ru", email: str | None = None) -> Account:
        from volunteer_api.people.services import create_inspector

        login = email or f"inspector{next_phone()[-7:]}@example.kz"
        with app.app_context():
            user = create_inspector(full_name="Inspector Inspektorova", phone=None, email=login,
                                    districts=list(districts), password=PASSWORD, language=language)
            return _account(client, user, login)

    return make


@pytest.fixture
def make_volunteer(app, client):
    def make(district: str = "taraz", *, phone: str | None = None) -> Account:
        from volunteer_api.people.services import create_volunteer

        phone = phone or next_phone()
        with app.app_context():
            user, _ = create_volunteer(full_name="Volunteer Volunteerov", phone=phone, email=None,
                                       district=district, password=PASSWORD)
            return _account(client, user, phone)

    return make


@pytest.fixture
def admin(make_admin) -> Account:
    return make_admin()


@pytest.fixture
def volunteer(make_volunteer) -> Account:
    return make_volunteer()


@pytest.fixture
def inspector(make_inspector) -> Account:
    return make_inspector()


def new_site(**fields):
    """A site registered through the sites service, as an admin's request would (inside an app context).

    The one way tests make a site: `fields` override the body of tests.field_support.site_body (a school
    in Taraz). Returns the Site.
    """
    from tests.field_support import site_body
    from volunteer_api.sites import services
    from volunteer_api.sites.schemas import SiteCreateSchema

    return services.create_site(**SiteCreateSchema().load(site_body(**fields)))


@pytest.fixture
def make_site(app):
    """Register a site (see new_site) from outside an app context; returns its id."""

    def make(district: str = "taraz", name: str = "School No. 12", **fields) -> str:
        with app.app_context():
            return str(new_site(district=district, name=name, **fields).id)

    return make
