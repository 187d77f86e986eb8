"""The pure rules of accounts and access: password policy, lockout counting, the per-address
limit, the CSRF check and the role table."""

from __future__ import annotations

import datetime as dt
from typing import cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hotline import accounts, tokens
from hotline.accounts import (
    AccountError,
    LockoutPolicy,
    after_failure,
    check_roles,
    password_problems,
)
from hotline.roles import INSTANCE, INSTANCE_ROLES, ROUTE_ROLES, Principal, granting_role
from hotline.sessions import AddressLimiter, SessionPolicy, csrf_ok, same_origin

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short-pass1", "at least 12 characters"),
        ("x" * 257 + "abcde", "at most 256 characters"),
        ("wang.fang-2026-spring", "must not contain the account name"),
        ("WANG.FANG2026!!", "must not contain the account name"),
        ("abababababababab", "at least 5 different characters"),
    ],
)
def test_a_weak_password_is_refused_with_the_reason(password: str, problem: str) -> None:
    assert problem in password_problems(password, "wang.fang")


def test_a_long_password_of_any_script_is_accepted() -> None:
    assert password_problems("社保热线十二三三三值班长", "wang.fang") == []
    assert password_problems("correct horse battery staple", "wang.fang") == []


def test_lockout_after_the_fifth_failure_in_a_row_for_fifteen_minutes() -> None:
    policy = LockoutPolicy(max_failures=5, lock_seconds=900)
    failures, until = 0, None
    for expected in (1, 2, 3, 4):
        failures, until = after_failure(failures, NOW, policy)
        assert (failures, until) == (expected, None)
    failures, until = after_failure(failures, NOW, policy)
    assert (failures, until) == (0, NOW + dt.timedelta(minutes=15))


def test_roles_are_checked_and_kept_in_the_tables_order() -> None:
    assert check_roles(["ops", "supervisor", "ops"]) == ["supervisor", "ops"]
    with pytest.raises(AccountError, match="admin"):
        check_roles(["admin"])
    with pytest.raises(AccountError):
        check_roles([])


def test_an_address_is_blocked_at_its_limit_until_the_window_moves_on() -> None:
    limiter = AddressLimiter(limit=3, window=600)
    assert [limiter.failed("10.0.0.7", t) for t in (0, 1, 2)] == [False, False, True]
    assert limiter.blocked("10.0.0.7", 3) and not limiter.blocked("10.0.0.8", 3)
    assert not limiter.blocked("10.0.0.7", 600.5)  # the first failure has left the window
    assert not limiter.blocked("10.0.0.7", 1000) and "10.0.0.7" not in limiter.failures


def test_attempts_in_flight_count_and_a_success_takes_its_own_back() -> None:
    """A login counts as a failure while its password is checked: three sent at once from
    one address use up a limit of three, and a success gives back only its own."""
    limiter = AddressLimiter(limit=3, window=600)
    for at in (1.0, 1.1, 1.2):
        assert not limiter.blocked("10.0.0.9", at)
        limiter.failed("10.0.0.9", at)
    assert limiter.blocked("10.0.0.9", 1.3)
    limiter.succeeded("10.0.0.9", 1.1)
    assert not limiter.blocked("10.0.0.9", 1.3)
    limiter.succeeded("10.0.0.9", 5.0)  # nothing counted then: nothing taken
    limiter.failed("10.0.0.9", 1.4)
    assert limiter.blocked("10.0.0.9", 1.5)


def test_csrf_a_cookie_authenticated_change_needs_the_sessions_token() -> None:
    assert csrf_ok("GET", True, "tok", None)  # a read changes nothing
    assert csrf_ok("POST", False, None, None)  # a bearer token is not sent by browsers alone
    assert csrf_ok("POST", True, "tok", "tok")
    assert not csrf_ok("POST", True, "tok", None)
    assert not csrf_ok("DELETE", True, "tok", "other")
    assert not csrf_ok("POST", True, "tok", "tök")  # non-ASCII: refused, not a crash
    assert not csrf_ok("POST", True, None, "")


def test_a_login_posted_by_a_page_of_another_site_is_refused() -> None:
    assert same_origin(None, "127.0.0.1:8080")  # curl, scripts: no Origin
    assert same_origin("http://127.0.0.1:8080", "127.0.0.1:8080")
    assert same_origin("https://Hotline.example.cn", "hotline.example.cn")
    assert not same_origin("http://127.0.0.1:8081", "127.0.0.1:8080")
    assert not same_origin("https://evil.example", "127.0.0.1:8080")
    assert not same_origin("null", "127.0.0.1:8080")  # a sandboxed or file: page


