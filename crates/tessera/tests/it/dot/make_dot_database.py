"""Makes a real django-oauth-toolkit database with DOT itself, for `tessera import-dot`'s test.

    python make_dot_database.py PATH.sqlite3

Users, confidential applications with a hashed and a clear secret, a public one, tokens
issued through DOT's own token endpoint, one revoked through DOT's revocation endpoint and
one expired. Prints what the test needs as one JSON object.
"""
import datetime
import json
import sys

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="tessera-import-test",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "oauth2_provider",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}},
    MIDDLEWARE=[],
    USE_TZ=True,
    PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
    OAUTH2_PROVIDER={"SCOPES": {"read": "Read", "write": "Write"}, "PKCE_REQUIRED": False},
)
django.setup()

from django.urls import include, path  # noqa: E402

urlpatterns = [path("o/", include("oauth2_provider.urls", namespace="oauth2_provider"))]

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from oauth2_provider.models import AccessToken, Application  # noqa: E402

call_command("migrate", verbosity=0)

alice = User.objects.create_user("alice", "alice@example.com", "wonderland")
bob = User.objects.create_user("bob", "bob@example.com", "builder")
bob.is_active = False
bob.save()

hashed = Application.objects.create(
    name="Hashed app",
    client_type="confidential",
    authorization_grant_type="password",
    client_secret="hashed-secret-1234",
    hash_client_secret=True,
    user=alice,
)
clear = Application.objects.create(
    name="Clear app",
    client_type="confidential",
    authorization_grant_type="password",
    client_secret="clear-secret-5678",
    hash_client_secret=False,
)
public = Application.objects.create(
    name="Public app",
    client_type="public",
    authorization_grant_type="password",
    client_secret="",
)

http = Client()


def token(app, secret):
    data = {
        "grant_type": "password",
        "username": "alice",
        "password": "wonderland",
        "scope": "read write",
        "client_id": app.client_id,
    }
    if secret:
        data["client_secret"] = secret
    answer = http.post("/o/token/", data)
    assert answer.status_code == 200, answer.content
    return answer.json()


live = token(hashed, "hashed-secret-1234")
clear_live = token(clear, "clear-secret-5678")
public_live = token(public, None)
revoked = token(hashed, "hashed-secret-1234")
answer = http.post(
    "/o/revoke_token/",
    {
        "token": revoked["access_token"],
        "client_id": hashed.client_id,
        "client_secret": "hashed-secret-1234",
    },
)
assert answer.status_code == 200, answer.content
expired = token(hashed, "hashed-secret-1234")
AccessToken.objects.filter(token=expired["access_token"]).update(
    expires=timezone.now() - datetime.timedelta(hours=1)
)

print(
    json.dumps(
        {
            "hashed": {"client_id": hashed.client_id, "secret": "hashed-secret-1234"},
            "clear": {"client_id": clear.client_id, "secret": "clear-secret-5678"},
            "public": {"client_id": public.client_id},
            "live": live,
            "clear_live": clear_live,
            "public_live": public_live,
            "revoked": revoked,
            "expired": expired,
        }
    )
)
