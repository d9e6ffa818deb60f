"""OpenAPI shapes shared by several views. Responses are built by the render functions; these
models only document them, and the test suite checks every real response against them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Shape(BaseModel):
    """A documented response object: exactly these keys, no others."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Colored(Shape):
    color: str | None
    color_safe: str = Field(
        alias="color-safe", description="`color`, or a palette colour picked from the name"
    )


class Modified(BaseModel):
    """Extension carried by every view of customers, projects, activities, users, teams and tags."""

    modifiedAt: str = Field(description="Extension: the last change, in UTC (Y-m-d\\TH:i:sO)")


class TeamRef(Colored, Modified):
    id: int
    name: str


class MetaField(Shape):
    name: str
    value: str | None


class UserRef(Colored, Modified):
    id: int
    username: str
    email: str
    enabled: bool
    apiToken: bool = Field(description="Whether a legacy API password is set (never a secret)")
    systemAccount: bool
    alias: str | None
    title: str | None
    avatar: str | None
    accountNumber: str | None
    initials: str
    language: str
    locale: str
    timezone: str


class Rate(Shape):
    id: int
    user: UserRef | None
    rate: float
    internalRate: float | None
    isFixed: bool


class Comment(Shape):
    id: int
    message: str
    createdBy: UserRef
    createdAt: str = Field(description="Y-m-d\\TH:i:sO")
    pinned: bool


class Budgets(BaseModel):
    """Present per record only when the caller may see budgets (``budget``) or time budgets (``time``)."""

    budget: float = Field(0.0, description="Only with the budget permission on this record")
    timeBudget: int = Field(0, description="Seconds; only with the time permission on this record")
    budgetType: str | None = Field(None, description='"month" or null; with either permission')


class Error(Shape):
    code: int
    message: str


class LegacyLoginError(Shape):
    """A rejected X-AUTH-USER/X-AUTH-TOKEN login: Kimai's one error body without ``code``."""

    message: str


class ValidationFailed(Shape):
    """A rejected form (named apart from FastAPI's own ``ValidationError`` schema, which would replace it)."""

    code: int
    message: str
    errors: dict[str, object]


class ActionError(Shape):
    """Kimai's second error shape, for actions validated without a form (duplicate, stop, …):
    ``code`` is the string "400"."""

    code: str
    message: str
    errors: dict[str, object]


class ListedForm(BaseModel):
    """The fields customer, project and activity forms share."""

    teams: list[int] = Field(
        default_factory=list, description="POST only: team ids (teams you lead; any for admins)"
    )
    color: str | None = Field(None, description="One of GET /api/config/colors")
    budget: float | None = Field(None, description="Only with the budget permission")
    timeBudget: str | None = Field(
        None, description="Hours (1.5), H:MM or 1h30m; only with the time permission"
    )
    budgetType: str | None = Field(None, description='"month" or empty')
    visible: bool = True
    billable: bool = True


class MetaFieldForm(BaseModel):
    """Both keys are required (a missing one is 400)."""

    name: str
    value: str


class RateForm(BaseModel):
    user: int | None = Field(None, description="User id; empty for a rate that applies to everybody")
    rate: float = Field(0.0, description="0.0 when absent")
    internalRate: float | None = None
    isFixed: bool = False


class CommentForm(BaseModel):
    message: str
    pinned: bool = False