def test_the_cookie_names_its_instance() -> None:
    assert SessionPolicy(instance="test").cookie_name != SessionPolicy(instance="dev").cookie_name


def person(*roles: str, agent: str | None = None) -> Principal:
    return Principal("p", frozenset(roles), "person", agent)


COMMAND = "/agents/{agent}/{command}"


def test_role_table_each_route_its_roles() -> None:
    assert granting_role(person("ops"), "POST", "/config/apply", {}) == "ops"
    assert granting_role(person("supervisor"), "POST", "/config/apply", {}) is None
    assert granting_role(person("supervisor"), "GET", "/agents", {}) == "supervisor"
    assert granting_role(person("agent", agent="1001"), "GET", "/agents", {}) is None
    assert granting_role(person("auditor"), "GET", "/audit", {}) == "auditor"
    assert granting_role(person("ops", "supervisor"), "GET", "/audit", {}) is None
    assert granting_role(person("auditor"), "HEAD", "/recordings/{id}", {}) == "auditor"
    assert granting_role(person("agent", agent="1001"), "GET", "/recordings/{id}", {}) is None


def test_an_agent_may_change_only_their_own_state_a_supervisor_anyones() -> None:
    own, other = {"agent": "1001", "command": "pause"}, {"agent": "1002", "command": "pause"}
    assert granting_role(person("agent", agent="1001"), "POST", COMMAND, own) == "agent"
    assert granting_role(person("agent", agent="1001"), "POST", COMMAND, other) is None
    assert granting_role(person("agent"), "POST", COMMAND, own) is None  # no 工号 linked
    both = person("agent", "supervisor", agent="1001")
    assert granting_role(both, "POST", COMMAND, own) == "agent"  # own: not a forced change
    assert granting_role(both, "POST", COMMAND, other) == "supervisor"


def test_a_route_missing_from_the_table_is_refused_but_to_the_instance() -> None:
    instance = Principal("token:instance", INSTANCE_ROLES, INSTANCE)
    assert granting_role(person(*ROLES_ALL), "POST", "/not/in/table", {}) is None
    assert granting_role(instance, "POST", "/not/in/table", {}) == INSTANCE
    assert all(roles for roles in ROUTE_ROLES.values())


ROLES_ALL = ("agent", "supervisor", "ops", "auditor")


async def test_a_client_name_leaves_room_for_token_prefix_and_revoked_suffix() -> None:
    """`token:<name>` must fit who read a recording (64), `<name>~<id>` a revoked token."""
    with pytest.raises(AccountError, match="at most 48"):
        await tokens.add(cast(AsyncEngine, None), "a" * 49, ["supervisor"], "cli:test")
    assert len("token:" + "a" * 48) <= 64 and tokens.CLIENT_NAME.fullmatch("a" * 48)


async def test_an_office_account_is_the_role_office_alone_with_a_known_office() -> None:
    """Refused before any database is asked: no code, another role with it, a code that
    work_orders.yaml does not name."""
    engine, offices = cast(AsyncEngine, None), ("pension", "medical")
    for roles, office, problem in (
        (["office"], None, "--office CODE"),
        (["office", "agent"], "pension", "role office alone"),
        (["supervisor"], "pension", "role office alone"),
        (["office"], "nowhere", "no office 'nowhere'"),
    ):
        with pytest.raises(AccountError, match=problem):
            await accounts.add(
                engine, "bao.ke", "社保热线-correct-horse", roles, None, "t", office, offices
            )


def test_an_office_person_may_only_read_and_answer_work_orders_and_sign_out() -> None:
    office = Principal("bao.ke", frozenset({"office"}), "person", office="pension")
    for method, route in (
        ("GET", "/work-orders"),
        ("GET", "/work-orders/{number}"),
        ("POST", "/work-orders/{number}/status"),
        ("GET", "/session"),
        ("DELETE", "/session"),
    ):
        assert granting_role(office, method, route, {}) == "office", route
    for method, route in (
        ("POST", "/work-orders"),
        ("GET", "/work-orders/escalations"),
        ("POST", "/work-orders/{number}/owner"),
        ("POST", "/work-orders/{number}/call"),
        ("GET", "/callbacks"),
        ("GET", "/audit"),
    ):
        assert granting_role(office, method, route, {}) is None, route
