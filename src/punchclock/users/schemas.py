"""OpenAPI shapes of the user views and forms."""

from __future__ import annotations

from pydantic import BaseModel, Field

from punchclock.entities.schemas import Shape, TeamRef, UserRef

UserCollection = UserRef


class TeamMembership(Shape):
    team: TeamRef
    teamlead: bool


class UserPreference(Shape):
    name: str
    value: str | None = Field(description="Always a string (or null)")


class UserEntity(UserRef):
    supervisor: UserEntity | None = Field(
        None, description="The supervisor's entity; left out where it would repeat a user (a loop)"
    )
    teams: list[TeamRef]
    roles: list[str] = Field(description="Stored roles only: ROLE_USER is implied, never listed")
    memberships: list[TeamMembership]
    preferences: list[UserPreference] = Field(
        description="Enabled, non-internal preferences (hourly_rate, internal_rate, first_weekday, …)"
    )


class _UserFields(BaseModel):
    alias: str | None = Field(None, max_length=60, description="Display name (cut to 60 characters)")
    title: str | None = Field(None, max_length=50)
    accountNumber: str | None = Field(None, max_length=30)
    color: str | None = Field(None, description="One of GET /api/config/colors")
    email: str = Field(max_length=180)
    language: str | None = Field(None, description="UI language (en, de, …); empty means en")
    locale: str | None = Field(None, description="Format of dates and numbers (en, de_AT, …); empty means en")
    timezone: str | None = Field(None, description="Empty means your own timezone")
    supervisor: int | None = Field(None, description="A user id")
    roles: list[str] = Field(
        default_factory=list,
        description="Replaces the stored roles: ROLE_TEAMLEAD, ROLE_ADMIN, ROLE_SUPER_ADMIN (those you "
        "may grant; only with the roles permission)",
    )
    enabled: bool = Field(False, description="Not on your own profile")
    systemAccount: bool = False
    requiresPasswordReset: bool = False


class UserCreateForm(_UserFields):
    """Kimai's create form. Absent fields are submitted empty: without ``enabled: true`` the new
    user is disabled."""

    username: str = Field(min_length=2, max_length=64)
    plainPassword: str = Field(min_length=8, max_length=60)
    plainApiToken: str | None = Field(None, description="Deprecated legacy X-AUTH-TOKEN password")


class UserEditForm(_UserFields):
    """Kimai's edit form: ``username`` and passwords cannot be changed here; fields you lack the
    permission for are extra fields (400)."""


class PreferenceForm(BaseModel):
    name: str = Field(description="hourly_rate, internal_rate, first_weekday, timezone, …")
    value: str | None


class ApiToken(Shape):
    id: int
    name: str
    createdAt: str = Field(description="Y-m-d\\TH:i:sO")
    lastUsage: str | None = Field(description="Recorded at most once a minute")
    expiresAt: str | None = Field(description="The token stops working then")


class ApiTokenCreated(ApiToken):
    token: str = Field(description="The secret: shown only now, only its SHA-256 hash is stored")


class ApiTokenForm(BaseModel):
    name: str = Field(min_length=2, max_length=50)
    expiresAt: str | None = Field(
        None, description="Y-m-d, in the future: the token stops working when that day starts (your timezone)"
    )
