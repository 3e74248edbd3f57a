from functools import cache

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core import signing
from django.core.validators import MaxLengthValidator
from django.utils.html import format_html, format_html_join

from .models import AccessToken, Profile, canonical_time_zone, time_zone_names
from .throttling import is_current_password

NO_EMAIL_NO_RECOVERY = (
    "Without one, a forgotten password cannot be recovered: "
    "the account and its tasks are lost."
)


class BrowserTimeZoneField(forms.Field):
    """A hidden field that static/js/time-zone.js fills with the browser's
    zone. Anything else (no JavaScript, a zone this server does not know,
    junk) is UTC, never an error the user could not see: the account page
    changes it."""

    widget = forms.HiddenInput(attrs={"data-browser-time-zone": ""})

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def clean(self, value) -> str:
        return (isinstance(value, str) and canonical_time_zone(value[:100])) or "UTC"


class SignupForm(UserCreationForm):
    # Not a model field here: user.email holds confirmed addresses only, so
    # this one is only mailed a confirmation link (see EmailForm).
    email = forms.EmailField(
        required=False,
        max_length=254,
        label="Email address (optional)",
        help_text=f"Used only to reset a forgotten password. {NO_EMAIL_NO_RECOVERY}",
    )
    time_zone = BrowserTimeZoneField()
    field_order = ["username", "email", "password1", "password2"]

    class Meta(UserCreationForm.Meta):
        fields = ["username"]

    def save(self, commit=True):
        user = super().save(commit)
        if commit and self.cleaned_data["time_zone"] != "UTC":
            # The profile was made with the user (accounts.signals), in UTC.
            Profile.objects.filter(user=user).update(
                time_zone=self.cleaned_data["time_zone"]
            )
        return user


class LoginForm(AuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Django's form only sets the input's maxlength attribute. Without the
        # check here, a longer name reaches authenticate(), and django-axes
        # fails to record the failure (varchar(255) on PostgreSQL): a 500.
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    revoke_tokens = forms.BooleanField(
        required=False, label="Also revoke all my API tokens"
    )

    def __init__(self, user, *args, request, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        # Throttled as a login: see accounts.throttling.is_current_password.
        if not is_current_password(self.request, old_password):
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password

    def save(self, commit=True):
        user = super().save(commit)
        if commit and self.cleaned_data["revoke_tokens"]:
            AccessToken.objects.for_user(user).delete()
        return user


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Enter your password to confirm.",
    )

    def __init__(self, user, *args, request, **kwargs):
        self.user = user
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        # Throttled as a login: see accounts.throttling.is_current_password.
        if not is_current_password(self.request, password):
            raise forms.ValidationError(
                "That is not your password.", code="password_incorrect"
            )
        return password


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Token name",
        help_text="What the token is for, e.g. “laptop script”.",
    )


# --- Time zone ------------------------------------------------------------------------

TIME_ZONE_LIST_ID = "time-zone-names"


class TimeZoneInput(forms.TextInput):
    """A text box offering every zone name as you type (``<input list>`` and
    its ``<datalist>``): searchable in every browser, a plain text box where
    datalists are not supported."""

    def __init__(self, attrs=None):
        super().__init__(
            {
                "list": TIME_ZONE_LIST_ID,
                "autocomplete": "off",
                "spellcheck": "false",
                "autocapitalize": "none",
                **(attrs or {}),
            }
        )

    def render(self, name, value, attrs=None, renderer=None):
        return super().render(name, value, attrs, renderer) + _zone_datalist()


@cache
def _zone_datalist() -> str:
    # Some 600 names: built once per process.
    return format_html(
        '<datalist id="{}">{}</datalist>',
        TIME_ZONE_LIST_ID,
        format_html_join(
            "", '<option value="{}"></option>', ((n,) for n in time_zone_names())
        ),
    )


class TimeZoneForm(forms.Form):
    time_zone = forms.CharField(
        max_length=64,
        label="Time zone",
        help_text="Every time is shown in it. Type to search, e.g. “Berlin”.",
        widget=TimeZoneInput(),
        error_messages={"max_length": "No time zone has a name that long."},
    )

    def clean_time_zone(self) -> str:
        name = canonical_time_zone(self.cleaned_data["time_zone"])
        if name is None:
            raise forms.ValidationError(
                "Choose a time zone from the list, such as Europe/Berlin.",
                code="invalid_time_zone",
            )
        return name


# --- Email address: used only once the link mailed to it is opened -------------------

EMAIL_CONFIRMATION_SALT = "accounts.email-confirmation"


class EmailForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        label="New email address",
        help_text="We mail a link to it; it becomes your address once you open it.",
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if email.lower() == self.user.email.lower():
            raise forms.ValidationError(
                "That is already your address.", code="unchanged"
            )
        return email


def email_confirmation_token(user, email: str) -> str:
    """The signed, expiring payload of a confirmation link: whose account, the
    new address, and the address it replaces (so a link works only while the
    account's address is still the one it was sent from: once)."""
    payload = {"user": user.pk, "new": email, "old": user.email}
    return signing.dumps(payload, salt=EMAIL_CONFIRMATION_SALT, compress=True)


def confirmed_email(token: str, user) -> str:
    """The address ``token`` confirms for ``user``, or a ValidationError
    saying why the link cannot be used."""
    try:
        payload = signing.loads(
            token,
            salt=EMAIL_CONFIRMATION_SALT,
            max_age=settings.PASSWORD_RESET_TIMEOUT,
        )
    except signing.SignatureExpired:
        raise forms.ValidationError(
            "This link has expired. Ask for a new one on your account page.",
            code="expired",
        ) from None
    except signing.BadSignature:
        raise forms.ValidationError(
            "This link is not valid: it may have been cut short or changed. "
            "Copy the whole link from the mail, or ask for a new one.",
            code="invalid",
        ) from None
    if payload.get("user") != user.pk:
        raise forms.ValidationError(
            "This link was sent for another account. "
            "Log in to that account to confirm the address.",
            code="other_account",
        )
    if payload.get("old") != user.email:
        raise forms.ValidationError(
            "This link has already been used, or your address has changed "
            "since it was sent.",
            code="used",
        )
    return payload["new"]
